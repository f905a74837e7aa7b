"""An in-process IPython shell with mlops_nb loaded, on a private MLflow store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture
def ip(isolated: Path) -> Iterator[Any]:
    from IPython.testing.globalipapp import get_ipython, start_ipython

    from mlops_nb.tracking.session import get_session, reset_session

    shell = start_ipython() or get_ipython()
    reset_session()
    if "mlops_nb" not in shell.extension_manager.loaded:
        shell.extension_manager.load_extension("mlops_nb")
    get_session().start()
    shell.run_line_magic("reset", "-f")
    shell.run_cell("import matplotlib\nmatplotlib.use('Agg')")
    yield shell
    get_session().flush(30)
    reset_session()


@pytest.fixture
def client(isolated: Path) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(f"sqlite:///{isolated / 'mlflow.db'}")
