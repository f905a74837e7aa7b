"""Terminal display of pipelines and sweeps (rich): a live table while steps run, then a summary.

Only the CLI imports this module. On a terminal the live table redraws in place; elsewhere (CI
logs, pipes) each event is one printed line.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

from mlops_nb.pipeline.names import CacheState, Event, Status

if TYPE_CHECKING:
    from mlops_nb.pipeline.api import StepStatus
    from mlops_nb.pipeline.notebook_run import NotebookRunResult
    from mlops_nb.pipeline.runner import PipelineEvent, PipelineResult
    from mlops_nb.pipeline.spec import Pipeline
    from mlops_nb.pipeline.sweep import SweepResult

PENDING = "PENDING"  # a row of the live table before its step's first event
STYLE = {
    Status.RUNNING: "yellow",
    Status.FINISHED: "green",
    Status.CACHED: "cyan",
    Status.FAILED: "bold red",
    Status.KILLED: "bold red",
    Status.SKIPPED: "dim",
    PENDING: "dim",
}
SYMBOL = {
    Status.RUNNING: "…",
    Status.FINISHED: "✓",
    Status.CACHED: "↺",
    Status.FAILED: "✗",
    Status.KILLED: "✗",
    Status.SKIPPED: "-",
}


def _short(run_id: str | None) -> str:
    return run_id[:12] if run_id else ""


class PipelineProgress:
    """Callable progress sink for :func:`~mlops_nb.pipeline.api.run_pipeline`."""

    def __init__(self, pipeline: Pipeline, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False)
        self.pipeline = pipeline
        self.rows: dict[str, dict[str, Any]] = {
            name: {"status": PENDING, "message": "", "started": None, "run_id": None}
            for name in pipeline.order
        }
        self.live: Any = None

    def __enter__(self) -> PipelineProgress:
        if self.console.is_terminal:
            from rich.live import Live

            self.live = Live(
                self._table(),
                console=self.console,
                refresh_per_second=4,
                transient=True,
                get_renderable=self._table,
            )
            self.live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.live is not None:
            self.live.__exit__(None, None, None)
            self.live = None

    def __call__(self, event: PipelineEvent) -> None:
        row = self.rows[event.step]
        row.update(status=event.status, message=event.message, run_id=event.run_id)
        if event.kind == Event.STARTED:
            row["started"] = time.monotonic()
        if self.live is None:
            style = STYLE.get(event.status, "")
            extra = f"  run {_short(event.run_id)}" if event.run_id else ""
            took = f" {event.duration:.1f}s" if event.duration is not None else ""
            self.console.print(
                f"[{style}]{SYMBOL.get(event.status, ' ')} {event.step:<16} "
                f"{event.kind}{took}[/]  {event.message}{extra}"
            )

    def _table(self) -> Table:
        table = Table(title=f"pipeline {self.pipeline.name}", expand=False)
        for col in ("step", "status", "time", "message"):
            table.add_column(col)
        for name, row in self.rows.items():
            took = ""
            if row["status"] == Status.RUNNING and row["started"] is not None:
                took = f"{time.monotonic() - row['started']:.0f}s"
            table.add_row(
                name,
                f"[{STYLE.get(row['status'], '')}]{row['status'].lower()}[/]",
                took,
                row["message"][:80],
            )
        return table


def summary(result: PipelineResult, console: Console) -> None:
    console.print(f"{result.pipeline}: {result.status.lower()} in {result.duration:.1f}s")
    table = Table()
    for col in ("step", "status", "time", "run", "detail"):
        table.add_column(col, overflow="fold")
    for step in result.steps.values():
        detail = step.message
        if step.status == Status.CACHED and step.cached_from:
            detail = f"cached (outputs from run {_short(step.cached_from)})"
        table.add_row(
            step.name,
            f"[{STYLE.get(step.status, '')}]{step.status.lower()}[/]",
            f"{step.duration:.1f}s" if step.duration else "",
            _short(step.run_id),
            detail,
        )
    console.print(table)
    if result.run_id:
        console.print(f"pipeline run {result.run_id} (experiment '{result.experiment}')")
    for step in result.failed_steps:
        console.print(f"[bold red]step '{step.name}' failed:[/] {step.message}")
    if result.failed_steps:
        first = result.failed_steps[0].name
        console.print(
            f"Fix it and run `mlops-nb pipeline run` again: steps that succeeded are cached, "
            f"so it resumes from '{first}'."
        )


def show(pipeline: Pipeline, statuses: Sequence[StepStatus], console: Console) -> None:
    from rich.tree import Tree

    tree = Tree(f"[bold]{pipeline.name}[/] ({pipeline.path})")
    children: dict[str, list[str]] = {n: [] for n in pipeline.order}
    for name in pipeline.order:
        for dep in pipeline.dependencies[name]:
            children[dep].append(name)
    state = {s.name: s.cache_state for s in statuses}

    def add(node: Any, name: str, seen: set[str]) -> None:
        branch = node.add(f"{name} [{_state_style(state[name])}]{state[name]}[/]")
        if name in seen:
            return
        for child in children[name]:
            add(branch, child, seen | {name})

    for name in pipeline.order:
        if not pipeline.dependencies[name]:
            add(tree, name, set())
    console.print(tree)
    table = Table()
    for col in ("step", "needs", "cache", "last", "last run", "why"):
        table.add_column(col, overflow="fold")
    for s in statuses:
        table.add_row(
            s.name,
            ", ".join(s.needs),
            f"[{_state_style(s.cache_state)}]{s.cache_state}[/]",
            (s.last_status or "").lower(),
            _short(s.last_run_id),
            s.reason,
        )
    console.print(table)


def _state_style(state: str) -> str:
    styles = {CacheState.CACHED: "cyan", CacheState.STALE: "yellow"}
    return {**styles, CacheState.MISSING_OUTPUTS: "red"}.get(state, "dim")


def sweep_table(result: SweepResult, console: Console) -> None:
    names: list[str] = []
    for trial in result.trials:
        for key in trial.parameters:
            if key not in names:
                names.append(key)
    metric_names: list[str] = [result.metric] if result.metric else []
    for trial in result.trials:
        for key in sorted(trial.metrics):
            if key not in metric_names:
                metric_names.append(key)
    metric_names = metric_names[:6]
    order = "descending" if result.maximize else "ascending"
    title = f"sweep of {len(result.trials)} runs in {result.duration:.1f}s"
    if result.metric:
        title += f", sorted by {result.metric} ({order})"
    console.print(title)
    table = Table()
    for col in ("", *names, *metric_names, "status", "run"):
        table.add_column(col)
    best = result.best
    for trial in result.trials:
        mark = "★" if best is not None and trial is best else ""
        values = [str(trial.parameters.get(n, "")) for n in names]
        metrics = [_fmt(trial.metrics.get(m)) for m in metric_names]
        table.add_row(
            mark,
            *values,
            *metrics,
            f"[{STYLE.get(trial.status, '')}]{trial.status.lower()}[/]",
            _short(trial.run_id),
        )
    console.print(table)
    console.print(f"sweep run {result.run_id} (experiment '{result.experiment}')")
    if result.metric and best is None:
        console.print(
            f"[yellow]no trial logged the metric '{result.metric}'[/] (log it in a "
            "%%track cell of the notebook)"
        )
    for trial in result.failed:
        console.print(f"[bold red]trial {trial.parameters} failed:[/] {trial.error}")


def trial_line(trial: NotebookRunResult, console: Console) -> None:
    style = STYLE.get(trial.status, "")
    console.print(
        f"[{style}]{SYMBOL.get(trial.status, ' ')}[/] {trial.parameters} "
        f"{trial.duration:.1f}s {_fmt_metrics(trial.metrics)}"
    )


def _fmt(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def _fmt_metrics(metrics: dict[str, float]) -> str:
    return " ".join(f"{k}={_fmt(v)}" for k, v in list(metrics.items())[:4])
