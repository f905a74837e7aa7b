"""The words ``mlops-nb sync``, ``mlops-nb outbox`` and ``%mlops status``/``sync`` share, so the
three always agree: every count comes from :meth:`Outbox.counts` at the moment it is printed."""

from __future__ import annotations

import json
from pathlib import Path

from mlops_nb.tracking.outbox import RECORD, DeliveryState, Outbox


def summary(report: object) -> str:
    """``3 delivered, 0 queued, 1 failed`` (queued and failed: what the outbox holds now)."""
    delivered = len(getattr(report, "delivered", []))
    counts = report.counts  # type: ignore[attr-defined]
    text = f"{delivered} delivered, {counts.queued} queued, {counts.failed} failed"
    requeued = getattr(report, "requeued", 0)
    return text + (f" ({requeued} failed run(s) retried)" if requeued else "")


def describe(folder: Path) -> str:
    """One line for a record folder: name, run name, store, attempts, why it waits or failed.
    Never raises (an unreadable record says so)."""
    state = DeliveryState.load(folder)
    try:
        record = json.loads((folder / RECORD).read_text())
        what = f"{record.get('run_name')!r} -> {record.get('tracking_uri')}"
    except (OSError, ValueError, AttributeError):
        what = "(unreadable record)"
    why = state.quarantined or state.last_error or ""
    return f"{folder.name}  {what}  attempts={state.attempts}  {why}".rstrip()


def status_lines(outbox: Outbox, outage: str | None, held: int = 0) -> list[str]:
    """What ``%mlops status`` prints."""
    from mlops_nb.config import get_settings

    settings = get_settings()
    counts = outbox.counts()
    lines = [
        f"tracking uri: {settings.tracking_uri}",
        f"experiment:   {settings.experiment or '(notebook name)'}",
        f"outbox:       {counts.queued} queued, {counts.failed} failed in {outbox.root}",
        f"store:        {'unreachable: ' + outage if outage else 'ok'}",
    ]
    if held:
        lines.append(f"memory:       {held} run(s) waiting for the outbox to be writable")
    if counts.failed:
        lines.append("failed runs:  `mlops-nb outbox` lists why; `mlops-nb sync --retry-failed`")
    return lines
