"""Sweeps: a parameter grid fanned out over an executor, each trial a child run of one sweep run.

A trial's metrics are what its ``%%track`` cells logged (copied onto the trial run), so the table
can be sorted by any of them; the best trial is tagged ``mlops_nb.best=true``.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.exceptions import ConfigError
from mlops_nb.pipeline import runs as R
from mlops_nb.pipeline.executors import Executor, check_executor, make_executor
from mlops_nb.pipeline.names import Kind, Status, Tag
from mlops_nb.pipeline.notebook_run import (
    Executed,
    Job,
    NotebookRunResult,
    OpenRun,
    abort_run,
    close_run,
    execute_job,
    open_run,
    prepare_job,
)
from mlops_nb.pipeline.params import expand_grid
from mlops_nb.pipeline.scheduling import DEFER, run_graph


@dataclass
class SweepResult:
    """Trials sorted by ``metric`` (best first; trials without it last), and the sweep run."""

    run_id: str
    experiment: str
    metric: str | None
    maximize: bool
    trials: list[NotebookRunResult] = field(default_factory=list)
    duration: float = 0.0

    @property
    def best(self) -> NotebookRunResult | None:
        if self.metric is None:
            return None
        for trial in self.trials:
            if trial.ok and self.metric in trial.metrics:
                return trial
        return None

    @property
    def failed(self) -> list[NotebookRunResult]:
        return [t for t in self.trials if not t.ok]


def sweep(
    notebook: str | Path,
    grid: Mapping[str, Sequence[Any]],
    *,
    metric: str | None = None,
    maximize: bool = False,
    fixed: Mapping[str, Any] | None = None,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    jobs: int | None = None,
    experiment: str | None = None,
    kernel: str | None = None,
    out: str | Path | None = None,
    progress: Callable[[NotebookRunResult], None] | None = None,
) -> SweepResult:
    """Run ``notebook`` once per combination of ``grid`` (plus ``fixed`` parameters).

    Each trial is a ``sweep-trial`` child run of one ``sweep`` run; executed notebooks go to
    ``out/<notebook>-sweep/<i>.ipynb``. ``metric`` sorts the trials (ascending unless
    ``maximize``) and the best one is tagged ``mlops_nb.best=true``.
    """
    source = Path(notebook).resolve()
    combos = expand_grid(grid)
    if not combos:
        raise ConfigError("the sweep grid is empty; give at least one -p NAME V1,V2,...")
    settings = get_settings()
    exp_name = experiment or settings.experiment or source.stem
    folder = (Path(out) if out else source.parent / "out").resolve() / f"{source.stem}-sweep"
    queue = [
        (
            _trial_name(combo),
            prepare_job(
                source,
                {**(fixed or {}), **combo},
                output_path=folder / f"{i:03d}.ipynb",
                experiment=exp_name,
                kernel=kernel,
                html=False,
                tracking_uri=settings.tracking_uri,
            ),
        )
        for i, combo in enumerate(combos)
    ]
    t0 = time.perf_counter()
    # The first trials start as soon as the executor is up (a LocalCluster takes seconds), while
    # this thread imports MLflow and creates the sweep run; their runs are opened right after.
    with _first_wave(executor, scheduler, jobs, queue) as started:
        runs = R.Runs(settings.tracking_uri)
        parent = runs.start(
            exp_name,
            name=f"{source.stem} sweep",
            kind=Kind.SWEEP,
            notebook=str(source),
            params={f"grid.{k}": list(v) for k, v in grid.items()} | dict(fixed or {}),
            tags={Tag.SWEEP_METRIC: metric or ""},
        )
    try:
        pool, first = started.result()
    except BaseException as exc:  # e.g. the cluster did not start: say so on the sweep run too
        runs.abort(parent, exc)
        raise

    def trial_run(name: str, job: Job, submitted: float) -> OpenRun:
        return open_run(
            job,
            parent_run_id=parent,
            run_name=name,
            kind=Kind.SWEEP_TRIAL,
            collect_metrics=True,
            runs=runs,
            start_time=submitted,
        )

    # one scheduling loop for pipelines and sweeps: here a graph without edges, whose first
    # wave was submitted ahead; results are recorded after the next trials are submitted
    names = [f"trial-{i}" for i in range(len(first) + len(queue))]
    jobs_by_name = {names[len(first) + i]: item for i, item in enumerate(queue)}
    in_flight: dict[cf.Future[Any], str] = {}
    opened_runs: dict[str, OpenRun] = {}
    trials: list[NotebookRunResult] = []

    def start(trial: str, busy: int) -> cf.Future[Any] | str | None:
        if busy >= pool.slots:
            return DEFER
        name, job = jobs_by_name.pop(trial)
        opened_runs[trial] = trial_run(name, job, time.time())
        return pool.submit(execute_job, opened_runs[trial].job)

    def finish(trial: str, future: cf.Future[Any]) -> None:
        result = close_run(opened_runs[trial], future.result())
        del opened_runs[trial]
        trials.append(result)
        if progress is not None:
            progress(result)

    try:
        for i, (future, (name, job, submitted)) in enumerate(first.items()):
            in_flight[future] = names[i]
            opened_runs[names[i]] = trial_run(name, job, submitted)
        run_graph(
            {n: () for n in names},
            start=start,
            finish=finish,
            in_flight=in_flight,
            finish_after_refill=True,
        )
    except BaseException as exc:  # Ctrl-C, a worker lost: close the runs, then propagate
        for opened in opened_runs.values():
            abort_run(opened, exc)
        runs.abort(parent, exc)
        raise
    finally:
        if isinstance(executor, str):
            pool.close()
    trials.sort(key=lambda t: _sort_key(t, metric, maximize))
    result = SweepResult(parent, exp_name, metric, maximize, trials, time.perf_counter() - t0)
    best = result.best
    if best is not None and best.run_id:
        runs.client.set_tag(best.run_id, Tag.BEST, "true")
    metrics = {"trials": float(len(trials)), "failed": float(len(result.failed))}
    if best is not None and metric:
        metrics[f"best_{metric}"] = best.metrics[metric]
    runs.finish(
        parent,
        status=Status.FAILED if result.failed else Status.FINISHED,
        metrics=metrics,
        tags={Tag.BEST_RUN_ID: best.run_id} if best and best.run_id else {},
    )
    return result


Wave = tuple[Executor, dict[cf.Future[Executed], tuple[str, Job, float]]]


def _launch(
    executor: str | Executor, scheduler: str | None, jobs: int | None, queue: list[tuple[str, Job]]
) -> Wave:
    """Make the executor and submit as many queued jobs as it runs at once."""
    pool = (
        executor
        if not isinstance(executor, str)
        else make_executor(executor, scheduler=scheduler, jobs=jobs)
    )
    first: dict[cf.Future[Executed], tuple[str, Job, float]] = {}
    while queue and len(first) < pool.slots:
        name, job = queue.pop(0)
        submitted = time.time()
        first[pool.submit(execute_job, job)] = (name, job, submitted)
    return pool, first


@contextlib.contextmanager
def _first_wave(
    executor: str | Executor, scheduler: str | None, jobs: int | None, queue: list[tuple[str, Job]]
) -> Iterator[cf.Future[Wave]]:
    """:func:`_launch` on a thread while the body runs. A scheduler address is connected to
    first, so that an unreachable one fails before anything is recorded. ``queue`` belongs to
    the thread until the body has ended."""
    address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS")
    if not isinstance(executor, str) or (executor == "dask" and address):
        ready: cf.Future[Wave] = cf.Future()
        ready.set_result(_launch(executor, scheduler, jobs, queue))
        yield ready
        return
    check_executor(executor, scheduler=scheduler, jobs=jobs)  # bad arguments: before any run
    # imported here, never by two threads at once
    if executor == "dask":
        import distributed  # noqa: F401
    else:
        import concurrent.futures.process  # noqa: F401
        import multiprocessing  # noqa: F401
    with cf.ThreadPoolExecutor(1, thread_name_prefix="mlops-nb-executor") as thread:
        made = thread.submit(_launch, executor, scheduler, jobs, queue)
        try:
            yield made
        except BaseException:
            with contextlib.suppress(BaseException):
                made.result()[0].close()
            raise


def _trial_name(combo: Mapping[str, Any]) -> str:
    return ", ".join(f"{k}={v}" for k, v in combo.items())[:250]


def _sort_key(trial: NotebookRunResult, metric: str | None, maximize: bool) -> tuple[int, float]:
    if metric is None or metric not in trial.metrics or not trial.ok:
        return (1, 0.0)
    value = trial.metrics[metric]
    if math.isnan(value):
        return (1, 0.0)
    return (0, -value if maximize else value)
