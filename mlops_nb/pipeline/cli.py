"""``mlops-nb run``, ``pipeline run|show|export|schema`` and ``sweep`` (thin: parse, call
:mod:`mlops_nb.pipeline.api`, print, map the outcome to an exit code).

Import-light on purpose: a fully cached ``pipeline run`` must finish in well under a second, CLI
start included, so papermill, MLflow, Dask and even the runner load inside the commands.
Exit codes: 0 success, 1 a notebook or step failed, 2 invalid pipeline, notebook or arguments.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mlops_nb._typer_light import LightCommand, LightGroup

PARAM_HELP = "Parameter NAME VALUE (typed: 3 is an int, 0.5 a float, true a bool). Repeatable."


def _console() -> Any:
    from rich.console import Console

    console = Console(highlight=False)
    if not console.is_terminal:  # logs and pipes: wide enough that tables do not wrap
        console = Console(highlight=False, width=max(console.width, 120))
    return console


def _usage_error(exc: Exception) -> Exception:
    from mlops_nb.pipeline.errors import PipelineError

    return PipelineError(str(exc))


def run_command(
    notebook: Path = typer.Argument(..., help="The notebook to execute."),
    param: list[str] = typer.Option([], "-p", "--parameter", help=PARAM_HELP),
    param_file: list[Path] = typer.Option(
        [], "-f", "--parameters-file", help="YAML file of parameters."
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for the executed notebook (default: NOTEBOOK's folder/out)."
    ),
    experiment: str | None = typer.Option(
        None, "--experiment", help="MLflow experiment (default: the notebook's name)."
    ),
    kernel: str | None = typer.Option(
        None, "--kernel", help="Kernel name (default: the notebook's)."
    ),
) -> None:
    """Execute a notebook with papermill as one MLflow run (parameters, executed notebook, HTML)."""
    from mlops_nb.exceptions import NotebookError
    from mlops_nb.pipeline import params
    from mlops_nb.pipeline.api import run_notebook

    values = params.merge(param_file, param)  # pairs: LightCommand
    try:
        result = run_notebook(notebook, values, out=out, experiment=experiment, kernel=kernel)
    except NotebookError as exc:
        raise _usage_error(exc) from None
    console = _console()
    console.print(f"executed notebook: {result.output_path}")
    if result.html_path:
        console.print(f"html: {result.html_path}")
    console.print(f"run {result.run_id}: {result.status.lower()} in {result.duration:.1f}s")
    result.raise_for_status()


def pipeline_run(
    file: Path | None = typer.Argument(None, help="pipeline.yaml (default: ./pipeline.yaml)."),
    only: str | None = typer.Option(None, "--only", help="Run just this step."),
    from_step: str | None = typer.Option(
        None, "--from", help="Rerun this step and everything after it."
    ),
    force: bool = typer.Option(False, "--force", help="Ignore the cache."),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask."),
    scheduler: str | None = typer.Option(
        None,
        "--scheduler",
        help="Dask scheduler address (tcp://host:8786); default DASK_SCHEDULER_ADDRESS, "
        "else a local cluster.",
    ),
    jobs: int | None = typer.Option(None, "-j", "--jobs", help="Steps at once."),
    experiment: str | None = typer.Option(
        None, "--experiment", help="MLflow experiment (default: the pipeline's name)."
    ),
    orchestrator_run: str | None = typer.Option(
        None,
        "--orchestrator-run",
        help="Record under the pipeline run of this orchestrator run (an Airflow DAG run; set "
        "by exported DAGs).",
    ),
) -> None:
    """Run the pipeline: dependency order, parallel where possible, unchanged steps cached."""
    from mlops_nb.pipeline import progress, runner, spec
    from mlops_nb.pipeline.errors import PipelineFailed

    pipeline = spec.load(file)
    console = _console()
    with progress.PipelineProgress(pipeline, console) as display:
        result = runner.run(
            pipeline,
            only=only,
            from_step=from_step,
            force=force,
            executor=executor,
            scheduler=scheduler,
            jobs=jobs,
            progress=display,
            experiment=experiment,
            tracking="background",
            orchestrator_run=orchestrator_run,
        )
    progress.summary(result, console)
    if not result.ok:
        failed = result.failed_steps[0]
        raise PipelineFailed(
            f"step '{failed.name}' failed: {failed.message}", result=result, failed_step=failed.name
        )


def pipeline_show(
    file: Path | None = typer.Argument(None, help="pipeline.yaml (default: ./pipeline.yaml)."),
) -> None:
    """Print the DAG and each step's cache state (cached, stale, missing-outputs, never-run)."""
    from mlops_nb.pipeline import progress, spec
    from mlops_nb.pipeline.api import pipeline_status

    pipeline = spec.load(file)
    progress.show(pipeline, pipeline_status(pipeline.path), _console())


def pipeline_export(
    file: Path | None = typer.Argument(None, help="pipeline.yaml (default: ./pipeline.yaml)."),
    to: str = typer.Option(..., "--to", help="airflow (an Airflow 3 DAG file) or kfp (KFP v2)."),
    out: Path = typer.Option(..., "--out", help="Folder for the exported files."),
    schedule: str | None = typer.Option(
        None, "--schedule", help="Cron expression or preset (@daily); default: triggered by hand."
    ),
    image: str | None = typer.Option(
        None, "--image", help="KFP: the image of every step (default: one built by the Dockerfile)."
    ),
    retries: int | None = typer.Option(None, "--retries", help="Retries of a failed step (1)."),
    command: str = typer.Option(
        "mlops-nb", "--command", help="Airflow: how workers start mlops-nb (default: on PATH)."
    ),
    executor: str | None = typer.Option(
        None, "--executor", help="The executor `pipeline run` would use (to say what is lost)."
    ),
) -> None:
    """Write the pipeline for Airflow or Kubeflow Pipelines (schedules live there)."""
    from mlops_nb.pipeline.orchestrators import export

    result = export(
        file,
        to=to,
        out=out,
        schedule=schedule,
        image=image,
        retries=1 if retries is None else retries,
        command=command,
        executor=executor,
    )
    console = _console()
    for path in result.files:
        console.print(f"wrote {path}")
    for note in result.notes:
        console.print(
            f"[yellow]not expressed:[/] {note}" if note.startswith("the Dask") else f"note: {note}"
        )
    if result.target == "airflow":
        console.print(
            f"Copy {result.main_file.name} into Airflow's dags_folder; try it with "
            f"`airflow dags test {result.main_file.stem}`."
        )
    else:
        console.print(
            f"Submit {result.main_file.name} with "
            "kfp.Client(host=...).create_run_from_pipeline_package(...)."
        )


def pipeline_schema() -> None:
    """Print the JSON Schema of pipeline.yaml (for editors: yaml-language-server, VS Code)."""
    import json

    from mlops_nb.pipeline.schema import json_schema

    typer.echo(json.dumps(json_schema(), indent=2))


def sweep_command(
    notebook: Path = typer.Argument(..., help="The notebook to run once per combination."),
    param: list[str] = typer.Option(
        [], "-p", "--parameter", help="Axis NAME V1,V2,... Repeatable."
    ),
    param_file: list[Path] = typer.Option(
        [], "-f", "--parameters-file", help="YAML file of fixed parameters."
    ),
    metric: str | None = typer.Option(
        None, "--metric", help="Sort by this metric (logged by %%track cells)."
    ),
    maximize: bool = typer.Option(False, "--maximize/--minimize", help="Higher metric is better."),
    executor: str = typer.Option("local", "--executor", help="local (process pool) or dask."),
    scheduler: str | None = typer.Option(None, "--scheduler", help="Dask scheduler address."),
    jobs: int | None = typer.Option(None, "-j", "--jobs", help="Trials at once."),
    experiment: str | None = typer.Option(None, "--experiment", help="MLflow experiment."),
    kernel: str | None = typer.Option(None, "--kernel", help="Kernel name."),
    out: Path | None = typer.Option(None, "--out", help="Folder for executed notebooks."),
) -> None:
    """Run a parameter grid, each combination a child run; print the runs sorted by --metric."""
    from mlops_nb.exceptions import NotebookError
    from mlops_nb.pipeline import params, progress
    from mlops_nb.pipeline.api import sweep

    console = _console()
    try:
        result = sweep(
            notebook,
            params.parse_grid(param),  # pairs: LightCommand
            metric=metric,
            maximize=maximize,
            fixed=params.merge(param_file),
            executor=executor,
            scheduler=scheduler,
            jobs=jobs,
            experiment=experiment,
            kernel=kernel,
            out=out,
            progress=lambda trial: progress.trial_line(trial, console),
        )
    except NotebookError as exc:
        raise _usage_error(exc) from None
    progress.sweep_table(result, console)
    if result.failed:
        from mlops_nb.exceptions import ExecutionError

        raise ExecutionError(f"{len(result.failed)} of {len(result.trials)} sweep runs failed")


def register(app: typer.Typer) -> None:
    """Add ``run``, ``pipeline run|show|export|schema`` and ``sweep`` to the ``mlops-nb`` app."""
    app.command("run", cls=LightCommand)(run_command)
    pipeline_app = typer.Typer(
        cls=LightGroup,
        help="Notebook pipelines: pipeline.yaml DAGs with caching.",
        no_args_is_help=True,
    )
    pipeline_app.command("run", cls=LightCommand)(pipeline_run)
    pipeline_app.command("show", cls=LightCommand)(pipeline_show)
    pipeline_app.command("export", cls=LightCommand)(pipeline_export)
    pipeline_app.command("schema", cls=LightCommand)(pipeline_schema)
    app.add_typer(pipeline_app, name="pipeline")
    app.command("sweep", cls=LightCommand)(sweep_command)
