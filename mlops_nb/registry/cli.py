"""``mlops-nb promote`` and ``mlops-nb models list|show|history|card``: parse, call the library,
print. Exit codes: 0 promoted (or forced), 1 a gate failed (the alias did not move), 2 bad usage
or an unusable registry."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    """Add ``promote`` and the ``models`` group to the ``mlops-nb`` app."""
    app.command("promote")(promote_command)
    models_app = typer.Typer(
        help="Registered models: versions, aliases, history, cards.", no_args_is_help=True
    )
    models_app.command("list")(models_list)
    models_app.command("show")(models_show)
    models_app.command("history")(models_history)
    models_app.command("card")(models_card)
    app.add_typer(models_app, name="models")


def promote_command(
    source: str = typer.Argument(..., help="A run id, runs:/RUN/MODEL or models:/NAME/VERSION."),
    name: str | None = typer.Option(None, "--name", "-n", help="The registered model."),
    alias: str = typer.Option("champion", "--alias", help="The alias to move."),
    require: list[str] = typer.Option(
        [], "--require", help="A threshold on a logged metric, e.g. 'accuracy>=0.9' (repeatable)."
    ),
    eval_data: Path | None = typer.Option(
        None, "--eval-data", help="Held-out data (.csv/.parquet)."
    ),
    target: str | None = typer.Option(None, "--target", help="The label column of the data."),
    no_regression: bool = typer.Option(
        False, "--no-regression", help="Candidate must score at least as well as the alias holder."
    ),
    metric: str | None = typer.Option(None, "--metric", help="The metric to compare on."),
    tolerance: float = typer.Option(0.0, "--tolerance", help="Allowed regression of the metric."),
    max_drift_share: float | None = typer.Option(
        None, "--max-drift-share", help="Most columns (share) allowed to drift."
    ),
    reference: Path | None = typer.Option(
        None, "--reference", help="The candidate's training data."
    ),
    current: Path | None = typer.Option(None, "--current", help="Current data (.csv/.parquet)."),
    service: str | None = typer.Option(None, "--service", help="A running productionized service."),
    service_dir: Path | None = typer.Option(None, "--service-dir", help="A service directory."),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="MLOPS_NB_SERVICE_API_KEY", help="The service's API key."
    ),
    force: bool = typer.Option(False, "--force", help="Move the alias even if a gate fails."),
    reason: str | None = typer.Option(None, "--reason", help="Why (required with --force)."),
    intended_use: str | None = typer.Option(None, "--intended-use", help="Card: intended use."),
    limitations: str | None = typer.Option(None, "--limitations", help="Card: limitations."),
    as_json: bool = typer.Option(False, "--json", help="Print the decision as JSON."),
) -> None:
    """Register a run's model and move the alias to it when every gate passes."""
    import os

    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # a terminal's output
    from mlops_nb.registry.api import PromotionEvent, promote

    def show(event: PromotionEvent) -> None:
        if not as_json and event.status == "started":
            typer.echo(f"… {event.message}", err=True)

    result = promote(
        source,
        name,
        alias=alias,
        require=require,
        eval_data=eval_data,
        target=target,
        no_regression=no_regression,
        metric=metric,
        tolerance=tolerance,
        max_drift_share=max_drift_share,
        reference=reference,
        current=current,
        service=service,
        service_dir=service_dir,
        api_key=api_key,
        force=force,
        reason=reason,
        intended_use=intended_use,
        limitations=limitations,
        progress=show,
    )
    typer.echo(json.dumps(result.as_dict(), indent=2) if as_json else result.text())
    from mlops_nb import _exit

    _exit.allow()  # the decision and the card are stored: no interpreter teardown to wait for
    if result.exit_code:
        raise typer.Exit(result.exit_code)


def _when(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M")


def models_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Registered models and their aliases."""
    from mlops_nb.registry.api import client_for
    from mlops_nb.registry.query import list_models

    client = client_for()
    models = list_models(client)
    if as_json:
        typer.echo(json.dumps([m.as_dict() for m in models], indent=2))
        return
    if not models:
        typer.echo(f"no registered models in {client.tracking_uri}; mlops-nb promote RUN --name N")
        return
    width = max(len("name"), *(len(m.name) for m in models))
    typer.echo(f"{'name':<{width}}  latest  updated           aliases")
    for m in models:
        aliases = ", ".join(f"@{a}={v}" for a, v in sorted(m.aliases.items())) or "-"
        typer.echo(
            f"{m.name:<{width}}  {m.latest_version or '-':>6}  {_when(m.updated)}  {aliases}"
        )


def models_show(
    name: str = typer.Argument(..., help="The registered model."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The versions of a model: aliases, source run, last gate decision."""
    from mlops_nb.registry.api import client_for
    from mlops_nb.registry.query import versions

    found = versions(client_for(), name)
    if as_json:
        typer.echo(json.dumps([v.as_dict() for v in found], indent=2))
        return
    typer.echo(f"{name}: {len(found)} version(s)")
    typer.echo("version  created           aliases         gates     run")
    for v in found:
        gates = {None: "-", True: "passed", False: "failed"}[v.gates_passed]
        aliases = ", ".join(f"@{a}" for a in v.aliases) or "-"
        typer.echo(
            f"{v.version:>7}  {_when(v.created)}  {aliases:<14}  {gates:<8}  {v.run_id or '-'}"
        )


def models_history(
    name: str = typer.Argument(..., help="The registered model."),
    attempts: bool = typer.Option(False, "--all", help="Also promotions that were refused."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The alias history recorded by mlops-nb promote, oldest first."""
    from mlops_nb.registry.api import client_for
    from mlops_nb.registry.query import history

    entries = history(client_for(), name, attempts=attempts)
    if as_json:
        typer.echo(json.dumps([e.as_dict() for e in entries], indent=2))
        return
    if not entries:
        typer.echo(f"{name}: no alias moves recorded by mlops-nb promote")
        return
    for e in entries:
        frm = f"v{e.from_version}" if e.from_version else "none"
        if e.moved:
            how = f"FORCED ({e.reason})" if e.forced else "gates passed"
            line = f"{e.at[:19]}  @{e.alias}: {frm} -> v{e.to_version}  {how}  by {e.by}"
        else:
            line = (
                f"{e.at[:19]}  @{e.alias}: v{e.to_version} refused "
                f"({', '.join(e.failed_gates)} failed), stayed on {frm}  by {e.by}"
            )
        typer.echo(line)


def models_card(
    ref: str = typer.Argument(..., help="NAME@ALIAS, NAME/VERSION or NAME (latest)."),
    html: bool = typer.Option(False, "--html", help="Print the HTML card."),
) -> None:
    """Print a version's model card (Markdown, or HTML)."""
    from mlops_nb.registry.api import client_for
    from mlops_nb.registry.query import card

    found = card(client_for(), ref)
    typer.echo(found.html if html else found.markdown)
