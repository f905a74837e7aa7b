"""Shared fixtures: isolated stores, a real ``mlflow server``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import MlflowServer, free_port


def _reset_mlflow_globals() -> None:
    """MLflow keeps a process-wide tracking URI, active experiment and run stack; a test that
    set them must not decide where the next test's runs go."""
    import sys

    if "mlflow" not in sys.modules:
        return
    import mlflow
    from mlflow.tracking import fluent
    from mlflow.tracking._tracking_service import utils

    while mlflow.active_run() is not None:
        mlflow.end_run()
    utils._tracking_uri = None
    fluent._active_experiment_id = None


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private mlops-nb home and sqlite store under tmp_path; cwd is tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_NB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLOPS_NB_SPOOL_DIR", raising=False)
    monkeypatch.delenv("MLOPS_NB_EXPERIMENT", raising=False)
    monkeypatch.delenv("MLOPS_NB_NOTEBOOK_PATH", raising=False)
    monkeypatch.delenv("MLOPS_NB_PARENT_RUN_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_ID", raising=False)
    monkeypatch.delenv("MLFLOW_EXPERIMENT_NAME", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    from mlops_nb import config

    config._overrides.clear()
    _reset_mlflow_globals()
    yield tmp_path
    _reset_mlflow_globals()


@pytest.fixture
def mlflow_server(tmp_path: Path) -> Iterator[MlflowServer]:
    root = tmp_path / "mlflow-server"
    root.mkdir()
    server = MlflowServer(port=free_port(), root=root)
    server.start()
    try:
        yield server
    finally:
        server.stop()
