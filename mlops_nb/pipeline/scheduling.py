"""The one scheduling loop of pipelines and sweeps: a DAG of named tasks over an executor.

:class:`graphlib.TopologicalSorter` says what is ready; the caller's ``start`` either submits a
task (returns its future), settles it at once (``None``: cached, skipped, failed before running),
or defers it (:data:`DEFER`: no free slot yet). ``finish`` handles a future that came back. A
sweep is the same loop over a graph without edges.
"""

from __future__ import annotations

import concurrent.futures as cf
import graphlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Final

DEFER: Final = "defer"

Start = Callable[[str, int], "cf.Future[Any] | str | None"]
Finish = Callable[[str, "cf.Future[Any]"], None]


def run_graph(
    graph: Mapping[str, Iterable[str]],
    *,
    start: Start,
    finish: Finish,
    in_flight: dict[cf.Future[Any], str],
    finish_after_refill: bool = False,
) -> None:
    """Run every node of ``graph`` (node → the nodes it depends on), in dependency order.

    ``start(name, busy)`` gets the number of submitted tasks not yet back; ``in_flight`` (owned
    by the caller, so it can close what is still running when an exception propagates) maps the
    futures of submitted tasks to their names; futures already in it when the loop starts are
    tasks submitted ahead (a sweep's first wave). A node is marked done only after ``finish``,
    so its dependants start with its outcome known; ``finish_after_refill`` (for independent
    tasks, a sweep's trials) starts the next tasks before finishing the ones that came back, so
    no worker waits while results are recorded. Ready nodes start in the graph's order.
    """
    sorter = graphlib.TopologicalSorter(graph)
    sorter.prepare()  # graphlib.CycleError for a cycle; pipelines are checked when loaded
    ahead = set(in_flight.values())
    order = {name: i for i, name in enumerate(graph)}
    ready: list[str] = []
    back: list[cf.Future[Any]] = []  # came back, not finished yet (finish_after_refill)

    def fill() -> None:
        ready.extend(n for n in sorter.get_ready() if n not in ahead)
        ready.sort(key=order.__getitem__)
        for name in list(ready):
            outcome = start(name, len(in_flight) - len(back))
            if outcome == DEFER:
                continue
            ready.remove(name)
            if isinstance(outcome, cf.Future):
                in_flight[outcome] = name
            else:
                sorter.done(name)
                fill()  # its dependants may be ready now
                return

    while sorter.is_active():
        fill()
        if not in_flight:
            if sorter.is_active():  # pragma: no cover - a start() that defers with nothing busy
                raise RuntimeError(f"the scheduling loop is stuck on {ready}")
            break
        done, _ = cf.wait(list(in_flight), return_when=cf.FIRST_COMPLETED)
        if finish_after_refill:
            back.extend(done)
            for future in done:
                sorter.done(in_flight[future])
            fill()
            while back:
                future = back[0]
                finish(in_flight[future], future)
                back.pop(0)
                del in_flight[future]
        else:
            for future in done:
                name = in_flight[future]
                finish(name, future)
                del in_flight[future]
                sorter.done(name)
