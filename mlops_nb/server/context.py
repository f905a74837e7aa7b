"""What the handlers share, injected through ``web_app.settings["mlops_nb"]``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlops_nb.config import DEFAULT_TRACKING_URI, Settings, absolute_tracking_uri, get_settings
from mlops_nb.server.jobs import JobManager

SETTINGS_KEY = "mlops_nb"


@dataclass
class PanelContext:
    root: Path
    settings: Settings
    jobs: JobManager = field(default_factory=JobManager)


def make_context(root_dir: str) -> PanelContext:
    """Settings as the kernels started by this server see them: a relative sqlite store is
    resolved against the server's root (the kernels' working directory), not the server's cwd."""
    root = Path(root_dir).expanduser().resolve()
    raw = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    settings = replace(get_settings(), tracking_uri=absolute_tracking_uri(raw, cwd=root))
    return PanelContext(root=root, settings=settings)
