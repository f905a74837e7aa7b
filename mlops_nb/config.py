"""Settings: where runs go, which experiment, where the outbox lives.

Resolution order for each setting: an explicit override (``%mlops config`` or :func:`configure`),
then the environment, then the embedded default. Nothing here imports MLflow.

Environment variables
---------------------
``MLFLOW_TRACKING_URI``        tracking store (default: MLflow's own default, ``sqlite:///mlflow.db``)
``MLOPS_NB_EXPERIMENT``        experiment for tracked cells (default: the notebook's name)
``MLOPS_NB_HOME``              mlops-nb's state folder (default: ``~/.cache/mlops-nb``)
``MLOPS_NB_SPOOL_DIR``         the durable outbox (default: ``$MLOPS_NB_HOME/outbox``)
``MLOPS_NB_UI_URL``            where ``mlops-nb ui`` serves the MLflow UI (default ``http://127.0.0.1:5000``)
``MLOPS_NB_NOTEBOOK_PATH``     the notebook being executed (set by ``mlops-nb run``)
``MLOPS_NB_PARENT_RUN_ID``     parent run for tracked cells (set by ``mlops-nb run`` and
                             pipelines; not for a sweep's first trials, which start before
                             their runs exist)
``MLOPS_NB_PARENT_RECORD_ID``  the same, by the run's ``mlops_nb.record_id`` tag (set by
                             ``mlops-nb run``, pipelines and sweeps)
``MLOPS_NB_PARAMETERS``        JSON of papermill parameters injected (set by ``mlops-nb run``)
``MLOPS_NB_REQUIRE_ALL``       tests: fail instead of skip when Docker or a browser is missing
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_UI_URL = "http://127.0.0.1:5000"


def _home() -> Path:
    env = os.environ.get("MLOPS_NB_HOME")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "mlops-nb"


def absolute_tracking_uri(uri: str, cwd: Path | None = None) -> str:
    """Make a relative ``sqlite:///file.db`` or plain path absolute, so a record written here is
    delivered to the same store from any working directory."""
    base = cwd or Path.cwd()
    if uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        rel = uri[len("sqlite:///") :]
        if rel and rel != ":memory:":
            return "sqlite:///" + str((base / rel).resolve())
    if "://" not in uri:
        return "file://" + str((base / uri).resolve())
    return uri


@dataclass(frozen=True)
class Settings:
    """Resolved settings; build with :func:`get_settings`."""

    tracking_uri: str
    experiment: str | None
    home: Path
    spool_dir: Path
    ui_url: str
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def is_remote(self) -> bool:
        return self.tracking_uri.startswith(("http://", "https://"))

    def run_url(self, experiment_id: str, run_id: str) -> str:
        """Link to a run in the MLflow UI (the server, or ``mlops-nb ui`` for local stores)."""
        base = self.tracking_uri if self.is_remote else self.ui_url
        return f"{base.rstrip('/')}/#/experiments/{experiment_id}/runs/{run_id}"


_overrides: dict[str, str] = {}


def configure(**values: str | None) -> Settings:
    """Override settings for this process (what ``%mlops config`` calls). ``None`` clears one."""
    known = {"tracking_uri", "experiment", "spool_dir", "ui_url"}
    unknown = set(values) - known
    if unknown:
        from mlops_nb.exceptions import ConfigError

        raise ConfigError(
            f"unknown setting(s): {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
        )
    for key, value in values.items():
        if value is None:
            _overrides.pop(key, None)
        else:
            _overrides[key] = value
    return get_settings()


def get_settings() -> Settings:
    """The settings in force now (cheap: no I/O, no MLflow import)."""
    home = _home()
    uri = (
        _overrides.get("tracking_uri")
        or os.environ.get("MLFLOW_TRACKING_URI")
        or DEFAULT_TRACKING_URI
    )
    spool = _overrides.get("spool_dir") or os.environ.get("MLOPS_NB_SPOOL_DIR")
    return Settings(
        tracking_uri=absolute_tracking_uri(uri),
        experiment=_overrides.get("experiment") or os.environ.get("MLOPS_NB_EXPERIMENT") or None,
        home=home,
        spool_dir=Path(spool).expanduser() if spool else home / "outbox",
        ui_url=_overrides.get("ui_url") or os.environ.get("MLOPS_NB_UI_URL") or DEFAULT_UI_URL,
    )
