""":func:`export`: the one entry point (the CLI's ``mlops-nb pipeline export`` calls it)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from mlops_nb.pipeline.errors import PipelineError
from mlops_nb.pipeline.spec import Pipeline

TARGETS = ("airflow", "kfp")
_CRON_FIELD = re.compile(r"^[\w*/,?#LW-]+$")
_PRESETS = (
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
)


@dataclass(frozen=True)
class Export:
    """What an export wrote, and what the target cannot express (one sentence each)."""

    target: str
    files: list[Path]
    notes: list[str] = field(default_factory=list)

    @property
    def main_file(self) -> Path:
        return self.files[0]


def export(
    pipeline: str | Path | Pipeline | None = None,
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
    """Write ``pipeline`` (a ``pipeline.yaml`` path, default ``./pipeline.yaml``) for ``to``.

    Parameters
    ----------
    to : ``"airflow"`` (a DAG file) or ``"kfp"`` (a KFP v2 pipeline: its IR YAML, the same
        pipeline in the KFP DSL, and the Dockerfile of the default image; no kfp SDK needed)
    out : folder for the files (created; an Airflow ``dags_folder`` for ``airflow``)
    schedule : a cron expression or Airflow preset (``@daily``); none = triggered by hand
    image : the container image every KFP step runs on (default: one built from the
        pipeline's folder by the written Dockerfile)
    retries : how many times the orchestrator retries a failed step
    command : how Airflow workers start mlops-nb (default ``mlops-nb`` on their PATH)
    tracking_uri : the MLflow store the tasks record to (default: this process's setting; a
        worker's own ``MLFLOW_TRACKING_URI`` wins)
    executor : the executor a ``pipeline run`` would use (``local``/``dask``), so the export can
        say what it cannot express

    Raises :class:`PipelineError` (exit code 2) for a bad target, schedule or pipeline.
    """
    from mlops_nb.config import get_settings
    from mlops_nb.pipeline import spec

    if to not in TARGETS:
        raise PipelineError(f"--to {to!r}: export to one of: {', '.join(TARGETS)}")
    if retries < 0:
        raise PipelineError(f"--retries must be 0 or more (got {retries})")
    if schedule is not None:
        check_schedule(schedule)
    loaded = pipeline if isinstance(pipeline, Pipeline) else spec.load(pipeline)
    folder = Path(out).resolve()
    if folder.exists() and not folder.is_dir():
        raise PipelineError(f"--out {out}: is a file; give a folder")
    folder.mkdir(parents=True, exist_ok=True)
    uri = tracking_uri or get_settings().tracking_uri
    notes = _executor_notes(to, executor)
    if to == "airflow":
        from mlops_nb.pipeline.orchestrators import airflow

        return airflow.write(
            loaded,
            folder,
            schedule=schedule,
            retries=retries,
            command=command,
            tracking_uri=uri,
            notes=notes,
        )
    from mlops_nb.pipeline.orchestrators import kfp

    return kfp.write(
        loaded,
        folder,
        image=image,
        retries=retries,
        schedule=schedule,
        tracking_uri=uri,
        notes=notes,
    )


def check_schedule(schedule: str) -> None:
    """A cron expression (5 fields) or a preset; anything else is refused here, not by the
    orchestrator after deployment."""
    if schedule in _PRESETS:
        return
    fields = schedule.split()
    if len(fields) == 5 and all(_CRON_FIELD.match(f) for f in fields):
        return
    raise PipelineError(
        f"--schedule {schedule!r} is not a cron expression (5 fields, e.g. '0 3 * * *') or one "
        f"of {', '.join(_PRESETS)}"
    )


def _executor_notes(to: str, executor: str | None) -> list[str]:
    chosen = executor or ("dask" if os.environ.get("DASK_SCHEDULER_ADDRESS") else None)
    if chosen == "dask":
        where = "Airflow's own workers" if to == "airflow" else "one KFP pod per step"
        return [
            f"the Dask executor is not expressed: the orchestrator schedules the steps, each on "
            f"{where}; a step's notebook runs there, not on the Dask cluster"
        ]
    return []
