"""What the handlers share, injected through ``web_app.settings["mlops_nb"]``."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from mlops_nb.config import DEFAULT_TRACKING_URI, Settings, absolute_tracking_uri, get_settings
from mlops_nb.server.jobs import JobManager
from mlops_nb.server.services import ServiceManager

SETTINGS_KEY = "mlops_nb"


@dataclass
class PanelContext:
    root: Path
    settings: Settings
    raw_tracking_uri: str = DEFAULT_TRACKING_URI
    jobs: JobManager = field(default_factory=JobManager)
    services: ServiceManager = field(default_factory=ServiceManager)

    def settings_for(self, notebook: Path) -> Settings:
        """The settings a kernel of ``notebook`` sees: Jupyter starts kernels in the notebook's
        folder, so a relative store (MLflow's default ``sqlite:///mlflow.db``) is that folder's."""
        uri = absolute_tracking_uri(self.raw_tracking_uri, cwd=notebook.parent)
        return replace(self.settings, tracking_uri=uri)


def make_context(root_dir: str) -> PanelContext:
    """Settings as kernels started by this server see them (not as the server's cwd would)."""
    root = Path(root_dir).expanduser().resolve()
    raw = os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI
    settings = replace(get_settings(), tracking_uri=absolute_tracking_uri(raw, cwd=root))
    return PanelContext(root=root, settings=settings, raw_tracking_uri=raw)
