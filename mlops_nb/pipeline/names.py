"""Every status, cache state, run kind and tag name of the pipeline capability, in one place.

Plain string constants (they travel as-is to MLflow, the state file, the REST routes and the
panel), grouped by what they name. Import the group, never spell the literal.
"""

from __future__ import annotations

from typing import Final


class Status:
    """A step's, a pipeline's or a run's status. The first four are MLflow's own run statuses."""

    RUNNING: Final = "RUNNING"
    FINISHED: Final = "FINISHED"
    FAILED: Final = "FAILED"
    KILLED: Final = "KILLED"
    CACHED: Final = "CACHED"  # a step whose outputs were reused (its run is FINISHED)
    SKIPPED: Final = "SKIPPED"  # not selected, or an upstream step did not succeed


class Event:
    """:class:`~mlops_nb.pipeline.runner.PipelineEvent` kinds."""

    STARTED: Final = "started"
    FINISHED: Final = "finished"
    CACHED: Final = "cached"
    FAILED: Final = "failed"
    SKIPPED: Final = "skipped"


class CacheState:
    """What :func:`~mlops_nb.pipeline.cache.cache_state` says about a step before it runs."""

    CACHED: Final = "cached"
    STALE: Final = "stale"
    MISSING_OUTPUTS: Final = "missing-outputs"
    NEVER_RUN: Final = "never-run"


class Kind:
    """Values of the ``mlops_nb.kind`` tag."""

    NOTEBOOK: Final = "notebook"
    PIPELINE: Final = "pipeline"
    STEP: Final = "step"
    SWEEP: Final = "sweep"
    SWEEP_TRIAL: Final = "sweep-trial"


class Tag:
    """MLflow tag names."""

    KIND: Final = "mlops_nb.kind"
    NOTEBOOK: Final = "mlops_nb.notebook"
    PIPELINE: Final = "mlops_nb.pipeline"
    STEP: Final = "mlops_nb.step"
    CACHED: Final = "mlops_nb.cached"
    CACHED_FROM: Final = "mlops_nb.cached_from"
    ERROR: Final = "mlops_nb.error"
    FAILED_CELL: Final = "mlops_nb.failed_cell"
    RECORD_ID: Final = "mlops_nb.record_id"  # the tag the outbox resolves a parent record by
    ORCHESTRATOR_RUN: Final = "mlops_nb.orchestrator_run"  # an Airflow DAG run's id
    RUNNER_PID: Final = "mlops_nb.runner_pid"
    BEST: Final = "mlops_nb.best"
    BEST_RUN_ID: Final = "mlops_nb.best_run_id"
    SWEEP_METRIC: Final = "mlops_nb.sweep.metric"
    PARENT: Final = "mlflow.parentRunId"
    RUN_NAME: Final = "mlflow.runName"
