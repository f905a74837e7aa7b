"""Productionize unit fixtures: test notebooks copied to tmp_path (never edited in place)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from support import TEST_NOTEBOOKS

PZ_NOTEBOOKS = TEST_NOTEBOOKS / "productionize"


@pytest.fixture
def notebook(tmp_path: Path) -> Callable[[str], Path]:
    def copy(name: str) -> Path:
        for extra in ("wine.csv",):
            shutil.copyfile(PZ_NOTEBOOKS / extra, tmp_path / extra)
        target = tmp_path / name
        shutil.copyfile(PZ_NOTEBOOKS / name, target)
        return target

    return copy
