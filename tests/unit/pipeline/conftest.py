"""Fixtures of the pipeline unit tests: tiny notebooks copied to tmp_path, never run."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from support import TEST_NOTEBOOKS

PIPELINE_NOTEBOOKS = TEST_NOTEBOOKS / "pipeline"


@pytest.fixture
def workdir(tmp_path: Path) -> Callable[..., Path]:
    """Write ``pipeline.yaml`` (given text) and copies of the step notebook under tmp_path."""

    def make(yaml_text: str, notebooks: tuple[str, ...] = (), files: tuple[str, ...] = ()) -> Path:
        root = tmp_path / "pipe"
        root.mkdir(exist_ok=True)
        for name in notebooks:
            shutil.copy(PIPELINE_NOTEBOOKS / "step.ipynb", root / name)
        for name in files:
            (root / name).write_text("data")
        (root / "pipeline.yaml").write_text(yaml_text)
        return root / "pipeline.yaml"

    return make
