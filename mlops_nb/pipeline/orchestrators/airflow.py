"""A pipeline as one Airflow 3 DAG file.

Each task is a ``BashOperator`` running ``mlops-nb pipeline run PIPELINE --only STEP
--orchestrator-run DAG:RUN`` on the worker: the step runs exactly as it does from a terminal
(papermill with its parameters, the content-hash cache honoured, the executed notebook kept in
``out/`` and logged to MLflow), and the tasks of one DAG run share one MLflow pipeline run. So
Airflow needs nothing of mlops-nb's (its own environment and pins stay apart) and the DAG file
imports only Airflow: parsing it does no work.
"""

from __future__ import annotations

import datetime as dt
import shlex
from collections.abc import Mapping
from pathlib import Path

from mlops_nb._version import __version__
from mlops_nb.pipeline.orchestrators.api import Export
from mlops_nb.pipeline.spec import Pipeline

TEMPLATE = '''"""Airflow DAG of the mlops-nb pipeline {name!r} ({path}).

Written by `mlops-nb pipeline export --to airflow` (mlops-nb {version}); export again after
changing pipeline.yaml rather than editing this file. Each task runs one step as
`mlops-nb pipeline run PIPELINE --only STEP` does: unchanged steps are skipped by their content
hash, executed notebooks are kept in out/ and logged to MLflow, and the tasks of one DAG run are
the child runs of one pipeline run there. The pipeline's folder must be at the same path on the
Airflow workers, and `mlops-nb` installed where they run it.
"""

from __future__ import annotations

import datetime

from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG

PIPELINE = {pipeline!r}
FOLDER = {folder!r}
# step -> the steps it waits for (pipeline.yaml's `needs` and the producers of its inputs)
STEPS = {steps}
# step -> its task's shell command; the DAG run's id names the MLflow pipeline run of its tasks,
# and a worker's own MLFLOW_TRACKING_URI wins over the store the export was made with
COMMANDS = {commands}


with DAG(
    dag_id={dag_id!r},
    description={description!r},
    schedule={schedule!r},
    start_date=datetime.datetime(
        {start.year}, {start.month}, {start.day}, tzinfo=datetime.timezone.utc
    ),
    catchup=False,
    max_active_runs=1,  # one run of a pipeline at a time: its cache state has one writer
    default_args={{
        "retries": {retries},
        "retry_delay": datetime.timedelta(minutes=1),
        "retry_exponential_backoff": True,
    }},
    tags=["mlops-nb"],
    doc_md=__doc__,
) as dag:
    tasks = {{
        step: BashOperator(
            task_id=step,
            bash_command=COMMANDS[step],
            cwd=FOLDER,
            append_env=True,
        )
        for step in STEPS
    }}
    for step, upstream in STEPS.items():
        for name in upstream:
            tasks[name] >> tasks[step]
'''


def dag_id(pipeline: Pipeline) -> str:
    """``mlops_nb__<name>``: letters, digits, ``_``, ``-`` and ``.`` only (Airflow's rule)."""
    safe = "".join(c if c.isalnum() or c in "_.-" else "_" for c in pipeline.name)
    return f"mlops_nb__{safe}"


def render(
    pipeline: Pipeline,
    *,
    schedule: str | None,
    retries: int,
    command: str,
    tracking_uri: str,
    today: dt.date | None = None,
) -> str:
    """The DAG file's text (pure: no file system)."""
    steps = {name: list(pipeline.dependencies[name]) for name in pipeline.order}
    commands = {name: step_command(pipeline, name, command, tracking_uri) for name in steps}
    start = today or dt.datetime.now(dt.timezone.utc).date()
    return TEMPLATE.format(
        name=pipeline.name,
        path=pipeline.path,
        version=__version__,
        pipeline=str(pipeline.path),
        folder=str(pipeline.root),
        steps=_dict_literal(steps),
        commands=_dict_literal(commands),
        dag_id=dag_id(pipeline),
        description=f"mlops-nb pipeline {pipeline.name}: {' -> '.join(pipeline.order)}"[:200],
        schedule=schedule,
        start=start,
        retries=retries,
    )


def step_command(pipeline: Pipeline, step: str, command: str, tracking_uri: str) -> str:
    """``mlops-nb pipeline run PIPELINE --only STEP --orchestrator-run DAG:RUN`` for bash
    (``{{ dag.dag_id }}`` and ``{{ run_id }}`` are rendered by Airflow's Jinja)."""
    uri = "".join("\\" + c if c in '"$`\\' else c for c in tracking_uri)
    return (
        f'MLFLOW_TRACKING_URI="${{MLFLOW_TRACKING_URI:-{uri}}}" '
        f"{command} pipeline run {shlex.quote(str(pipeline.path))} --only {shlex.quote(step)} "
        "--orchestrator-run '{{ dag.dag_id }}:{{ run_id }}'"
    )


def _dict_literal(mapping: Mapping[str, object]) -> str:
    return "{\n" + "".join(f"    {k!r}: {v!r},\n" for k, v in mapping.items()) + "}"


def write(
    pipeline: Pipeline,
    folder: Path,
    *,
    schedule: str | None,
    retries: int,
    command: str,
    tracking_uri: str,
    notes: list[str],
) -> Export:
    text = render(
        pipeline, schedule=schedule, retries=retries, command=command, tracking_uri=tracking_uri
    )
    compile(text, "dag", "exec")  # a template bug must fail here, not in Airflow's DagBag
    target = folder / f"{dag_id(pipeline)}.py"
    target.write_text(text, encoding="utf-8")
    return Export("airflow", [target], [*notes, *_notes(pipeline, tracking_uri)])


def _notes(pipeline: Pipeline, tracking_uri: str) -> list[str]:
    notes = [
        f"paths are absolute: the pipeline's folder ({pipeline.root}) must be at the same path "
        "on every Airflow worker (a shared filesystem), as for a Dask cluster",
    ]
    if tracking_uri.startswith(("sqlite:", "file:")) or "://" not in tracking_uri:
        notes.append(
            f"the tracking store {tracking_uri} is a local file: Airflow workers on other "
            "machines need a tracking server (set MLFLOW_TRACKING_URI on them)"
        )
    return notes
