"""A real jupyter_server with the mlops_nb extension, on a copy of the seeded registry store.

pytest-jupyter's fixtures and hooks are imported here only, so only this folder runs on its
event loop.
"""

from __future__ import annotations

import pytest
from pytest_jupyter.jupyter_server import *  # noqa: F403


@pytest.fixture
def jp_server_config(registry):  # the store is in MLFLOW_TRACKING_URI before the server starts
    return {"ServerApp": {"jpserver_extensions": {"mlops_nb": True}}}
