"""The MLflow runs this capability creates itself: notebook, pipeline, step, sweep, sweep-trial.

A thin layer over ``MlflowClient`` (imported on first use: ``import mlflow`` costs about a second).
Every run is tagged ``mlops_nb.kind`` and, where it concerns one notebook, ``mlops_nb.notebook``;
children carry MLflow's own ``mlflow.parentRunId`` so the UI nests them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_nb.pipeline.params import as_param_string

KIND = "mlops_nb.kind"
NOTEBOOK = "mlops_nb.notebook"
CACHED = "mlops_nb.cached"
CACHED_FROM = "mlops_nb.cached_from"
ERROR = "mlops_nb.error"
FAILED_CELL = "mlops_nb.failed_cell"
STEP = "mlops_nb.step"
PARENT = "mlflow.parentRunId"
RUN_NAME = "mlflow.runName"

_MAX_TAG = 5000


class Runs:
    """Create and finish runs in one tracking store."""

    def __init__(self, tracking_uri: str) -> None:
        from mlops_nb.pipeline._imports import skip_slow_optional_imports

        skip_slow_optional_imports()
        from mlflow.tracking import MlflowClient

        self.tracking_uri = tracking_uri
        self.client = MlflowClient(tracking_uri=tracking_uri)
        self._experiments: dict[str, str] = {}

    def experiment_id(self, name: str) -> str:
        """Experiment by name, created when missing (tolerates a concurrent creator)."""
        if name in self._experiments:
            return self._experiments[name]
        exp = self.client.get_experiment_by_name(name)
        if exp is None:
            try:
                exp_id = self.client.create_experiment(name)
            except Exception:
                exp = self.client.get_experiment_by_name(name)
                if exp is None:
                    raise
                exp_id = exp.experiment_id
        else:
            exp_id = exp.experiment_id
        self._experiments[name] = exp_id
        return exp_id

    def start(
        self,
        experiment: str,
        *,
        name: str,
        kind: str,
        notebook: str | None = None,
        parent_run_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        tags: Mapping[str, str] | None = None,
        start_time: float | None = None,
    ) -> str:
        """A RUNNING run with the standard tags and the given params; returns its id."""
        from mlflow.entities import Param

        all_tags = {KIND: kind}
        if notebook:
            all_tags[NOTEBOOK] = notebook
        if parent_run_id:
            all_tags[PARENT] = parent_run_id
        all_tags.update(tags or {})
        run = self.client.create_run(
            self.experiment_id(experiment),
            start_time=int((start_time or time.time()) * 1000),
            tags=all_tags,
            run_name=name,
        )
        run_id: str = run.info.run_id
        if params:
            self.client.log_batch(
                run_id,
                params=[Param(k, as_param_string(v)[:6000]) for k, v in sorted(params.items())],
            )
        return run_id

    def finish(
        self,
        run_id: str,
        *,
        status: str,
        metrics: Mapping[str, float] | None = None,
        tags: Mapping[str, str] | None = None,
        artifacts: Mapping[str, Path] | None = None,
        end_time: float | None = None,
    ) -> None:
        """Log metrics, tags and artifacts (``{artifact_dir: file}``), then set the status."""
        from mlflow.entities import Metric, RunTag

        now = int((end_time or time.time()) * 1000)
        self.client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), now, 0) for k, v in (metrics or {}).items()],
            tags=[RunTag(k, str(v)[:_MAX_TAG]) for k, v in (tags or {}).items()],
        )
        for folder, path in (artifacts or {}).items():
            if path.exists():
                self.client.log_artifact(run_id, str(path), artifact_path=folder or None)
        self.client.set_terminated(run_id, status=status, end_time=now)

    def abort(self, run_id: str, exc: BaseException, *, tag_error: bool = True) -> None:
        """Close a run that an exception interrupted: ``KILLED`` for Ctrl-C, else ``FAILED``, the
        error in ``mlops_nb.error``. Never raises (it runs while another error propagates)."""
        status = "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED"
        tags = {ERROR: f"{type(exc).__name__}: {exc}"} if tag_error else {}
        with contextlib.suppress(Exception):
            self.finish(run_id, status=status, tags=tags)

    def record_cached(
        self,
        experiment: str,
        *,
        name: str,
        notebook: str,
        parent_run_id: str | None,
        cached_from: str | None,
        params: Mapping[str, Any],
        when: float | None = None,
    ) -> str:
        """A finished step run that did no work: it says so and points at the producing run."""
        tags = {CACHED: "true", STEP: name}
        if cached_from:
            tags[CACHED_FROM] = cached_from
        run_id = self.start(
            experiment,
            name=name,
            kind="step",
            notebook=notebook,
            parent_run_id=parent_run_id,
            params=params,
            tags=tags,
            start_time=when,
        )
        self.client.set_terminated(
            run_id, status="FINISHED", end_time=int((when or time.time()) * 1000)
        )
        return run_id

    def child_metrics(self, run_id: str, experiment_id: str | None = None) -> dict[str, float]:
        """Latest metrics of the runs nested under ``run_id`` (e.g. its ``%%track`` cells)."""
        exp_ids = (
            [experiment_id] if experiment_id else [self.client.get_run(run_id).info.experiment_id]
        )
        children = self.client.search_runs(
            exp_ids, filter_string=f"tags.`{PARENT}` = '{run_id}'", max_results=1000
        )
        metrics: dict[str, float] = {}
        for child in sorted(children, key=lambda r: r.info.start_time or 0):
            metrics.update(child.data.metrics)
        return metrics
