"""A real jupyter_server with the mlops_nb extension enabled, on a private sqlite store.

pytest-jupyter's fixtures and hooks are imported here (not registered globally) so that only
this folder runs on its event loop.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403
from server.panel_store import point_at_root, seed_store, write_notebook


@pytest.fixture
def tracking_env(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str | None:
    """MLFLOW_TRACKING_URI as the server starts (unset by default; parametrize indirectly)."""
    value = getattr(request, "param", None)
    if value is None:
        monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    else:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", value)
    return value


@pytest.fixture
def jp_server_config(tracking_env: str | None):
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}


@pytest.fixture(scope="session")
def seeded_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One sqlite store made once per session; tests get a copy (schema creation is slow)."""
    folder = tmp_path_factory.mktemp("seeded")
    return seed_store(folder / "mlflow.db")


@pytest.fixture
def store(jp_root_dir: Path, seeded_store: Path) -> dict[str, Path]:
    """The seeded store copied next to the notebooks, as ``make lab`` lays them out: the server
    finds ``mlflow.db`` in its root through the default relative URI."""
    shutil.copy(seeded_store, jp_root_dir / "mlflow.db")
    point_at_root(jp_root_dir / "mlflow.db", jp_root_dir)
    return {
        "train": write_notebook(jp_root_dir / "train.ipynb"),
        "other": write_notebook(jp_root_dir / "sub" / "other.ipynb"),
    }
