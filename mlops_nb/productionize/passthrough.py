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
    #: the API column feeding each model column; None where the model column is a constant
    columns: list[str | None] | None
    reason: str
    #: the constant of each model column that is one (the training value of a raw column the
    #: API does not ask for, which the feature code passes through), else None
    constants: list[Any] | None = None

    def describe(self) -> dict[str, Any] | None:
        if self.columns is None:
            return None
        return {"columns": self.columns, "constants": self.constants}


def find(
    transform: Callable[[pd.DataFrame, Any], Any],
    state: Any,
    requests: pd.DataFrame,
    model_columns: list[str],
    seed: int = 0,
) -> Verdict:
    """The API column feeding each of ``model_columns`` (the served engine's input columns, in
    order; empty when the model reads an unnamed matrix: then every output column, by position).

    A model column named like a raw column the API does not ask for (``state.placeholders``) may
    instead hold that column's training value in every row: it is fed as a constant."""
    inputs = [str(c) for c in requests.columns]
    if len(set(inputs)) != len(inputs) or not inputs:
        return Verdict(None, "the API's columns are not distinct names")
    placeholders = {str(k): v for k, v in (getattr(state, "placeholders", None) or {}).items()}
    rng = np.random.default_rng(seed)
    frames = [requests.reset_index(drop=True)]
    frames += [_fuzzed(requests, state, rng) for _ in range(FUZZ_ROUNDS)]
    frames += [frames[1].iloc[[i]].reset_index(drop=True) for i in range(SINGLE_ROWS)]
    candidates: list[set[str]] | None = None
    constant: list[bool] = []
    for frame in frames:
        try:
            out = transform(frame, state)
        except Exception as exc:  # the feature code reacts to the values: it must run
            return Verdict(None, f"the feature code raised {type(exc).__name__} on fuzzed rows")
        found = _model_columns(out, model_columns, len(frame))
        if found is None:
            return Verdict(None, "the feature code's output is not a table of the model's columns")
        names, columns = found
        if candidates is None:
            candidates = [set(inputs) for _ in columns]
            constant = [name in placeholders for name in names]
        for i, values in enumerate(columns):
            candidates[i] = {c for c in candidates[i] if _same(values, frame[c].to_numpy())}
            if constant[i]:
                training = np.array([placeholders[names[i]]] * len(values), dtype=object)
                constant[i] = _same(values, training)
            if not candidates[i] and not constant[i]:
                return Verdict(None, "the feature code changes the values of the API's columns")
    assert candidates is not None
    if any(len(c) > 1 for c in candidates):
        return Verdict(None, "a model column matches more than one API column")
    mapping = [next(iter(c)) if c else None for c in candidates]
    constants = [
        _plain(placeholders[names[i]]) if mapping[i] is None else None for i in range(len(mapping))
    ]
    rows = sum(len(f) for f in frames)
    used = len({c for c in mapping if c is not None})
    filled = mapping.count(None)
    return Verdict(
        mapping,
        f"the feature code passes {used} API column(s) through unchanged"
        + (f" and {filled} training value(s) of columns the API does not ask for" if filled else "")
        + f" on {rows} rows ({len(requests)} compared rows, {FUZZ_ROUNDS} rounds of fuzzed values, "
        f"{SINGLE_ROWS} single rows)",
        constants if filled else None,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready scalar (a missing value is None)."""
    if _missing(value):
        return None
    return value.item() if hasattr(value, "item") else value


def _model_columns(out: Any, names: list[str], n: int) -> tuple[list[str], list[np.ndarray]] | None:
    """The output's column names (positions for an array) and values, for the model's columns."""
    if isinstance(out, pd.DataFrame):
        if len(out) != n:
            return None
        by_name = {str(c): i for i, c in enumerate(out.columns)}
        if len(by_name) != out.shape[1]:
            return None
        wanted = names or [str(c) for c in out.columns]
        if any(c not in by_name for c in wanted):
            return None
        return wanted, [out.iloc[:, by_name[c]].to_numpy() for c in wanted]
    if hasattr(out, "toarray"):
        return None  # a sparse matrix is built by code, not passed through
    array = np.asarray(out)
    if array.ndim != 2 or array.shape[0] != n or (names and array.shape[1] != len(names)):
        return None
    width = array.shape[1]
    return [f"#{i}" for i in range(width)], [array[:, i] for i in range(width)]


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
