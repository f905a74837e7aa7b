"""Runs of a pipeline that executed nothing, queued in the tracking outbox instead of logged live.

``import mlflow`` takes about a second, twice the budget of a fully cached ``pipeline run``. When no
step executes, the runner turns the pipeline run and its cached step runs into outbox records
(:func:`mlops_nb.tracking.recorder.plain_record`), the same durable queue ``%%track`` uses: the
step records name the pipeline record as their parent, and delivery is staged, resumable and
exactly-once. The library delivers them at once; the CLI hands them to a detached worker and
returns. Whatever a crash or a stopped tracking server leaves behind, ``mlops-nb sync`` delivers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.pipeline.names import Kind, Tag
from mlops_nb.pipeline.params import as_param_string


@dataclass(frozen=True)
class CachedStep:
    """A step whose outputs were reused, as its run records it."""

    name: str
    notebook: str
    params: Mapping[str, Any]
    cached_from: str | None
    at: float  # time.time()


def queue(
    *,
    tracking_uri: str,
    experiment: str,
    name: str,
    pipeline_file: Path,
    start: float,
    end: float,
    status: str,
    metrics: Mapping[str, float],
    steps: Sequence[CachedStep],
    record_id: str | None = None,
    tags: Mapping[str, str] | None = None,
) -> list[Path]:
    """Write the pipeline record, then one per cached step (in that order: the outbox delivers
    oldest first, so each parent exists before its children). Returns the record folders.

    ``record_id`` names the pipeline run: records (or live runs) with the same one resolve to
    the same run, which is how the tasks of one orchestrator run share their pipeline run."""
    from mlops_nb.tracking.outbox import Outbox
    from mlops_nb.tracking.recorder import plain_record

    outbox = Outbox(get_settings().spool_dir)
    parent = plain_record(
        tracking_uri=tracking_uri,
        experiment=experiment,
        run_name=name,
        start_time=start,
        end_time=end,
        status=status,
        metrics=dict(metrics),
        tags={Tag.KIND: Kind.PIPELINE, Tag.PIPELINE: str(pipeline_file), **(tags or {})},
    )
    if record_id:  # other tasks' records (or a live runner) name the same run
        parent["record_id"] = record_id
        parent["shared"] = True
    parent["context"]["cwd"] = str(pipeline_file.parent)  # git commit of the pipeline's folder
    folders = [outbox.put(parent, {})]
    for step in steps:
        tags = {
            Tag.KIND: Kind.STEP,
            Tag.NOTEBOOK: step.notebook,
            Tag.CACHED: "true",
            Tag.STEP: step.name,
        }
        if step.cached_from:
            tags[Tag.CACHED_FROM] = step.cached_from
        record = plain_record(
            tracking_uri=tracking_uri,
            experiment=experiment,
            run_name=step.name,
            start_time=step.at,
            end_time=step.at,
            params={k: as_param_string(v) for k, v in step.params.items()},
            tags=tags,
            parent_record_id=parent["record_id"],
        )
        folders.append(outbox.put(record, {}))
    return folders


def deliver_now(folders: Sequence[Path]) -> str | None:
    """Deliver the given records from this process; returns the first one's run (the pipeline
    run), or ``None`` when it could not be delivered now (it stays queued for ``mlops-nb sync``)."""
    from mlops_nb.tracking.delivery import process
    from mlops_nb.tracking.outbox import Outbox

    outbox = Outbox(get_settings().spool_dir)
    run_ids = [process(outbox, folder, wait=30.0).run_id for folder in folders]
    return run_ids[0] if run_ids else None


def deliver_later() -> None:
    """Hand what is queued to a detached delivery worker (the CLI returns without MLflow)."""
    from mlops_nb.tracking.outbox import Outbox
    from mlops_nb.tracking.worker import deliver_detached

    settings = get_settings()
    deliver_detached(Outbox(settings.spool_dir), settings.home)
