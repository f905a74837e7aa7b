"""CLI commands of this capability (registered by ``mlops_nb.cli``): productionize, serve."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

_MARK = {"start": "…", "done": "✓", "fail": "✗"}


def _printer(verbose: bool) -> Any:
    def show(event: Any) -> None:
        if event.status == "info":
            if verbose or event.step != "build":
                typer.echo(f"    {event.message}")
            return
        if event.status == "start":
            typer.echo(f"{_MARK['start']} {event.step}: {event.message}")
        else:
            color = typer.colors.GREEN if event.status == "done" else typer.colors.RED
            typer.secho(
                f"{_MARK[event.status]} {event.step}: {event.message} ({event.elapsed:.1f}s)",
                fg=color,
            )

    return show


def _summary(result: Any) -> None:
    typer.echo("")
    typer.secho(f"Service for `{result.model_var}` in {result.service_dir}", bold=True)
    typer.echo(f"  train.py     {result.train_py}")
    if result.features_py:
        typer.echo(f"  features.py  {result.features_py} (shared by train.py and the service)")
    kind = (
        "raw columns (features derived in the service)" if result.takes_raw_columns else "columns"
    )
    typer.echo(
        f"  the API expects {len(result.input_columns)} {kind}: {', '.join(result.input_columns)}"
    )
    if result.image:
        typer.echo(f"  image        {result.image}")
    for check in result.checks:
        mark = "✓" if check.passed else "✗"
        typer.echo(f"  {mark} {check.name}: {check.detail}")
    typer.echo("Next:")
    for command in result.next_commands:
        typer.echo(f"  {command}")


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the ``mlops-nb`` app."""

    @app.command()
    def productionize(
        notebook: Path | None = typer.Argument(None, help="The notebook that trains the model."),
        out: Path | None = typer.Option(
            None, "--out", help="Service directory (default ./<name>-service)."
        ),
        model_var: str | None = typer.Option(
            None, "--model-var", help="Variable holding the model."
        ),
        name: str | None = typer.Option(
            None, "--name", help="Service name (default: notebook name)."
        ),
        run_id: str | None = typer.Option(
            None, "--run", help="A tracked MLflow run instead of a notebook."
        ),
        model_uri: str | None = typer.Option(
            None, "--model", help="A registered model: models:/name@alias."
        ),
        build: bool = typer.Option(False, "--build", help="Build the Docker image."),
        tag: str | None = typer.Option(None, "--tag", help="Image tag (default <name>:latest)."),
        base_image: str | None = typer.Option(
            None, "--base-image", help="Base image (default python:3.X-slim)."
        ),
        wheelhouse: bool = typer.Option(
            False, "--wheelhouse", help="Hermetic build: wheels prepared on the host."
        ),
        smoke: bool = typer.Option(
            False, "--smoke", help="Start the image and check a real prediction."
        ),
        force: bool = typer.Option(False, "--force", help="Replace an existing service directory."),
        fidelity: bool = typer.Option(
            True, "--fidelity/--no-fidelity", help="Check train.py reproduces the model."
        ),
        engineered_input: bool = typer.Option(
            False,
            "--engineered-input",
            help="Serve the model's own input columns (clients compute the notebook's features).",
        ),
        seed: int | None = typer.Option(
            None,
            "--seed",
            help="Give unseeded estimators and splits random_state=N (notebook run and train.py).",
        ),
        verbose: bool = typer.Option(
            False, "--verbose", "-v", help="Show the docker build output."
        ),
    ) -> None:
        """Turn a notebook's model into train.py, a FastAPI service, and (with --build) an image."""
        from mlops_nb.productionize.api import productionize as run

        result = run(
            notebook,
            out=out,
            model_var=model_var,
            name=name,
            run_id=run_id,
            model_uri=model_uri,
            build=build,
            tag=tag,
            base_image=base_image,
            wheelhouse=wheelhouse,
            smoke=smoke,
            force=force,
            fidelity=fidelity,
            engineered_input=engineered_input,
            seed=seed,
            progress=_printer(verbose),
        )
        _summary(result)
        if not result.ok:
            raise typer.Exit(1)

    @app.command()
    def serve(
        directory: Path = typer.Argument(..., help="A service directory made by productionize."),
        port: int = typer.Option(8080, "--port", help="Port on 127.0.0.1."),
        host: str = typer.Option("127.0.0.1", "--host", help="Interface to listen on."),
        workers: int = typer.Option(1, "--workers", help="uvicorn worker processes."),
    ) -> None:
        """Run a service directory locally with uvicorn (no Docker needed)."""
        from mlops_nb.productionize.serve import serve as run

        raise typer.Exit(run(directory, port=port, host=host, workers=workers))
