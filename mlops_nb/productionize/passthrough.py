"""Whether the service may skip the notebook's feature code: when ``features.transform`` only
selects, reorders or renames the API's columns (values unchanged), the model's input can be read
straight from the request rows, with neither pandas nor features.py in the service.

The answer is found by running the feature code, never by reading it: the serving transform runs on
the request rows the fidelity check uses and on rounds of fuzzed rows (every input column replaced
by independent random values of its type: wide-ranging and missing numbers, unseen strings), once
on the whole frame and on single rows. Each column the model reads must equal one and the same API
column, value for value, in every round; any difference, ambiguity or error (an arithmetic step, a
fill, a category mapping, a check that rejects a value) keeps the feature code in the service.

Runs inside the fidelity probe (the service folder on ``sys.path``); needs numpy and pandas.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

#: fuzzed rows per round, and rounds
FUZZ_ROWS = 64
FUZZ_ROUNDS = 4
#: rows also sent one at a time (the service answers single records)
SINGLE_ROWS = 3


@dataclass(frozen=True)
class Verdict:
    columns: list[str] | None  # the API column for each model column, or None
    reason: str

    def describe(self) -> dict[str, Any] | None:
        return {"columns": self.columns} if self.columns else None


def find(
    transform: Callable[[pd.DataFrame, Any], Any],
    state: Any,
    requests: pd.DataFrame,
    model_columns: list[str],
    seed: int = 0,
) -> Verdict:
    """The API column feeding each of ``model_columns`` (the served engine's input columns, in
    order; empty when the model reads an unnamed matrix: then every output column, by position)."""
    inputs = [str(c) for c in requests.columns]
    if len(set(inputs)) != len(inputs) or not inputs:
        return Verdict(None, "the API's columns are not distinct names")
    rng = np.random.default_rng(seed)
    frames = [requests.reset_index(drop=True)]
    frames += [_fuzzed(requests, state, rng) for _ in range(FUZZ_ROUNDS)]
    frames += [frames[1].iloc[[i]].reset_index(drop=True) for i in range(SINGLE_ROWS)]
    candidates: list[set[str]] | None = None
    for frame in frames:
        try:
            out = transform(frame, state)
        except Exception as exc:  # the feature code reacts to the values: it must run
            return Verdict(None, f"the feature code raised {type(exc).__name__} on fuzzed rows")
        columns = _model_columns(out, model_columns, len(frame))
        if columns is None:
            return Verdict(None, "the feature code's output is not a table of the model's columns")
        if candidates is None:
            candidates = [set(inputs) for _ in columns]
        for i, values in enumerate(columns):
            candidates[i] = {c for c in candidates[i] if _same(values, frame[c].to_numpy())}
            if not candidates[i]:
                return Verdict(None, "the feature code changes the values of the API's columns")
    assert candidates is not None
    if any(len(c) != 1 for c in candidates):
        return Verdict(None, "a model column matches more than one API column")
    mapping = [next(iter(c)) for c in candidates]
    rows = sum(len(f) for f in frames)
    return Verdict(
        mapping,
        f"the feature code passes {len(set(mapping))} API column(s) through unchanged on {rows} "
        f"rows ({len(requests)} compared rows, {FUZZ_ROUNDS} rounds of fuzzed values, "
        f"{SINGLE_ROWS} single rows)",
    )


def _model_columns(out: Any, names: list[str], n: int) -> list[np.ndarray] | None:
    if isinstance(out, pd.DataFrame):
        if len(out) != n:
            return None
        by_name = {str(c): i for i, c in enumerate(out.columns)}
        if len(by_name) != out.shape[1]:
            return None
        wanted = names or [str(c) for c in out.columns]
        if any(c not in by_name for c in wanted):
            return None
        return [out.iloc[:, by_name[c]].to_numpy() for c in wanted]
    if hasattr(out, "toarray"):
        return None  # a sparse matrix is built by code, not passed through
    array = np.asarray(out)
    if array.ndim != 2 or array.shape[0] != n or (names and array.shape[1] != len(names)):
        return None
    return [array[:, i] for i in range(array.shape[1])]


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _same(model: np.ndarray, api: np.ndarray) -> bool:
    """Value for value the same (missing where missing); numbers compare as numbers (a bool or
    integer column feeding a float input is the same value), text as text."""
    if len(model) != len(api):
        return False
    for a, b in zip(model.tolist(), api.tolist(), strict=True):
        if _missing(a) or _missing(b):
            if not (_missing(a) and _missing(b)):
                return False
        elif isinstance(a, str) or isinstance(b, str):
            if not (isinstance(a, str) and isinstance(b, str) and a == b):
                return False
        elif not (_number(a) and _number(b) and float(a) == float(b)):
            return False
    return True


def _number(value: Any) -> bool:
    return isinstance(value, int | float | bool)


def _fuzzed(requests: pd.DataFrame, state: Any, rng: np.random.Generator) -> pd.DataFrame:
    dtypes = getattr(state, "raw_dtypes", {}) or {}
    data = {}
    for column in requests.columns:
        dtype = str(dtypes.get(column, requests[column].dtype))
        data[column] = _values(requests[column], dtype, rng)
    return pd.DataFrame(data)


def _values(series: pd.Series, dtype: str, rng: np.random.Generator) -> pd.Series:
    n = FUZZ_ROWS
    if dtype == "bool":
        return pd.Series(rng.random(n) < 0.5)
    if dtype.startswith(("int", "uint")):
        low = 0 if dtype.startswith("uint") else -1_000_000
        return pd.Series(rng.integers(low, 1_000_000, n), dtype="int64")
    if dtype.startswith("float"):
        scale = 10.0 ** rng.integers(-3, 7, n)
        numbers = rng.normal(0, 1, n) * scale
        whole = rng.random(n) < 0.2
        numbers[whole] = np.round(numbers[whole])
        numbers[rng.random(n) < 0.15] = np.nan
        return pd.Series(numbers.astype(dtype if dtype in ("float32", "float64") else "float64"))
    # text, categories and anything else: its own values shuffled, unseen text and missing values
    seen = [v for v in series.dropna().tolist() if isinstance(v, str)]
    pool = seen + [f"unseen-{k}-{rng.integers(1 << 30)}" for k in range(4)]
    values: list[Any] = [pool[int(i)] for i in rng.integers(0, len(pool), n)]
    for i in np.flatnonzero(rng.random(n) < 0.1).tolist():
        values[i] = None
    return pd.Series(values, dtype=object)
