"""``mlops-nb sync``, ``mlops-nb outbox`` and ``mlops-nb ui`` (registered by ``mlops_nb.cli``)."""

from __future__ import annotations

import typer


def sync_command(
    wait: float = typer.Option(30.0, help="Seconds to wait for a record a kernel is delivering."),
) -> None:
    """Deliver the runs queued in the outbox (after the tracking server was down)."""
    from mlops_nb.tracking.api import sync

    report = sync(wait=wait)
    for outcome in report.delivered:
        if outcome.run_id:
            typer.echo(f"delivered {outcome.record.get('run_name')!r} -> run {outcome.run_id}")
    for outcome in report.queued:
        typer.echo(f"still queued: {outcome.folder.name} ({outcome.error or outcome.status})")
    for outcome in report.failed:
        typer.echo(f"failed: {outcome.folder.name}: {outcome.error}", err=True)
    typer.echo(
        f"{len(report.delivered)} delivered, {len(report.queued)} queued, "
        f"{len(report.failed)} failed"
    )
    if not report.ok:
        raise typer.Exit(1)


def outbox_command() -> None:
    """List the runs waiting in the outbox, and those that failed repeatedly."""
    import json

    from mlops_nb.config import get_settings
    from mlops_nb.tracking.outbox import DeliveryState, Outbox

    outbox = Outbox(get_settings().spool_dir)
    pending = outbox.pending()
    typer.echo(f"outbox {outbox.root}: {len(pending)} queued, {len(outbox.failed())} failed")
    for folder in pending + outbox.failed():
        record = json.loads((folder / "record.json").read_text())
        state = DeliveryState.load(folder)
        typer.echo(
            f"  {folder.name}  {record.get('run_name')!r} -> {record['tracking_uri']}"
            f"  attempts={state.attempts} {state.last_error or ''}"
        )


def ui_command(
    port: int = typer.Option(5000, help="Port of the MLflow UI."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
) -> None:
    """Start the MLflow UI on the current tracking store (what run cards link to)."""
    import os
    import sys

    from mlops_nb.config import get_settings

    settings = get_settings()
    if settings.is_remote:
        typer.echo(f"the tracking store is a server already: open {settings.tracking_uri}")
        return
    typer.echo(f"MLflow UI for {settings.tracking_uri} on http://{host}:{port}")
    os.execv(
        sys.executable,
        [
            sys.executable,
            "-m",
            "mlflow",
            "ui",
            "--backend-store-uri",
            settings.tracking_uri,
            "--host",
            host,
            "--port",
            str(port),
        ],
    )


def register(app: typer.Typer) -> None:
    """Add the tracking commands to the ``mlops-nb`` app."""
    app.command("sync")(sync_command)
    app.command("outbox")(outbox_command)
    app.command("ui")(ui_command)
