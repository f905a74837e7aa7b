"""``mlops-nb drift``: the summary in a terminal, for cron jobs and CI gates.

Exit codes: 0 no dataset drift (or drift without ``--fail-on-drift``); 1 dataset drift with
``--fail-on-drift``; 2 bad usage or bad input (unreadable files, mismatched columns, unreachable
service).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer


def register(app: typer.Typer) -> None:
    """Add this capability's commands to the ``mlops-nb`` app."""
    app.command("drift")(drift_command)


def drift_command(
    reference: Path | None = typer.Argument(None, help="Reference data (.csv or .parquet)."),
    current: Path | None = typer.Argument(None, help="Current data (.csv or .parquet)."),
    service: str | None = typer.Option(
        None, "--service", help="A service made by `mlops-nb productionize` (its live traffic)."
    ),
    api_key: str | None = typer.Option(
        None, "--api-key", envvar="MLOPS_NB_SERVICE_API_KEY", help="The service's API key."
    ),
    fail_on_drift: bool = typer.Option(
        False, "--fail-on-drift", help="Exit with 1 when dataset drift is detected."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    html: Path | None = typer.Option(None, "--html", help="Also write the full Evidently report."),
    columns: str | None = typer.Option(None, "--columns", help="Comma-separated columns."),
    target: str | None = typer.Option(None, "--target", help="The target (label) column."),
    prediction: str | None = typer.Option(None, "--prediction", help="The prediction column."),
    sample: int | None = typer.Option(None, "--sample", help="Row cap per side (default 100000)."),
) -> None:
    """Compare two data files, or a running service's traffic with its reference."""
    from mlops_nb.exceptions import ConfigError
    from mlops_nb.monitoring.api import drift

    if service and (reference or current):
        raise ConfigError("give either --service URL or REF and CUR files, not both")
    if not service and not (reference and current):
        raise ConfigError("give REF and CUR files (.csv/.parquet), or --service URL")
    result = drift(
        reference,
        current,
        service=service,
        api_key=api_key,
        columns=[c.strip() for c in columns.split(",") if c.strip()] if columns else None,
        target=target,
        prediction=prediction,
        sample=sample,
        log_to=False,
    )
    if html is not None:
        result.save(html)
    summary = result.summary
    typer.echo(json.dumps(summary, indent=2) if as_json else format_summary(summary))
    if html is not None and not as_json:
        typer.echo(f"full report: {html}")
    if fail_on_drift and result.dataset_drift:
        raise typer.Exit(1)


def format_summary(summary: dict[str, Any]) -> str:
    """The summary as a short plain-text table."""
    verdict = "DRIFT" if summary["dataset_drift"] else "no drift"
    lines = [
        f"dataset: {verdict} - {summary['n_drifted']} of {summary['n_columns']} columns drifted "
        f"(share {summary['drift_share']:.2f}, threshold {summary['share_threshold']})",
    ]
    cols = summary["columns"]
    width = max([len("column"), *(len(n) for n in cols)])
    lines.append(f"{'column':<{width}}  type  {'test':<13}  {'score':>10}  threshold  drifted")
    for name, c in cols.items():
        lines.append(
            f"{name:<{width}}  {c['type']:<4}  {c['stattest']:<13}  {c['score']:>10.4g}  "
            f"{c['threshold']:>9.3g}  {'yes' if c['drifted'] else 'no'}"
        )
    note = summary.get("sampling_note")
    if note:
        lines.append(note)
    for side in ("reference", "current"):
        s = (summary.get("sampling") or {}).get(side)
        if s and s.get("sampled"):
            lines.append(
                f"{side}: uniform random sample of {s['used']:,} of {s['rows']:,} rows "
                f"(seed {s['seed']})"
            )
    return "\n".join(lines)
