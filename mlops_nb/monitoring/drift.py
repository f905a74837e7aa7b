"""Reference vs current frames → :class:`DriftResult`: the local path of ``mlops_nb.drift``.

A short recipe: validate and sample the inputs, take the reference's prepared side from the cache,
prepare the current side, run Evidently 0.7's default test on each column, decide the verdict the
way Evidently does, keep small distributions for the widget. Evidently's own report is built from
the same sampled frames and column kinds, only when it is asked for (``DriftResult.report``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mlops_nb.monitoring.distributions import distribution
from mlops_nb.monitoring.errors import DriftDataError
from mlops_nb.monitoring.frames import ColumnSpec, as_frame, check_current, normalize
from mlops_nb.monitoring.profile import ReferenceProfile, prepare_side, reference_profile
from mlops_nb.monitoring.result import DriftResult, ReportSource
from mlops_nb.monitoring.sampling import DEFAULT_SEED, resolve_cap, sample_rows
from mlops_nb.monitoring.stats import SHARE_THRESHOLD, ColumnValues, dataset_verdict, run_test

MAX_PLOTS = 40  # distributions kept for the widget: drifted columns first


@dataclass(frozen=True)
class ColumnDrift:
    """The outcome of one column's test (the shape of the summary's ``columns`` entries)."""

    name: str
    kind: str
    role: str
    stattest: str
    score: float
    threshold: float
    drifted: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "type": self.kind,
            "role": self.role,
            "stattest": self.stattest,
            "score": self.score,
            "threshold": self.threshold,
            "drifted": self.drifted,
        }


def column_drift(spec: ColumnSpec, ref: ColumnValues, cur: ColumnValues) -> ColumnDrift:
    """Run the column's default test (:func:`.stats.run_test`) and name the outcome."""
    result = run_test(ref, cur)
    return ColumnDrift(
        spec.name,
        spec.kind,
        spec.role,
        result.stattest,
        result.score,
        result.threshold,
        result.drifted,
    )


def compare_frames(
    reference: Any,
    current: Any,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    sample: int | bool | None = None,
    seed: int = DEFAULT_SEED,
) -> DriftResult:
    """Compare two tables (frames, records or .csv/.parquet paths) column by column."""
    cap = resolve_cap(sample)
    if isinstance(reference, ReferenceProfile):
        profile = reference
        _check_profile_matches(profile, columns, target, prediction)
    else:
        ref_frame = as_frame(reference, "reference")
        profile = reference_profile(
            ref_frame, columns=columns, target=target, prediction=prediction, cap=cap, seed=seed
        )
    cur_frame = as_frame(current, "current")
    specs = list(profile.specs)
    if columns is not None:  # a prepared profile can serve any subset of its columns
        keep = {*columns, target, prediction}
        specs = [s for s in specs if s.name in keep]
    check_current(cur_frame, specs, explicit=columns is not None)
    sampled, cur_note = sample_rows(cur_frame, cap, side="current", seed=seed + 1)
    cur_norm = normalize(sampled, specs)
    cur_values = prepare_side(cur_norm, specs, "current")
    _check_same_values_kind(specs, profile.values, cur_values)

    results = [column_drift(s, profile.values[s.name], cur_values[s.name]) for s in specs]
    plotted = sorted(results, key=lambda r: not r.drifted)[:MAX_PLOTS]
    distributions = {
        r.name: distribution(profile.values[r.name], cur_values[r.name]) for r in plotted
    }
    summary = build_summary(
        results,
        reference_rows=len(profile.frame),
        current_rows=len(cur_norm),
        sampling={"reference": profile.note.to_dict(), "current": cur_note.to_dict()},
        source="frames",
    )
    source = ReportSource(profile.frame, cur_norm, tuple(specs), SHARE_THRESHOLD)
    return DriftResult(summary, distributions, source)


def build_summary(
    results: Sequence[ColumnDrift],
    *,
    reference_rows: int,
    current_rows: int,
    sampling: dict[str, Any],
    source: str,
) -> dict[str, Any]:
    """The plain-dict summary; the same keys as a service's ``GET /monitoring/drift``."""
    return {
        **dataset_verdict([r.drifted for r in results]),
        "reference_rows": reference_rows,
        "current_rows": current_rows,
        "columns": {r.name: r.to_dict() for r in results},
        "drifted_columns": [r.name for r in results if r.drifted],
        "sampling": sampling,
        "source": source,
    }


def _values_kind(values: ColumnValues) -> str:
    kinds = {
        "text" if isinstance(k, str) else "flag" if isinstance(k, bool) else "number"
        for k in (values.counts or {})
    }
    return kinds.pop() if len(kinds) == 1 else "mixed"


def _check_same_values_kind(
    specs: Sequence[ColumnSpec], ref: dict[str, ColumnValues], cur: dict[str, ColumnValues]
) -> None:
    """A categorical column holds the same kind of values (text, numbers, flags) on both sides:
    ``"1"`` against ``1`` would be reported as total drift."""
    problems = []
    for spec in specs:
        if spec.kind != "cat":
            continue
        r, c = _values_kind(ref[spec.name]), _values_kind(cur[spec.name])
        if r != c and "mixed" not in (r, c):
            problems.append(
                f"'{spec.name}' holds {r} values in the reference but {c} values in the current "
                "data; make both sides the same type (e.g. .astype(str) on both)"
            )
    if problems:
        raise DriftDataError("cannot compare these columns:\n  - " + "\n  - ".join(problems))


def _check_profile_matches(
    profile: ReferenceProfile,
    columns: Sequence[str] | None,
    target: str | None,
    prediction: str | None,
) -> None:
    roles = {s.name: s.role for s in profile.specs}
    wanted = set(columns or ()) | {c for c in (target, prediction) if c}
    if wanted - set(roles) or (target and roles.get(target) != "target"):
        raise DriftDataError(
            f"this reference profile compares {', '.join(roles)}; build a new one with "
            "reference_profile(frame, columns=..., target=..., prediction=...) for other columns"
        )
