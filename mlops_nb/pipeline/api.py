"""The library API of pipelines (what the CLI and the JupyterLab panel call). Stable signatures:

- :func:`run_notebook` -- one notebook, one MLflow run → :class:`NotebookRunResult`
- :func:`load_pipeline` -- ``pipeline.yaml`` → validated :class:`~.spec.Pipeline`
- :func:`pipeline_status` -- each step's cache state, without executing anything
- :func:`run_pipeline` -- run the DAG → :class:`~.runner.PipelineResult`, with progress events
- :func:`sweep` -- a parameter grid over an executor → :class:`~.sweep.SweepResult`
- :func:`export` -- the pipeline as an Airflow 3 DAG or a KFP v2 pipeline → :class:`Export`
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlops_nb.pipeline import cache
from mlops_nb.pipeline.errors import PipelineError, PipelineFailed
from mlops_nb.pipeline.notebook_run import NotebookRunResult, run_notebook
from mlops_nb.pipeline.runner import PipelineEvent, PipelineResult, StepResult
from mlops_nb.pipeline.spec import Pipeline, Step
from mlops_nb.pipeline.sweep import SweepResult, sweep

if TYPE_CHECKING:
    from mlops_nb.pipeline.orchestrators import Export

__all__ = [
    "NotebookRunResult",
    "Pipeline",
    "PipelineError",
    "PipelineEvent",
    "PipelineFailed",
    "PipelineResult",
    "Step",
    "StepResult",
    "StepStatus",
    "SweepResult",
    "export",
    "load_pipeline",
    "pipeline_status",
    "run_notebook",
    "run_pipeline",
    "sweep",
]


@dataclass(frozen=True)
class StepStatus:
    """A step as :func:`pipeline_status` sees it.

    ``cache_state`` is ``cached`` (would be skipped), ``stale`` (code, parameters, inputs or an
    upstream step changed), ``missing-outputs`` (unchanged, but its outputs are gone) or
    ``never-run``. ``last_status`` is ``FINISHED`` | ``FAILED`` | ``CACHED`` | ``None`` and
    ``last_run_id`` the MLflow run of that attempt (for a cached one: the producing run).
    """

    name: str
    needs: tuple[str, ...]
    cache_state: str
    last_status: str | None
    last_run_id: str | None
    notebook: str
    outputs: tuple[str, ...]
    reason: str = ""
    last_error: str | None = None


def load_pipeline(path: str | Path | None = None) -> Pipeline:
    """Read and validate ``path`` (default ``./pipeline.yaml``); raises :class:`PipelineError`."""
    from mlops_nb.pipeline import spec

    return spec.load(path)


def pipeline_status(path: str | Path | None = None) -> list[StepStatus]:
    """Each step's cache state, in dependency order (reads files and the state; runs nothing,
    writes nothing: safe to poll while a run is in progress)."""
    pipeline = load_pipeline(path)
    store = cache.StateStore(pipeline)
    states: dict[str, str] = {}
    out: list[StepStatus] = []
    for name in pipeline.order:
        step = pipeline.steps[name]
        state = cache.cache_state(pipeline, step, store, cache.step_key(pipeline, step, store))
        reason = {
            cache.CACHED: "unchanged, outputs present",
            cache.STALE: "notebook, parameters or inputs changed",
            cache.MISSING_OUTPUTS: "unchanged, but outputs are missing: "
            + ", ".join(cache.missing_outputs(pipeline, step)),
            cache.NEVER_RUN: "no successful run yet",
        }[state]
        upstream = [d for d in pipeline.dependencies[name] if states.get(d) != cache.CACHED]
        if state == cache.CACHED and upstream:
            state, reason = cache.STALE, f"upstream step '{upstream[0]}' will run first"
        states[name] = state
        last = store.last(name) or {}
        out.append(
            StepStatus(
                name=name,
                needs=pipeline.dependencies[name],
                cache_state=state,
                last_status=last.get("status"),
                last_run_id=last.get("run_id"),
                notebook=str(step.notebook),
                outputs=step.outputs,
                reason=reason,
                last_error=last.get("error"),
            )
        )
    return out  # read-only: the runner is the one writer of the state file


def run_pipeline(
    path: str | Path | None = None,
    *,
    only: str | None = None,
    from_step: str | None = None,
    force: bool = False,
    executor: str = "local",
    scheduler: str | None = None,
    jobs: int | None = None,
    progress: Callable[[PipelineEvent], None] | None = None,
    experiment: str | None = None,
    tracking: str = "sync",
    orchestrator_run: str | None = None,
) -> PipelineResult:
    """Validate and run the pipeline at ``path``; returns a :class:`PipelineResult`.

    Parameters
    ----------
    only : run just this step (forced; its inputs must exist)
    from_step : rerun this step and every step downstream of it (forced)
    force : ignore the cache for every selected step
    executor : ``"local"`` (process pool, default) or ``"dask"``
    scheduler : Dask scheduler address (default ``DASK_SCHEDULER_ADDRESS``, else a LocalCluster)
    jobs : steps at once (local pool size / LocalCluster workers)
    progress : called in this thread with each :class:`PipelineEvent` (started, finished,
        cached, failed, skipped)
    experiment : MLflow experiment (default: the pipeline's ``name``, else its folder's name)
    tracking : ``"sync"`` records a run that executed nothing before returning; ``"background"``
        hands it to a detached process (the CLI's choice: no MLflow import on a cached rerun)
    orchestrator_run : an orchestrator run's id (``DAG:RUN`` from an exported Airflow DAG): the
        steps of every call with the same id are children of one pipeline run; the call waits
        for the pipeline's run lock instead of refusing

    A failing step does not raise: check ``result.ok`` / ``result.failed_steps``.
    """
    from mlops_nb.pipeline import runner

    if tracking not in ("sync", "background"):
        raise PipelineError(f"tracking must be 'sync' or 'background', not {tracking!r}")
    return runner.run(
        load_pipeline(path),
        only=only,
        from_step=from_step,
        force=force,
        executor=executor,
        scheduler=scheduler,
        jobs=jobs,
        progress=progress,
        experiment=experiment,
        tracking=tracking,
        orchestrator_run=orchestrator_run,
    )


def export(
    path: str | Path | None = None,
    *,
    to: str,
    out: str | Path,
    schedule: str | None = None,
    image: str | None = None,
    retries: int = 1,
    command: str = "mlops-nb",
    tracking_uri: str | None = None,
    executor: str | None = None,
) -> Export:
    """Write the pipeline for Airflow (``to="airflow"``) or KFP (``"kfp"``); see
    :func:`mlops_nb.pipeline.orchestrators.export`. Returns the files written and what the target
    cannot express."""
    from mlops_nb.pipeline.orchestrators import export as _export

    return _export(
        path,
        to=to,
        out=out,
        schedule=schedule,
        image=image,
        retries=retries,
        command=command,
        tracking_uri=tracking_uri,
        executor=executor,
    )
