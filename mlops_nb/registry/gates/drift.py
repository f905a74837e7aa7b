"""Drift: the candidate's training data (reference) against current data or a running
service's recent traffic, with :func:`mlops_nb.drift`; at most ``max_share`` of the columns may
drift."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_nb.registry.constants import Gate, GateStatus
from mlops_nb.registry.result import GateResult


@dataclass(frozen=True)
class Side:
    frame: Any  # pandas DataFrame
    described: str  # where it came from, stated in the result


def compare(reference: Any, current: Any, max_share: float, target: str | None) -> GateResult:
    """:func:`check` of two tables given as DataFrames or .csv/.parquet paths (read here: in the
    scoring worker when one runs, see :mod:`.scorer`)."""
    from mlops_nb.registry import data

    return check(
        Side(*data.table(reference, "reference data")),
        Side(*data.table(current, "current data")),
        max_share,
        target,
    )


def check(reference: Side, current: Side, max_share: float, target: str | None) -> GateResult:
    from mlops_nb.monitoring.api import drift

    if len(current.frame) == 0:
        return GateResult(
            Gate.DRIFT.value,
            GateStatus.FAILED,
            f"{current.described} holds no rows: nothing to compare (send traffic first)",
            threshold=max_share,
        )
    columns = [c for c in reference.frame.columns if c != target and c in current.frame.columns]
    missing = [c for c in reference.frame.columns if c != target and c not in current.frame.columns]
    result = drift(reference.frame, current.frame, columns=columns, log_to=False)
    summary = result.summary
    share = float(summary["drift_share"])
    ok = share <= max_share and not missing
    drifted = list(result.drifted_columns)
    text = (
        f"{summary['n_drifted']} of {summary['n_columns']} columns drifted (share {share:.2f}, "
        f"allowed <= {max_share:g}): {reference.described} vs {current.described}"
    )
    if drifted:
        text += f"; drifted: {', '.join(drifted[:8])}{' ...' if len(drifted) > 8 else ''}"
    if missing:
        text += f"; missing from the current data: {', '.join(missing)}"
    return GateResult(
        Gate.DRIFT.value,
        GateStatus.PASSED if ok else GateStatus.FAILED,
        text,
        metric="drift_share",
        value=share,
        threshold=max_share,
        details={
            "reference": reference.described,
            "reference_rows": len(reference.frame),
            "current": current.described,
            "current_rows": len(current.frame),
            "drifted_columns": drifted,
            "missing_columns": missing,
            "columns": {
                name: {k: col[k] for k in ("stattest", "score", "threshold", "drifted")}
                for name, col in summary["columns"].items()
            },
        },
    )
