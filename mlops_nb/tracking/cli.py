"""``mlops-nb sync``, ``mlops-nb outbox`` and ``mlops-nb ui`` (registered by ``mlops_nb.cli``).

They never print a traceback: a spool that cannot be read or written is one line and exit 1.
"""

from __future__ import annotations

import typer


def _spool_error(exc: OSError) -> typer.Exit:
    from mlops_nb.config import get_settings
    from mlops_nb.tracking.diskio import disk_problem

    spool = get_settings().spool_dir
    why = disk_problem(exc) or f"{type(exc).__name__}: {exc}"
    typer.echo(f"error: cannot use the outbox {spool}: {why}", err=True)
    return typer.Exit(1)


def sync_command(
    wait: float = typer.Option(30.0, help="Seconds to wait for a record a kernel is delivering."),
    retry_failed: bool = typer.Option(
        False, "--retry-failed", help="Put runs set aside in failed/ back in the queue first."
    ),
) -> None:
    """Deliver the runs queued in the outbox (after the tracking server was down)."""
    from mlops_nb.tracking.api import sync
    from mlops_nb.tracking.status import summary

    try:
        report = sync(wait=wait, retry_failed=retry_failed)
    except OSError as exc:
        raise _spool_error(exc) from None
    for outcome in report.delivered:
        name = outcome.record.get("run_name") or outcome.folder.name
        if outcome.run_id:
            typer.echo(f"delivered {name!r} -> run {outcome.run_id}")
        elif outcome.elsewhere:
            typer.echo(f"delivered {name!r} (by a background delivery, while this sync waited)")
    for outcome in report.left:
        typer.echo(f"still queued: {outcome.folder.name} ({outcome.error or outcome.status.value})")
    for outcome in report.failed:
        typer.echo(f"set aside: {outcome.folder.name}: {outcome.error}", err=True)
    typer.echo(summary(report))
    if report.counts.failed:
        from mlops_nb.config import get_settings

        typer.echo(
            f"{report.counts.failed} run(s) in {get_settings().spool_dir / 'failed'} cannot be "
            "delivered: "
            "`mlops-nb outbox` says why; `mlops-nb sync --retry-failed` tries them again",
            err=True,
        )
    if not report.ok:
        raise typer.Exit(1)


def outbox_command() -> None:
    """List the runs waiting in the outbox, and those set aside as undeliverable."""
    from mlops_nb.config import get_settings
    from mlops_nb.tracking.outbox import Outbox
    from mlops_nb.tracking.status import describe

    outbox = Outbox(get_settings().spool_dir)
    try:
        pending, failed = outbox.pending(), outbox.failed()
    except OSError as exc:
        raise _spool_error(exc) from None
    typer.echo(f"outbox {outbox.root}: {len(pending)} queued, {len(failed)} failed")
    for folder in pending:
        typer.echo(f"  queued  {describe(folder)}")
    for folder in failed:
        typer.echo(f"  failed  {describe(folder)}")


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
    command = [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", settings.tracking_uri]
    typer.echo(f"MLflow UI for {settings.tracking_uri} on http://{host}:{port}")
    os.execv(sys.executable, [*command, "--host", host, "--port", str(port)])


def register(app: typer.Typer) -> None:
    """Add the tracking commands to the ``mlops-nb`` app."""
    app.command("sync")(sync_command)
    app.command("outbox")(outbox_command)
    app.command("ui")(ui_command)
