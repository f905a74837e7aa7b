"""Shared fixtures: isolated stores, a real ``mlflow server``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from support import MlflowServer, free_port


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private mlops-nb home and sqlite store under tmp_path; cwd is tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLOPS_NB_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MLOPS_NB_SPOOL_DIR", raising=False)
    monkeypatch.delenv("MLOPS_NB_EXPERIMENT", raising=False)
    monkeypatch.delenv("MLOPS_NB_NOTEBOOK_PATH", raising=False)
    monkeypatch.delenv("MLOPS_NB_PARENT_RUN_ID", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    from mlops_nb import config

    config._overrides.clear()
    return tmp_path


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
