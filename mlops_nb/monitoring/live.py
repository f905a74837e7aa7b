"""``drift(service=URL)``: a service's own verdict, shown with the same widget.

The verdict and per-column table come from the service (``GET /monitoring/drift``, computed there
on its recorded inputs against the training reference). The distributions and the full Evidently
report on demand use the most recent inputs and a reference sample fetched from the service.
"""

from __future__ import annotations

from typing import Any

from mlops_nb.monitoring.distributions import distribution
from mlops_nb.monitoring.errors import DriftDataError
from mlops_nb.monitoring.frames import ColumnSpec, normalize
from mlops_nb.monitoring.result import DriftResult, ReportSource
from mlops_nb.monitoring.service import ServiceClient
from mlops_nb.monitoring.stats import ColumnValues

DEFAULT_FETCH = 5_000
MAX_FETCH = 10_000  # the most rows a service hands out per request


def compare_service(
    url: str, *, sample: int | None = None, api_key: str | None = None, timeout: float = 30.0
) -> DriftResult:
    """The service's drift summary with distributions of its recent inputs vs its reference."""
    import os

    from mlops_nb.monitoring.service import API_KEY_ENV

    client = ServiceClient(url, timeout=timeout, api_key=api_key or os.environ.get(API_KEY_ENV))
    summary = dict(client.drift_summary())
    n = min(sample or DEFAULT_FETCH, MAX_FETCH)
    current, total_seen = client.sample(n)
    reference, total_ref = client.reference(n)
    specs = [
        ColumnSpec(name, "num" if col["type"] == "num" else "cat", col.get("role", "feature"))
        for name, col in summary["columns"].items()
    ]
    summary["drifted_columns"] = [n for n, c in summary["columns"].items() if c["drifted"]]
    summary["source"] = url
    summary["sampling"] = {}
    summary["sampling_note"] = (
        f"Verdict computed by the service on {summary.get('current_rows', '?')} recorded inputs "
        f"vs {summary.get('reference_rows', '?')} reference rows; plots and the full report use "
        f"the latest {len(current):,} of {total_seen:,} inputs seen and {len(reference):,} of "
        f"{total_ref:,} reference rows."
    )
    usable = [s for s in specs if s.name in current.columns and s.name in reference.columns]
    if not usable or current.empty or reference.empty:
        return DriftResult(summary, {}, None)
    ref = normalize(reference, usable)
    cur = normalize(current, usable)
    distributions: dict[str, Any] = {}
    for spec in usable:
        try:
            r = ColumnValues.prepare(spec, ref[spec.name])
            c = ColumnValues.prepare(spec, cur[spec.name])
        except (ValueError, TypeError):
            continue
        if r.n and c.n:
            distributions[spec.name] = distribution(r, c)
    if any(_empty(ref, s) or _empty(cur, s) for s in usable):
        return DriftResult(summary, distributions, None)
    return DriftResult(summary, distributions, ReportSource(ref, cur, tuple(usable)))


def _empty(frame: Any, spec: ColumnSpec) -> bool:
    try:
        return bool(frame[spec.name].isna().all())
    except (KeyError, DriftDataError):
        return True
