"""Executor selection errors say what to do (no processes started here)."""

from __future__ import annotations

import pytest

from mlops_nb.exceptions import ConfigError
from mlops_nb.pipeline.executors import LocalExecutor, make_executor


def test_local_is_the_default_and_sizes_its_pool() -> None:
    executor = make_executor(jobs=3)
    assert isinstance(executor, LocalExecutor)
    assert executor.slots == 3


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "spark"}, "unknown executor 'spark'; choose one of: local, dask"),
        ({"kind": "local", "scheduler": "tcp://x:8786"}, "--scheduler needs --executor dask"),
        ({"kind": "local", "jobs": 0}, "-j/--jobs must be at least 1"),
    ],
)
def test_bad_executor_choices(kwargs: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ConfigError, match=message) as info:
        make_executor(**kwargs)
    assert info.value.exit_code == 2
