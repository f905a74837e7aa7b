"""The reliability tier: real components under faults (killed servers and processes, broken
files, full and read-only disks). Every test here is marked ``reliability``; ``make test`` runs
them with the rest, ``pytest -m reliability`` alone."""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.reliability)
