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

from mlops_nb.pipeline.names import Kind, Status, Tag
from mlops_nb.pipeline.params import as_param_string

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
        """Experiment by name, created (or restored) when missing (:mod:`mlops_nb.experiments`)."""
        if name not in self._experiments:
            from mlops_nb.experiments import get_or_create

            self._experiments[name] = get_or_create(self.client, name)
        return self._experiments[name]

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

        all_tags = {Tag.KIND: kind}
        if notebook:
            all_tags[Tag.NOTEBOOK] = notebook
        if parent_run_id:
            all_tags[Tag.PARENT] = parent_run_id
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
        status = Status.KILLED if isinstance(exc, KeyboardInterrupt) else Status.FAILED
        tags = {Tag.ERROR: f"{type(exc).__name__}: {exc}"} if tag_error else {}
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
        tags = {Tag.CACHED: "true", Tag.STEP: name}
        if cached_from:
            tags[Tag.CACHED_FROM] = cached_from
        run_id = self.start(
            experiment,
            name=name,
            kind=Kind.STEP,
            notebook=notebook,
            parent_run_id=parent_run_id,
            params=params,
            tags=tags,
            start_time=when,
        )
        self.client.set_terminated(
            run_id, status=Status.FINISHED, end_time=int((when or time.time()) * 1000)
        )
        return run_id

    def child_metrics(self, run_id: str, experiment_id: str | None = None) -> dict[str, float]:
        """Latest metrics of the runs nested under ``run_id`` (e.g. its ``%%track`` cells)."""
        exp_ids = (
            [experiment_id] if experiment_id else [self.client.get_run(run_id).info.experiment_id]
        )
        children = self.client.search_runs(
            exp_ids, filter_string=f"tags.`{Tag.PARENT}` = '{run_id}'", max_results=1000
        )
        metrics: dict[str, float] = {}
        for child in sorted(children, key=lambda r: r.info.start_time or 0):
            metrics.update(child.data.metrics)
        return metrics

    def children(self, run_id: str, experiment_id: str) -> list[Any]:
        """The runs nested under ``run_id``, oldest first."""
        found = self.client.search_runs(
            [experiment_id], filter_string=f"tags.`{Tag.PARENT}` = '{run_id}'", max_results=5000
        )
        return sorted(found, key=lambda r: r.info.start_time or 0)

    def find_or_start(
        self,
        experiment: str,
        *,
        tag: str,
        value: str,
        name: str,
        kind: str,
        tags: Mapping[str, str],
    ) -> str:
        """The run tagged ``tag=value`` in ``experiment``, started when there is none (the
        pipeline run of one orchestrator run, shared by the tasks of that run). The caller
        serialises concurrent callers on one machine (:func:`~.cache.state_lock`)."""
        exp_id = self.experiment_id(experiment)
        found = self.client.search_runs(
            [exp_id], filter_string=f"tags.`{tag}` = '{_quote(value)}'", max_results=1
        )
        if found:
            run_id: str = found[0].info.run_id
            if found[0].info.status != Status.RUNNING:
                self.client.update_run(run_id, status=Status.RUNNING)
            return run_id
        return self.start(experiment, name=name, kind=kind, tags={**tags, tag: value})

    def settle(self, run_id: str, experiment_id: str) -> str:
        """Set a parent run's status from the latest run of each of its steps: ``RUNNING``
        while one runs, else ``FAILED``/``KILLED`` if the latest attempt of a step ended so,
        else ``FINISHED``. Returns that status."""
        latest: dict[str, Any] = {}
        for child in self.children(run_id, experiment_id):
            latest[child.data.tags.get(Tag.STEP, child.info.run_name)] = child
        statuses = {c.info.status for c in latest.values()}
        status = next(
            (s for s in (Status.RUNNING, Status.KILLED, Status.FAILED) if s in statuses),
            Status.FINISHED,
        )
        if status == Status.RUNNING:
            self.client.update_run(run_id, status=status)
        else:
            self.client.set_terminated(run_id, status=status)
        return status

    def mark_killed(self, run_ids: list[str], reason: str) -> list[str]:
        """Close runs left ``RUNNING`` by a runner that died (``kill -9``, a lost machine):
        status ``KILLED``, the reason in ``mlops_nb.error``. Returns the runs it closed."""
        closed = []
        for run_id in run_ids:
            try:
                run = self.client.get_run(run_id)
            except Exception:  # deleted meanwhile, or another store: nothing to close
                continue
            if run.info.status != Status.RUNNING:
                continue
            self.client.set_tag(run_id, Tag.ERROR, reason[:_MAX_TAG])
            self.client.set_terminated(run_id, status=Status.KILLED)
            closed.append(run_id)
        return closed


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")
