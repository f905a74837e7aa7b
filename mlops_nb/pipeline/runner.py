"""Run a validated pipeline: dependency order, independent steps in parallel, cached steps skipped.

The runner lives in the main process and is the only writer of the cache state. For each step that
becomes ready (its dependencies done) it computes the cache key *then* (upstream outputs may just
have changed), skips it when cached, or opens the step's run here and submits its job
(:func:`~.notebook_run.execute_job`) to the executor, closing the run when the job comes back.
A failed step stops its dependants (other branches go on); its success record is left unchanged,
so the next run resumes from it. Progress is reported as :class:`PipelineEvent`\\ s.

MLflow is imported only when a step executes; a run with nothing to execute is queued in the
tracking outbox through :mod:`.records` (delivered at once, or in the background for the CLI).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.pipeline import cache, records
from mlops_nb.pipeline import runs as R
from mlops_nb.pipeline.executors import Executor, make_executor
from mlops_nb.pipeline.names import Event, Kind, Status, Tag
from mlops_nb.pipeline.notebook_run import (
    Executed,
    OpenRun,
    abort_run,
    close_run,
    execute_job,
    open_run,
    prepare_job,
)
from mlops_nb.pipeline.scheduling import DEFER, run_graph
from mlops_nb.pipeline.spec import Pipeline

RUNNING = Status.RUNNING
FINISHED = Status.FINISHED
FAILED = Status.FAILED
CACHED = Status.CACHED
SKIPPED = Status.SKIPPED


@dataclass(frozen=True)
class PipelineEvent:
    """One progress report.

    ``kind`` is ``started`` | ``finished`` | ``cached`` | ``failed`` | ``skipped``; ``status`` the
    step's status (``RUNNING``, ``FINISHED``, ``CACHED``, ``FAILED``, ``SKIPPED``); ``run_id`` its
    MLflow run (for a cached step: the run that produced its outputs).
    """

    kind: str
    step: str
    status: str
    message: str = ""
    run_id: str | None = None
    duration: float | None = None


@dataclass
class StepResult:
    name: str
    status: str  # FINISHED | CACHED | FAILED | SKIPPED
    run_id: str | None = None
    cached_from: str | None = None
    duration: float = 0.0
    message: str = ""
    output_path: Path | None = None


@dataclass
class PipelineResult:
    """Outcome of :func:`run`: per-step results in pipeline order and the parent run."""

    pipeline: Path
    status: str
    steps: dict[str, StepResult] = field(default_factory=dict)
    run_id: str | None = None
    experiment: str = ""
    duration: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == FINISHED

    @property
    def failed_steps(self) -> list[StepResult]:
        return [s for s in self.steps.values() if s.status == FAILED]

    @property
    def executed(self) -> list[str]:
        return [s.name for s in self.steps.values() if s.status in (FINISHED, FAILED) and s.run_id]


Progress = Callable[[PipelineEvent], None]


def select(
    pipeline: Pipeline, only: str | None, from_step: str | None, force: bool
) -> tuple[set[str], set[str]]:
    """(steps to consider, steps to run regardless of the cache). ``--only`` honours the cache
    like a whole run (``--force`` reruns the step); ``--from`` reruns its steps."""
    if only and from_step:
        from mlops_nb.pipeline.errors import PipelineError

        raise PipelineError("give --only or --from, not both", path=str(pipeline.path))
    if only:
        pipeline.require_step(only, "--only")
        return {only}, ({only} if force else set())
    if from_step:
        pipeline.require_step(from_step, "--from")
        chosen = pipeline.downstream([from_step])
        return chosen, set(chosen)
    everything = set(pipeline.order)
    return everything, (set(everything) if force else set())


class _Recorder:
    """The pipeline's MLflow runs: the parent is created when the first step executes (or, for
    a task of an orchestrator run, found: one pipeline run per DAG run, shared by its tasks).
    Every run opened is registered with the run lock until closed, so that the next run can
    close the runs of a runner that was killed."""

    def __init__(
        self,
        pipeline: Pipeline,
        experiment: str,
        uri: str,
        lease: cache.Lease,
        orchestrator_run: str | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.experiment = experiment
        self.uri = uri
        self.lease = lease
        self.orchestrator_run = orchestrator_run
        self.started = time.time()
        self.runs: R.Runs | None = None
        self.parent: str | None = None
        self.cached: list[records.CachedStep] = []

    def client(self) -> R.Runs:
        if self.runs is None:
            self.runs = R.Runs(self.uri)
        return self.runs

    def ensure_parent(self) -> str:
        if self.parent is None:
            runs = self.client()
            tags = {Tag.PIPELINE: str(self.pipeline.path), Tag.RUNNER_PID: str(os.getpid())}
            if self.orchestrator_run:
                self.parent = runs.find_or_start(
                    self.experiment,
                    tag=Tag.RECORD_ID,
                    value=self.shared_record_id(),
                    name=self.pipeline.name,
                    kind=Kind.PIPELINE,
                    tags={**tags, Tag.ORCHESTRATOR_RUN: self.orchestrator_run},
                )
            else:
                self.parent = runs.start(
                    self.experiment,
                    name=self.pipeline.name,
                    kind=Kind.PIPELINE,
                    tags=tags,
                    start_time=self.started,
                )
            self.lease.opened(self.parent)
            for step in self.cached:
                self._write_cached(step)
        return self.parent

    def shared_record_id(self) -> str:
        """The record id of the pipeline run shared by the tasks of one orchestrator run (the
        outbox and a live runner resolve it to the same run)."""
        import hashlib

        key = f"{self.pipeline.path}\0{self.orchestrator_run}".encode()
        return "orch" + hashlib.sha256(key).hexdigest()[:28]

    def opened(self, run_id: str) -> None:
        self.lease.opened(run_id)

    def closed(self, run_id: str | None) -> None:
        if run_id:
            self.lease.closed(run_id)

    def cached_step(self, name: str, cached_from: str | None) -> None:
        step = self.pipeline.steps[name]
        entry = records.CachedStep(
            name, str(step.notebook), step.parameters, cached_from, time.time()
        )
        if self.parent is None:
            self.cached.append(entry)
        else:
            self._write_cached(entry)

    def _write_cached(self, entry: records.CachedStep) -> None:
        self.client().record_cached(
            self.experiment,
            name=entry.name,
            notebook=entry.notebook,
            parent_run_id=self.parent,
            cached_from=entry.cached_from,
            params=entry.params,
            when=entry.at,
        )

    def fail_step_run(self, run_id: str, message: str) -> None:
        runs = self.client()
        runs.client.set_tag(run_id, Tag.ERROR, message[:5000])
        runs.client.set_terminated(run_id, status=FAILED)

    def abort(self, exc: BaseException) -> None:
        if self.parent is not None and self.runs is not None:
            self.runs.abort(self.parent, exc, tag_error=False)
            self.closed(self.parent)

    def finish(self, result: PipelineResult, tracking: str) -> None:
        counts = {
            s: sum(1 for r in result.steps.values() if r.status == s)
            for s in (FINISHED, CACHED, FAILED, SKIPPED)
        }
        metrics = {f"steps_{k.lower()}": float(v) for k, v in counts.items()}
        metrics["duration_s"] = round(result.duration, 3)
        status = FINISHED if result.ok else FAILED
        if self.parent is not None:
            runs = self.client()
            failed = ", ".join(s.name for s in result.failed_steps)
            if self.orchestrator_run:  # one task of many: the steps' latest attempts decide
                exp_id = runs.experiment_id(self.experiment)
                if failed:
                    runs.client.set_tag(self.parent, Tag.ERROR, f"failed step(s): {failed}")
                runs.settle(self.parent, exp_id)
            else:
                runs.finish(
                    self.parent,
                    status=status,
                    metrics=metrics,
                    tags={Tag.ERROR: f"failed step(s): {failed}"} if failed else {},
                )
            self.closed(self.parent)
            result.run_id = self.parent
            return
        shared = self.orchestrator_run is not None  # one task's view: no pipeline metrics
        folders = records.queue(
            tracking_uri=self.uri,
            experiment=self.experiment,
            name=self.pipeline.name,
            pipeline_file=self.pipeline.path,
            start=self.started,
            end=time.time(),
            status=status,
            metrics={} if shared else metrics,
            steps=self.cached,
            record_id=self.shared_record_id() if shared else None,
            tags={Tag.ORCHESTRATOR_RUN: str(self.orchestrator_run)} if shared else None,
        )
        if tracking == "background":
            records.deliver_later()
        else:
            result.run_id = records.deliver_now(folders)


def run(
    pipeline: Pipeline,
    *,
    only: str | None = None,
    from_step: str | None = None,
    force: bool = False,
    executor: str | Executor = "local",
    scheduler: str | None = None,
    jobs: int | None = None,
    progress: Progress | None = None,
    experiment: str | None = None,
    tracking: str = "sync",
    orchestrator_run: str | None = None,
) -> PipelineResult:
    """Execute ``pipeline`` (see the module docstring); never raises for a failing step.

    ``orchestrator_run`` (an Airflow DAG run's id, given by exported DAGs) records the steps
    under one pipeline run per orchestrator run, and waits for the run lock instead of refusing.
    Raises :class:`~.errors.PipelineError` when another run of the same pipeline is in progress.
    """
    selected, forced = select(pipeline, only, from_step, force)
    uri = get_settings().tracking_uri
    with cache.run_lock(pipeline, uri, wait=orchestrator_run is not None) as lease:
        if lease.leftover is not None:
            close_leftover(lease.leftover)
        recorder = _Recorder(pipeline, experiment or pipeline.name, uri, lease, orchestrator_run)
        return _run(
            pipeline, selected, forced, executor, scheduler, jobs, progress, recorder, tracking
        )


def close_leftover(leftover: cache.LeftOver) -> list[str]:
    """Mark ``KILLED`` the runs a dead runner left ``RUNNING`` (never raises: a store that is
    unreachable now leaves them for the next run)."""
    who = f"process {leftover.pid}" if leftover.pid else "a previous run"
    reason = (
        f"the pipeline runner ({who}) ended without closing this run (killed, or its machine "
        "was lost); closed by the next run of the pipeline"
    )
    try:
        return R.Runs(leftover.tracking_uri).mark_killed(list(leftover.runs), reason)
    except Exception:
        return []


def _run(
    pipeline: Pipeline,
    selected: set[str],
    forced: set[str],
    executor: str | Executor,
    scheduler: str | None,
    jobs: int | None,
    progress: Progress | None,
    recorder: _Recorder,
    tracking: str,
) -> PipelineResult:
    store = cache.StateStore(pipeline)
    t0 = time.perf_counter()
    result = PipelineResult(pipeline=pipeline.path, status=FINISHED, experiment=recorder.experiment)
    for name in pipeline.order:
        if name not in selected:
            result.steps[name] = StepResult(name, SKIPPED, message="not selected")

    def emit(event: PipelineEvent) -> None:
        if progress is not None:
            with contextlib.suppress(Exception):  # a broken display must not stop the pipeline
                progress(event)

    def settle(name: str, status: str, message: str, key: str | None = None) -> None:
        result.steps[name] = StepResult(name, status, message=message)
        if key is not None:
            store.record(name, key=key, run_id=None, status=status, error=message)
        emit(
            PipelineEvent(
                Event.FAILED if status == FAILED else Event.SKIPPED, name, status, message
            )
        )

    pool: Executor | None = executor if not isinstance(executor, str) else None
    owns_pool = pool is None
    in_flight: dict[cf.Future[Any], str] = {}
    started: dict[str, tuple[str, float, OpenRun]] = {}

    def start(name: str, busy: int) -> cf.Future[Any] | str | None:
        nonlocal pool
        deps = pipeline.dependencies[name]
        bad = [d for d in deps if d in selected and result.steps[d].status in (FAILED, SKIPPED)]
        if bad:
            settle(name, SKIPPED, f"not run: step '{bad[0]}' did not succeed")
            return None
        step = pipeline.steps[name]
        key = cache.step_key(pipeline, step, store)
        if name not in forced and cache.cache_state(pipeline, step, store, key) == cache.CACHED:
            producer = (store.success(name) or {}).get("run_id")
            recorder.cached_step(name, producer)
            store.record_cached(name, producer)
            result.steps[name] = StepResult(
                name, CACHED, run_id=producer, cached_from=producer, message="cached"
            )
            emit(PipelineEvent(Event.CACHED, name, CACHED, "unchanged, outputs present", producer))
            return None
        missing = [rel for rel in step.inputs if not pipeline.file(rel).exists()]
        if missing:
            message = (
                f"input(s) {', '.join(missing)} missing; run the step(s) producing them "
                "first (e.g. without --only/--from)"
            )
            settle(name, FAILED, message, key)
            return None
        if pool is None:
            pool = make_executor(str(executor), scheduler=scheduler, jobs=jobs)
            warm = getattr(pool, "warm", None)
            if warm is not None:
                warm()
        if busy >= pool.slots:
            return DEFER
        try:
            parent = recorder.ensure_parent()
            job = prepare_job(
                step.notebook,
                step.parameters,
                output_path=pipeline.root / "out" / f"{name}.ipynb",
                experiment=recorder.experiment,
                kernel=step.kernel,
                cwd=pipeline.root,
                tracking_uri=recorder.uri,
            )
            opened = open_run(
                job,
                parent_run_id=parent,
                run_name=name,
                kind=Kind.STEP,
                tags={Tag.STEP: name},
                runs=recorder.runs,
            )
        except Exception as exc:  # the tracking store refused the run, ...
            settle(name, FAILED, f"{type(exc).__name__}: {exc}", key)
            return None
        recorder.opened(opened.run_id)
        future = pool.submit(execute_job, opened.job)
        started[name] = (key, time.perf_counter(), opened)
        emit(PipelineEvent(Event.STARTED, name, RUNNING, str(step.notebook.name)))
        return future

    def finish(name: str, future: cf.Future[Any]) -> None:
        key, began, opened = started.pop(name)
        step_result = _finish_step(pipeline, name, future, began, opened, recorder)
        recorder.closed(opened.run_id)
        result.steps[name] = step_result
        store.record(
            name,
            key=key,
            run_id=step_result.run_id,
            status=step_result.status,
            error=step_result.message if step_result.status == FAILED else None,
        )
        store.save()
        emit(
            PipelineEvent(
                Event.FINISHED if step_result.status == FINISHED else Event.FAILED,
                name,
                step_result.status,
                step_result.message,
                step_result.run_id,
                step_result.duration,
            )
        )

    graph = {n: [d for d in pipeline.dependencies[n] if d in selected] for n in pipeline.order}
    try:
        run_graph(
            {n: deps for n, deps in graph.items() if n in selected},
            start=start,
            finish=finish,
            in_flight=in_flight,
        )
    except BaseException as exc:  # Ctrl-C or a bug: close the runs, keep the state
        for name in in_flight.values():
            if name in started:
                opened = started[name][2]
                abort_run(opened, exc)
                recorder.closed(opened.run_id)
        recorder.abort(exc)
        raise
    finally:
        if owns_pool and pool is not None:
            pool.close()
        store.save()
    result.steps = {n: result.steps[n] for n in pipeline.order}
    result.status = FAILED if result.failed_steps else FINISHED
    result.duration = time.perf_counter() - t0
    recorder.finish(result, tracking)
    return result


def _finish_step(
    pipeline: Pipeline,
    name: str,
    future: cf.Future[Executed],
    started: float,
    opened: OpenRun,
    recorder: _Recorder,
) -> StepResult:
    duration = time.perf_counter() - started
    try:
        outcome = close_run(opened, future.result())
    except Exception as exc:  # the worker itself failed (crash, a lost Dask worker, ...)
        abort_run(opened, exc)
        message = f"{type(exc).__name__}: {exc}"
        return StepResult(name, FAILED, opened.run_id, duration=duration, message=message)
    if not outcome.ok:
        message = f"{outcome.error}; executed notebook kept at {outcome.output_path}"
        return StepResult(
            name,
            FAILED,
            outcome.run_id,
            duration=duration,
            message=message,
            output_path=outcome.output_path,
        )
    missing = cache.missing_outputs(pipeline, pipeline.steps[name])
    if missing:
        message = (
            f"did not write its declared output(s) {', '.join(missing)}; write them in "
            f"{pipeline.steps[name].notebook.name} or fix 'outputs' in {pipeline.path.name}"
        )
        if outcome.run_id:
            recorder.fail_step_run(outcome.run_id, message)
        return StepResult(
            name,
            FAILED,
            outcome.run_id,
            duration=duration,
            message=message,
            output_path=outcome.output_path,
        )
    return StepResult(
        name,
        FINISHED,
        outcome.run_id,
        duration=duration,
        message=f"{outcome.duration:.1f}s in the kernel",
        output_path=outcome.output_path,
    )
