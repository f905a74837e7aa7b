"""The one scheduling loop (graphlib) of pipelines and sweeps, on a real thread pool."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time
from typing import Any

import pytest

from mlops_nb.pipeline.scheduling import DEFER, run_graph


def _run(
    graph: dict[str, list[str]], slots: int, *, settle: set[str] = frozenset(), refill: bool = False
) -> dict[str, Any]:  # type: ignore[assignment]
    log: list[tuple[str, str]] = []
    lock = threading.Lock()
    running = 0
    peak = 0
    in_flight: dict[cf.Future[Any], str] = {}

    def work(name: str) -> str:
        nonlocal running, peak
        with lock:
            running += 1
            peak = max(peak, running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return name

    with cf.ThreadPoolExecutor(4) as pool:

        def start(name: str, busy: int) -> cf.Future[Any] | str | None:
            if name in settle:
                log.append(("settled", name))
                return None
            if busy >= slots:
                return DEFER
            log.append(("start", name))
            return pool.submit(work, name)

        def finish(name: str, future: cf.Future[Any]) -> None:
            assert future.result() == name
            log.append(("finish", name))

        run_graph(
            graph, start=start, finish=finish, in_flight=in_flight, finish_after_refill=refill
        )
    return {"log": log, "peak": peak, "left": dict(in_flight)}


def test_dependencies_finish_before_their_dependants_start() -> None:
    graph = {"a": [], "b": ["a"], "c": ["b"], "side": []}
    out = _run(graph, slots=4)
    log = out["log"]
    assert log.index(("finish", "a")) < log.index(("start", "b")) < log.index(("finish", "b"))
    assert log.index(("finish", "b")) < log.index(("start", "c"))
    assert {n for kind, n in log if kind == "finish"} == set(graph)
    assert out["peak"] == 2 and out["left"] == {}  # a and side at once


def test_slots_bound_what_runs_at_once_and_settled_nodes_unlock_dependants() -> None:
    graph = {f"t{i}": [] for i in range(6)} | {"cached": [], "after": ["cached"]}
    out = _run(graph, slots=2, settle={"cached"})
    assert out["peak"] <= 2
    log = out["log"]
    assert ("settled", "cached") in log and ("finish", "after") in log
    assert log.index(("settled", "cached")) < log.index(("start", "after"))


def test_refill_before_finish_keeps_workers_busy() -> None:
    out = _run({f"t{i}": [] for i in range(4)}, slots=1, refill=True)
    log = out["log"]
    # the next trial starts before the previous one is finished (its run recorded)
    assert log.index(("start", "t1")) < log.index(("finish", "t0"))
    assert [n for kind, n in log if kind == "finish"] == ["t0", "t1", "t2", "t3"]


def test_a_cycle_is_refused() -> None:
    import graphlib

    with pytest.raises(graphlib.CycleError):
        _run({"a": ["b"], "b": ["a"]}, slots=1)
