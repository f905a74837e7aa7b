"""``drift(service=URL)``: a service's own verdict, shown with the same widget.

The verdict and per-column table come from the service (``GET /monitoring/drift``, computed there
on its recorded inputs against the training reference). The distributions and the full Evidently
report on demand use the most recent inputs and a reference sample fetched from the service.
"""

from __future__ import annotations

import os
from typing import Any

from mlops_nb.monitoring.distributions import distribution
from mlops_nb.monitoring.frames import ColumnSpec, normalize
from mlops_nb.monitoring.profile import prepare_column
from mlops_nb.monitoring.result import DriftResult, ReportSource
from mlops_nb.monitoring.service import API_KEY_ENV, ServiceClient

DEFAULT_FETCH = 5_000
MAX_FETCH = 10_000  # the most rows a service hands out per request


def compare_service(
    url: str, *, sample: int | None = None, api_key: str | None = None, timeout: float = 30.0
) -> DriftResult:
    """The service's drift summary with distributions of its recent inputs vs its reference."""
    client = ServiceClient(url, timeout=timeout, api_key=api_key or os.environ.get(API_KEY_ENV))
    summary = dict(client.drift_summary())
    n = min(sample or DEFAULT_FETCH, MAX_FETCH)
    current, total_seen = client.sample(n)
    reference, total_ref = client.reference(n)

    summary["drifted_columns"] = [n for n, c in summary["columns"].items() if c["drifted"]]
    summary["source"] = url
    summary["sampling"] = {}
    summary["sampling_note"] = (
        f"Verdict computed by the service on {_count(summary.get('current_rows'))} recorded "
        f"inputs vs {_count(summary.get('reference_rows'))} reference rows; plots and the full "
        f"report use the latest {len(current):,} of {total_seen:,} inputs seen and "
        f"{len(reference):,} of {total_ref:,} reference rows."
    )
    skipped = summary.get("skipped_columns") or {}
    if skipped:  # e.g. an optional input never sent: the service says why it was left out
        summary["sampling_note"] += " Not compared: " + "; ".join(
            f"{name} ({reason})" for name, reason in skipped.items()
        )
    specs = [
        ColumnSpec(name, "num" if col["type"] == "num" else "cat", col.get("role", "feature"))
        for name, col in summary["columns"].items()
        if name in current.columns and name in reference.columns
    ]
    if not specs:
        return DriftResult(summary, {}, None)
    ref, cur = normalize(reference, specs), normalize(current, specs)
    distributions: dict[str, Any] = {}
    for spec in specs:
        r = prepare_column(spec, ref[spec.name])
        c = prepare_column(spec, cur[spec.name])
        if r.n and c.n:
            distributions[spec.name] = distribution(r, c)
    complete = len(distributions) == len(specs)  # every column has values on both sides
    source = ReportSource(ref, cur, tuple(specs)) if complete else None
    return DriftResult(summary, distributions, source)


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"
