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
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.pipeline import cache, records
from mlops_nb.pipeline import runs as R
from mlops_nb.pipeline.executors import Executor, make_executor
from mlops_nb.pipeline.notebook_run import (
    Executed,
    OpenRun,
    abort_run,
    close_run,
    execute_job,
    open_run,
    prepare_job,
)
from mlops_nb.pipeline.spec import Pipeline

RUNNING = "RUNNING"
FINISHED = "FINISHED"
FAILED = "FAILED"
CACHED = "CACHED"
SKIPPED = "SKIPPED"


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
    """(steps to consider, steps to run regardless of the cache)."""
    if only and from_step:
        from mlops_nb.pipeline.errors import PipelineError

        raise PipelineError("give --only or --from, not both", path=str(pipeline.path))
    if only:
        pipeline.require_step(only, "--only")
        return {only}, {only}
    if from_step:
        pipeline.require_step(from_step, "--from")
        chosen = pipeline.downstream([from_step])
        return chosen, set(chosen)
    everything = set(pipeline.order)
    return everything, (set(everything) if force else set())


class _Recorder:
    """The pipeline's MLflow runs: the parent is created when the first step executes."""

    def __init__(self, pipeline: Pipeline, experiment: str, uri: str) -> None:
        self.pipeline = pipeline
        self.experiment = experiment
        self.uri = uri
        self.started = time.time()
        self.runs: R.Runs | None = None
        self.parent: str | None = None
        self.cached: list[records.CachedStep] = []

    def ensure_parent(self) -> str:
        if self.parent is None:
            self.runs = R.Runs(self.uri)
            self.parent = self.runs.start(
                self.experiment,
                name=self.pipeline.name,
                kind="pipeline",
                tags={"mlops_nb.pipeline": str(self.pipeline.path)},
                start_time=self.started,
            )
            for step in self.cached:
                self._write_cached(step)
        return self.parent

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
        assert self.runs is not None
        self.runs.record_cached(
            self.experiment,
            name=entry.name,
            notebook=entry.notebook,
            parent_run_id=self.parent,
            cached_from=entry.cached_from,
            params=entry.params,
            when=entry.at,
        )

    def fail_step_run(self, run_id: str, message: str) -> None:
        self.ensure_parent()
        assert self.runs is not None
        self.runs.client.set_tag(run_id, R.ERROR, message[:5000])
        self.runs.client.set_terminated(run_id, status=FAILED)

    def finish(self, result: PipelineResult, tracking: str) -> None:
        counts = {
            s: sum(1 for r in result.steps.values() if r.status == s)
            for s in (FINISHED, CACHED, FAILED, SKIPPED)
        }
        metrics = {f"steps_{k.lower()}": float(v) for k, v in counts.items()}
        metrics["duration_s"] = round(result.duration, 3)
        status = FINISHED if result.ok else FAILED
        if self.parent is not None:
            assert self.runs is not None
            failed = ", ".join(s.name for s in result.failed_steps)
            self.runs.finish(
                self.parent,
                status=status,
                metrics=metrics,
                tags={R.ERROR: f"failed step(s): {failed}"} if failed else {},
            )
            result.run_id = self.parent
            return
        folders = records.queue(
            tracking_uri=self.uri,
            experiment=self.experiment,
            name=self.pipeline.name,
            pipeline_file=self.pipeline.path,
            start=self.started,
            end=time.time(),
            status=status,
            metrics=metrics,
            steps=self.cached,
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
) -> PipelineResult:
    """Execute ``pipeline`` (see the module docstring); never raises for a failing step.

    Raises :class:`~.errors.PipelineError` when another run of the same pipeline is in progress.
    """
    selected, forced = select(pipeline, only, from_step, force)
    with cache.run_lock(pipeline):
        return _run(
            pipeline, selected, forced, executor, scheduler, jobs, progress, experiment, tracking
        )


def _run(
    pipeline: Pipeline,
    selected: set[str],
    forced: set[str],
    executor: str | Executor,
    scheduler: str | None,
    jobs: int | None,
    progress: Progress | None,
    experiment: str | None,
    tracking: str,
) -> PipelineResult:
    settings = get_settings()
    store = cache.StateStore(pipeline)
    recorder = _Recorder(pipeline, experiment or pipeline.name, settings.tracking_uri)
    t0 = time.perf_counter()
    result = PipelineResult(pipeline=pipeline.path, status=FINISHED, experiment=recorder.experiment)
    for name in pipeline.order:
        if name not in selected:
            result.steps[name] = StepResult(name, SKIPPED, message="not selected")

    def emit(event: PipelineEvent) -> None:
        if progress is not None:
            with contextlib.suppress(Exception):  # a broken display must not stop the pipeline
                progress(event)

    pool: Executor | None = executor if not isinstance(executor, str) else None
    owns_pool = pool is None
    remaining = [n for n in pipeline.order if n in selected]
    running: dict[cf.Future[Executed], tuple[str, str, float, OpenRun]] = {}
    try:
        while remaining or running:
            for name in list(remaining):
                deps = pipeline.dependencies[name]
                if any(d in remaining or d in _names(running) for d in deps):
                    continue
                bad = [
                    d
                    for d in deps
                    if result.steps[d].status in (FAILED,)
                    or (result.steps[d].status == SKIPPED and d in selected)
                ]
                step = pipeline.steps[name]
                if bad:
                    message = f"not run: step '{bad[0]}' did not succeed"
                    result.steps[name] = StepResult(name, SKIPPED, message=message)
                    emit(PipelineEvent("skipped", name, SKIPPED, message))
                    remaining.remove(name)
                    continue
                key = cache.step_key(pipeline, step, store)
                state = cache.cache_state(pipeline, step, store, key)
                if name not in forced and state == cache.CACHED:
                    success = store.success(name) or {}
                    producer = success.get("run_id")
                    recorder.cached_step(name, producer)
                    store.record_cached(name, producer)
                    result.steps[name] = StepResult(
                        name, CACHED, run_id=producer, cached_from=producer, message="cached"
                    )
                    emit(
                        PipelineEvent(
                            "cached", name, CACHED, "unchanged, outputs present", producer
                        )
                    )
                    remaining.remove(name)
                    continue
                missing = [rel for rel in step.inputs if not pipeline.file(rel).exists()]
                if missing:
                    message = (
                        f"input(s) {', '.join(missing)} missing; run the step(s) producing them "
                        "first (e.g. without --only/--from)"
                    )
                    result.steps[name] = StepResult(name, FAILED, message=message)
                    store.record(name, key=key, run_id=None, status=FAILED, error=message)
                    emit(PipelineEvent("failed", name, FAILED, message))
                    remaining.remove(name)
                    continue
                if pool is None:
                    pool = make_executor(str(executor), scheduler=scheduler, jobs=jobs)
                    warm = getattr(pool, "warm", None)
                    if warm is not None:
                        warm()
                if len(running) >= pool.slots:
                    continue
                parent = recorder.ensure_parent()
                try:
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
                        kind="step",
                        tags={R.STEP: name},
                        runs=recorder.runs,
                    )
                except Exception as exc:  # the tracking store refused the run, ...
                    message = f"{type(exc).__name__}: {exc}"
                    result.steps[name] = StepResult(name, FAILED, message=message)
                    store.record(name, key=key, run_id=None, status=FAILED, error=message)
                    emit(PipelineEvent("failed", name, FAILED, message))
                    remaining.remove(name)
                    continue
                future = pool.submit(execute_job, opened.job)
                running[future] = (name, key, time.perf_counter(), opened)
                remaining.remove(name)
                emit(PipelineEvent("started", name, RUNNING, str(step.notebook.name)))
            if not running:
                if remaining:  # pragma: no cover - the loop above always progresses
                    raise RuntimeError(f"pipeline runner is stuck on {remaining}")
                break
            done, _ = cf.wait(running, return_when=cf.FIRST_COMPLETED)
            for future in done:
                name, key, started, opened = running.pop(future)
                step_result = _finish_step(pipeline, name, future, started, opened, recorder)
                result.steps[name] = step_result
                store.record(
                    name,
                    key=key,
                    run_id=step_result.run_id,
                    status=step_result.status,
                    error=step_result.message if step_result.status == FAILED else None,
                )
                store.save()
                kind = "finished" if step_result.status == FINISHED else "failed"
                emit(
                    PipelineEvent(
                        kind,
                        name,
                        step_result.status,
                        step_result.message,
                        step_result.run_id,
                        step_result.duration,
                    )
                )
    except BaseException as exc:  # Ctrl-C or a bug: close the runs, keep the state
        for *_, opened in running.values():
            abort_run(opened, exc)
        if recorder.parent is not None and recorder.runs is not None:
            recorder.runs.abort(recorder.parent, exc, tag_error=False)
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


def _names(running: dict[Any, tuple[str, str, float, OpenRun]]) -> set[str]:
    return {v[0] for v in running.values()}


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
