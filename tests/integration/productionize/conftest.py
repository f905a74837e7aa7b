"""Services made once per session (productionize runs a real kernel and a fresh train.py)."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import TEST_NOTEBOOKS

PZ_NOTEBOOKS = TEST_NOTEBOOKS / "productionize"


def copy_notebook(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(PZ_NOTEBOOKS / "wine.csv", folder / "wine.csv")
    shutil.copyfile(PZ_NOTEBOOKS / name, folder / name)
    return folder / name


@pytest.fixture
def copy_nb() -> Any:
    """copy_nb(name, folder) -> the copied notebook (with wine.csv beside it)."""
    return copy_notebook


@pytest.fixture(scope="session")
def made(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """productionize() on the helpers (features.py, regression) and parameters (categorical,
    classification) notebooks; each result with the progress events it streamed."""
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("made")
    out: dict[str, Any] = {}
    for name in ("helpers", "parameters"):
        events: list[Any] = []
        nb = copy_notebook(f"{name}.ipynb", root / name)
        result = productionize(nb, out=root / name / "service", progress=events.append)
        out[name] = {"result": result, "events": events, "notebook": nb}
    return out


@pytest.fixture(scope="session")
def service_module(made: dict[str, Any]) -> Iterator[Any]:
    """Import the generated helpers service's app in this process (for TestClient)."""
    service = made["helpers"]["result"].service_dir
    sys.path.insert(0, str(service))
    for mod in [m for m in sys.modules if m == "app" or m.startswith("app.") or m == "features"]:
        del sys.modules[mod]
    import app.main

    yield app.main
    sys.path.remove(str(service))
    for mod in [m for m in sys.modules if m == "app" or m.startswith("app.") or m == "features"]:
        del sys.modules[mod]
