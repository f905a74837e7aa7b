"""Small reference-vs-current distributions for the widget (a few hundred bytes per column).

Numerical columns: shares of rows in 30 equal-width bins over the 0.5th-99.5th percentile range of
both sides (values outside fall into the edge bins). Categorical columns: shares of the 10 most
frequent values, the rest summed as ``(other)``. Shares are rounded to 5 significant digits.
"""

from __future__ import annotations

import itertools
from typing import Any

import numpy as np
import pandas as pd

from mlops_nb.monitoring.stats import ColumnValues

N_BINS = 30
TOP_VALUES = 10
OTHER = "(other)"


def distribution(ref: ColumnValues, cur: ColumnValues) -> dict[str, Any]:
    """The plot data of one column: ``{"kind", "edges"|"labels", "reference", "current"}``."""
    if ref.kind == "num" and ref.sorted_values is not None and ref.counts is None:
        return _numeric(ref, cur)
    return _categorical(ref, cur)


def _numeric(ref: ColumnValues, cur: ColumnValues) -> dict[str, Any]:
    r, c = ref.sorted_values, cur.sorted_values
    assert r is not None and c is not None
    lo = min(_quantile(r, 0.005), _quantile(c, 0.005))
    hi = max(_quantile(r, 0.995), _quantile(c, 0.995))
    if not hi > lo:
        hi = lo + 1.0
    edges = np.linspace(lo, hi, N_BINS + 1)
    return {
        "kind": "num",
        "edges": _round(edges),
        "reference": _round(_binned_shares(r, edges)),
        "current": _round(_binned_shares(c, edges)),
    }


def _quantile(sorted_values: np.ndarray, q: float) -> float:
    return float(sorted_values[min(int(q * sorted_values.size), sorted_values.size - 1)])


def _binned_shares(sorted_values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    inner = np.searchsorted(sorted_values, edges[1:-1], side="left")
    cuts = np.concatenate(([0], inner, [sorted_values.size]))
    return np.diff(cuts) / sorted_values.size


def _categorical(ref: ColumnValues, cur: ColumnValues) -> dict[str, Any]:
    r = _counts(ref) / ref.n
    c = _counts(cur) / cur.n
    both = pd.concat([r.rename("r"), c.rename("c")], axis=1).fillna(0.0)
    order = (both["r"] + both["c"]).sort_values(ascending=False, kind="stable").index
    both = both.loc[order]
    if len(both) > TOP_VALUES:
        top, rest = both.iloc[: TOP_VALUES - 1], both.iloc[TOP_VALUES - 1 :]
        both = pd.concat([top, pd.DataFrame({"r": [rest["r"].sum()], "c": [rest["c"].sum()]})])
        labels = [_label(v) for v in top.index] + [OTHER]
    else:
        labels = [_label(v) for v in both.index]
    return {
        "kind": "cat",
        "labels": labels,
        "reference": _round(both["r"].to_numpy()),
        "current": _round(both["c"].to_numpy()),
    }


def _counts(side: ColumnValues) -> pd.Series:
    if side.counts is not None:
        return pd.Series(list(side.counts.values()), index=list(side.counts), dtype="float64")
    assert side.sorted_values is not None
    uniq, cnt = np.unique(side.sorted_values, return_counts=True)
    return pd.Series(cnt.astype("float64"), index=uniq)


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _round(values: np.ndarray) -> list[float]:
    return [float(f"{v:.5g}") for v in np.asarray(values, dtype="float64")]


def figure(dist: dict[str, Any], title: str = "") -> Any:
    """A plotly figure of one column's distribution (plotly is imported here, on demand)."""
    import plotly.graph_objects as go

    if dist["kind"] == "num":
        edges = dist["edges"]
        x = [(a + b) / 2 for a, b in itertools.pairwise(edges)]
    else:
        x = dist["labels"]
    fig = go.Figure(
        [
            go.Bar(x=x, y=dist["reference"], name="reference", marker_color="#8c8c8c"),
            go.Bar(x=x, y=dist["current"], name="current", marker_color="#d6604d"),
        ]
    )
    fig.update_layout(
        title=title, barmode="overlay", bargap=0.05, yaxis_title="share of rows", height=300
    )
    fig.update_traces(opacity=0.65)
    return fig
