"""Fixtures of the pipeline integration tests: real kernels, a real sqlite MLflow store."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from integration.pipeline.helpers import CHAIN, PIPELINE_NOTEBOOKS


@pytest.fixture
def notebook(isolated: Path) -> Callable[[str], Path]:
    """Copy a test notebook into the (isolated) working directory."""

    def copy(name: str, as_name: str | None = None) -> Path:
        target = isolated / (as_name or name)
        shutil.copy(PIPELINE_NOTEBOOKS / name, target)
        return target

    return copy


@pytest.fixture
def chain(isolated: Path) -> Path:
    """A 4-step pipeline (a -> b -> c, and an independent `side`) in tmp_path/chain."""
    root = isolated / "chain"
    root.mkdir()
    for name in ("a", "b", "c", "side"):
        shutil.copy(PIPELINE_NOTEBOOKS / "step.ipynb", root / f"{name}.ipynb")
    (root / "raw.txt").write_text("raw")
    (root / "pipeline.yaml").write_text(CHAIN)
    return root / "pipeline.yaml"


@pytest.fixture(scope="session")
def orchestrators() -> Path:
    """The virtualenv holding Airflow 3 and the kfp SDK (``make orchestrators``)."""
    import os

    from support import REPO, require

    venv = Path(os.environ.get("MLOPS_NB_ORCHESTRATORS_VENV", REPO / ".venv-orchestrators"))
    require((venv / "bin" / "airflow").exists(), f"Airflow and kfp in {venv} (make orchestrators)")
    return venv


@pytest.fixture
def example_pipeline(isolated: Path) -> Path:
    """A copy of notebooks/pipeline (prepare -> train -> evaluate) in the test's folder."""
    from support import NOTEBOOKS

    target = isolated / "wine"
    shutil.copytree(
        NOTEBOOKS / "pipeline",
        target,
        ignore=shutil.ignore_patterns("out", ".mlops-nb", "data", "models", "reports"),
    )
    return target / "pipeline.yaml"
