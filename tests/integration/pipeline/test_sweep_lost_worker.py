"""A sweep whose worker is lost mid-way: it raises, and leaves no run RUNNING behind."""

from __future__ import annotations

import concurrent.futures as cf
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from integration.pipeline.helpers import runs

from mlops_nb.pipeline.api import sweep

pytestmark = pytest.mark.integration


class LosingExecutor:
    """Stands in for a cluster whose workers die: every job comes back as an error."""

    name = "losing"
    slots = 2

    def __init__(self) -> None:
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        self.submitted += 1
        future: cf.Future[Any] = cf.Future()
        future.set_exception(RuntimeError("worker lost"))
        return future

    def close(self) -> None:
        pass


def test_a_lost_worker_fails_the_sweep_and_closes_every_run(
    notebook: Callable[..., Path],
) -> None:
    source = notebook("sweep_score.ipynb")
    executor = LosingExecutor()
    with pytest.raises(RuntimeError, match="worker lost"):
        sweep(source, {"x": [1, 2, 3], "y": [3]}, metric="accuracy", executor=executor)
    recorded = runs("sweep_score")
    kinds = sorted(r.data.tags["mlops_nb.kind"] for r in recorded)
    assert kinds == ["sweep"] + ["sweep-trial"] * executor.submitted  # one run per job sent
    assert {r.info.status for r in recorded} == {"FAILED"}  # none left RUNNING
    assert all("worker lost" in r.data.tags["mlops_nb.error"] for r in recorded)
