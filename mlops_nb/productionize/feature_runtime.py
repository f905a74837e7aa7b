"""The runtime of a generated ``features.py``; copied unchanged into every service beside it.

The notebook's own data statements run in one of two modes:

* **fitting** (``train.py``): exactly as in the notebook. Every place whose result depends on the
  training rows records what it learned in a :class:`FeatureState`: a statistic (``df.x.mean()``),
  a transformer fitted outside a Pipeline, the columns ``get_dummies`` made, the categories of a
  categorical, the bin edges of ``qcut``, a secondary table the notebook loaded.
* **serving**: the same statements on the request rows; each of those places answers from the
  state instead of the rows. Rows are never filtered, sampled, sorted or split, so the service
  answers one row per request row, in order.

Only numpy and pandas are needed (a fitted scikit-learn transformer in the state needs its library).
"""

from __future__ import annotations

import contextlib
import contextvars
import copy
import math
import pickle
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: how many raw rows the input check perturbs (see :func:`find_inputs`)
INPUT_CHECK_ROWS = 200


class FeatureInputError(ValueError):
    """The request rows do not fit the raw input schema (the message names the column)."""


class FeaturePathError(RuntimeError):
    """At serving time the feature code took a path training did not (it depends on other rows)."""


@dataclass
class FeatureState:
    """What the feature code learned from the training rows (saved as ``model/features.pkl``)."""

    params: dict[str, Any] = field(default_factory=dict)
    learned: dict[str, Any] = field(default_factory=dict)
    source_kind: str = "frame"  # frame | bunch | xy | array
    source_meta: dict[str, Any] = field(default_factory=dict)
    raw_columns: list[str] = field(default_factory=list)
    raw_dtypes: dict[str, str] = field(default_factory=dict)
    categories: dict[str, list[Any]] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    placeholders: dict[str, Any] = field(default_factory=dict)
    target_placeholder: Any = None
    output_columns: list[Any] | None = None
    output_dtypes: dict[str, str] | None = None


class _Run:
    """One execution of the feature program (fitting or serving)."""

    def __init__(self, fitting: bool, state: FeatureState, request: pd.DataFrame | None) -> None:
        self.fitting = fitting
        self.state = state
        self.request = request
        self.counts: dict[str, int] = {}
        self.last: dict[str, str] = {}
        self.raw: pd.DataFrame | None = None
        self.split: tuple[Any, np.ndarray] | None = None

    def key(self, site: str) -> str:
        n = self.counts.get(site, 0)
        self.counts[site] = n + 1
        key = f"{site}#{n}"
        self.last[site] = key
        return key

    def recall(self, key: str, site: str) -> Any:
        try:
            return self.state.learned[key]
        except KeyError:
            raise FeaturePathError(
                f"the feature code at {site} ran more often than in training: it depends on the "
                "number or values of the request rows"
            ) from None


_active: contextvars.ContextVar[_Run] = contextvars.ContextVar("mlops_nb_feature_run")


def _run() -> _Run:
    try:
        return _active.get()
    except LookupError:
        raise RuntimeError(
            "feature code runs through features.fit_features() or features.transform()"
        ) from None


# ---------------------------------------------------------------------------------------------
# the calls the rewritten notebook statements make (``_S.<name>`` in features.py)


class _Api:
    """``_S`` in features.py: forwards to the active run."""

    @property
    def fitting(self) -> bool:
        return _run().fitting

    def source(self, site: str, load: Callable[[], Any]) -> Any:
        run = _run()
        if run.fitting:
            value, raw = _raw_of(load(), run.state)
            run.raw = raw.copy()  # the notebook goes on to change its frame in place
            return value
        assert run.request is not None
        return _request_as(run.request, run.state)

    def engineered(self, x: Any) -> Any:
        """--engineered-input: the model's input is the request (in the shape it was fitted on)."""
        run = _run()
        if run.fitting:
            x, raw = _raw_of(x, run.state)
            run.raw = raw.copy()
            return x
        assert run.request is not None
        return _request_as(run.request, run.state)

    def value(self, site: str, compute: Callable[[], Any]) -> Any:
        run = _run()
        key = run.key(site)
        if run.fitting:
            value = compute()
            run.state.learned[key] = value
            return value
        return run.recall(key, site)

    def fit(self, site: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        """``obj.fit(...)``: at serving, the object fitted at training."""
        return _fitting_call(site, obj, "fit", None, args, kwargs)

    def fit_transform(self, site: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        """``obj.fit_transform(X)``: at serving, the training object's ``transform(X)``."""
        return _fitting_call(site, obj, "fit_transform", "transform", args, kwargs)

    def fit_predict(self, site: str, obj: Any, *args: Any, **kwargs: Any) -> Any:
        """``obj.fit_predict(X)``: at serving, the training object's ``predict(X)``."""
        return _fitting_call(site, obj, "fit_predict", "predict", args, kwargs)

    def group_transform(
        self, site: str, frame: Any, by: Any, selection: Any, how: str, **kwargs: Any
    ) -> Any:
        """``frame.groupby(by)[selection].transform("mean")``: each row gets its group's
        statistic. At training the notebook's own result (and the statistic per group is kept);
        at serving a request row gets the training value of its group (NaN for a group training
        never saw, as for a missing key). A function (``lambda s: s.fillna(s.median())``) is
        replayed by :func:`_group_function`."""
        run = _run()
        key = run.key(site)
        grouped = frame.groupby(by, **kwargs)
        if selection is not None:
            grouped = grouped[selection]
        if not isinstance(how, str):
            return _group_function(run, key, site, frame, by, selection, how, kwargs)
        if run.fitting:
            run.state.learned[key] = grouped.agg(how)
            return grouped.transform(how)
        table = run.recall(key, site)
        keys = [by] if isinstance(by, str) else list(by)
        values = table.to_frame() if isinstance(table, pd.Series) else table
        values = values.reset_index()
        matched = frame[keys].merge(values, how="left", on=keys)
        matched.index = frame.index
        if isinstance(table, pd.Series):
            return _like(matched[table.name], table)
        return pd.DataFrame(
            {c: _like(matched[c], table[c]) for c in table.columns}, index=frame.index
        )

    def fitted(self, site: str, obj: Any) -> Any:
        """The object fitted at ``site`` (after ``x = obj.fit_transform(...)``)."""
        run = _run()
        if run.fitting:
            return obj
        return run.recall(run.last.get(site, f"{site}#0"), site)

    def dummies(
        self, site: str, fn: Callable[..., Any], data: Any, *args: Any, **kwargs: Any
    ) -> Any:
        """``pd.get_dummies``: serving encodes with the training categories, so every training
        column exists (``drop_first`` drops the same one) and an unseen value is all zeros."""
        run = _run()
        key = run.key(site)
        if run.fitting:
            result = fn(data, *args, **kwargs)
            run.state.learned[key] = (
                _dummy_categories(data, kwargs.get("columns")),
                list(result.columns) if isinstance(result, pd.DataFrame) else None,
                _dtypes(result) if isinstance(result, pd.DataFrame) else {},
            )
            return result
        categories, columns, dtypes = run.recall(key, site)
        if isinstance(data, pd.Series):
            data = _as_categorical(data, categories.get(None, []))
        elif isinstance(data, pd.DataFrame):
            data = data.copy()
            for column, cats in categories.items():
                if column in data.columns:
                    data[column] = _as_categorical(data[column], cats)
        result = fn(data, *args, **kwargs)
        if isinstance(result, pd.DataFrame) and columns is not None:
            result = _conform(result, columns, dtypes)
        return result

    def categorical(self, site: str, value: Any) -> Any:
        """``astype("category")`` / ``pd.Categorical``: serving uses the training categories."""
        run = _run()
        key = run.key(site)
        if run.fitting:
            run.state.learned[key] = _categories_of(value)
            return value
        cats = run.recall(key, site)
        if cats is None:
            return value
        if isinstance(value, pd.DataFrame):
            out = value.copy()
            for column, categories in cats.items():
                if column in out.columns:
                    out[column] = _as_categorical(out[column], categories)
            return out
        if isinstance(value, pd.Categorical):
            return pd.Categorical(np.asarray(value, dtype=object), categories=cats)
        return _as_categorical(value, cats)

    def cut(self, site: str, fn: Callable[..., Any], x: Any, bins: Any, **kwargs: Any) -> Any:
        """``pd.cut``/``pd.qcut`` with a number of bins: serving uses the training edges."""
        run = _run()
        key = run.key(site)
        wants_bins = bool(kwargs.pop("retbins", False))
        if run.fitting:
            out, edges = fn(x, bins, retbins=True, **kwargs)
            run.state.learned[key] = edges
            return (out, edges) if wants_bins else out
        edges = run.recall(key, site)
        keep = {k: v for k, v in kwargs.items() if k in {"labels", "precision", "right", "ordered"}}
        if fn is pd.qcut or getattr(fn, "__name__", "") == "qcut":
            keep.pop("right", None)
        out = pd.cut(x, edges, include_lowest=True, duplicates="drop", **keep)
        return (out, edges) if wants_bins else out

    def factorize(self, site: str, fn: Callable[..., Any], values: Any, **kwargs: Any) -> Any:
        run = _run()
        key = run.key(site)
        if run.fitting:
            codes, uniques = fn(values, **kwargs)
            run.state.learned[key] = uniques
            return codes, uniques
        uniques = run.recall(key, site)
        return pd.Index(uniques).get_indexer(pd.Index(np.asarray(values, dtype=object))), uniques

    def rows(self, receiver: Any, compute: Callable[[Any], Any]) -> Any:
        """A row operation (filter, sample, sort, de-duplicate): training only."""
        return compute(receiver) if _run().fitting else receiver

    def resample(self, compute: Callable[[], Any], *arrays: Any) -> Any:
        """``resample``/``shuffle``/``fit_resample``: training only; serving passes rows through."""
        if _run().fitting:
            return compute()
        return arrays[0] if len(arrays) == 1 else tuple(arrays)

    def split(self, site: str, fn: Callable[..., Any], *arrays: Any, **kwargs: Any) -> Any:
        """``train_test_split``: at training, the split (and which rows were held out); at serving,
        every part is the request rows."""
        run = _run()
        if not run.fitting:
            return [part for array in arrays for part in (array, array)]
        positions = np.arange(_length(arrays[0]))
        parts = fn(positions, *arrays, **kwargs)
        if run.split is None:
            run.split = (arrays[0], np.asarray(parts[1]))
        return parts[2:]

    def index(self, obj: Any, key: Any) -> Any:
        """``obj[key]``: a row selection (mask, row slice) is training only."""
        if _run().fitting or not _is_rows(obj, key):
            return obj[key]
        return _columns_part(obj, key, None)

    def loc(self, site: str, obj: Any, key: Any, how: str) -> Any:
        """``obj.loc[key]`` / ``obj.iloc[key]``: row selections are training only; the value at
        one training row is learned (at serving it would name a request row)."""
        run = _run()
        indexer = getattr(obj, how)
        rows = key[0] if isinstance(key, tuple) else key
        if isinstance(obj, pd.DataFrame | pd.Series) and _is_scalar_label(rows):
            return self.value(site, lambda: indexer[key])
        if run.fitting or not _is_rows(obj, rows, positional=how == "iloc"):
            return indexer[key]
        return _columns_part(obj, key, how)


S = _Api()


# ---------------------------------------------------------------------------------------------
# fitting and serving


@dataclass
class Fitted:
    """What fitting returns to train.py: the program's variables, the state, the raw rows."""

    names: dict[str, Any]
    state: FeatureState
    raw: pd.DataFrame
    heldout: list[Any] | None  # raw index labels of the held-out rows, when the split tells


def fit(program: Callable[[dict[str, Any]], dict[str, Any]], params: dict[str, Any]) -> Fitted:
    """Run the notebook's data statements on the training data; learn the state."""
    state = FeatureState(params=dict(params))
    run = _Run(True, state, None)
    token = _active.set(run)
    try:
        names = program(dict(params))
    finally:
        _active.reset(token)
    if run.raw is None:
        raise RuntimeError("the feature program did not load its data source")
    raw = run.raw
    state.raw_columns = [str(c) for c in raw.columns]
    state.raw_dtypes = {str(c): str(t) for c, t in raw.dtypes.items()}
    state.categories = {
        str(c): list(raw[c].cat.categories)
        for c in raw.columns
        if isinstance(raw[c].dtype, pd.CategoricalDtype)
    }
    x = names["_X"]
    if isinstance(x, pd.DataFrame):
        state.output_columns = list(x.columns)
        state.output_dtypes = _dtypes(x)
    heldout = _heldout_labels(run, raw)
    state.inputs = list(state.raw_columns)
    state.placeholders = {c: _typical(raw[c]) for c in raw.columns}
    return Fitted(names=names, state=state, raw=raw, heldout=heldout)


def settle_inputs(
    program: Callable[[dict[str, Any]], dict[str, Any]], fitted: Fitted, model: Any
) -> list[str]:
    """Decide the API's columns once the model exists: the raw columns the features it reads
    depend on. The others (an id, the target, a column a ColumnTransformer drops) are filled
    with a training value when a request leaves them out."""
    state = fitted.state
    state.inputs = list(state.raw_columns)
    state.placeholders = {c: _typical(fitted.raw[c]) for c in fitted.raw.columns}
    sample = input_sample(_kept_rows(fitted), fitted.heldout)
    state.inputs = find_inputs(program, state, sample, model)
    state.placeholders = {c: v for c, v in state.placeholders.items() if c not in state.inputs}
    return state.inputs


def training_rows(fitted: Fitted) -> pd.DataFrame:
    """The raw rows the model was fitted on, when the features say which (else every row but the
    held-out ones)."""
    raw, x = fitted.raw, fitted.names.get("_X")
    if isinstance(x, pd.DataFrame | pd.Series) and x.index.isin(raw.index).all() and len(x):
        return raw.loc[raw.index.isin(list(x.index))]
    held = raw.index.isin(fitted.heldout or [])
    return raw.loc[~held]


def _kept_rows(fitted: Fitted) -> pd.DataFrame:
    """The raw rows training kept (after its row filters), when the features say which."""
    raw = fitted.raw
    x = fitted.names.get("_X")
    if not isinstance(x, pd.DataFrame | pd.Series):
        return raw
    kept = raw.index.isin(list(x.index)) | raw.index.isin(fitted.heldout or [])
    return raw.loc[kept] if kept.any() else raw


def transform(
    program: Callable[[dict[str, Any]], dict[str, Any]],
    raw: pd.DataFrame,
    state: FeatureState,
    every_column: bool = False,
) -> Any:
    """The model's input for the request rows ``raw`` (one output row per request row).

    ``every_column``: use every raw column ``raw`` has, not only the API's inputs (the fidelity
    check replays the notebook's own rows)."""
    frame = complete(raw, state, every_column)
    if state.source_kind == "frame":
        # labels no shipped table uses, so the request rows can be found again after a concat
        frame.index = pd.RangeIndex(-len(frame), 0)
    run = _Run(False, state, frame)
    token = _active.set(run)
    try:
        names = program(dict(state.params))
    finally:
        _active.reset(token)
    return _align(names["_X"], state, frame.index)


def _group_function(
    run: _Run,
    key: str,
    site: str,
    frame: pd.DataFrame,
    by: Any,
    selection: Any,
    how: Callable[..., Any],
    kwargs: dict[str, Any],
) -> Any:
    """``frame.groupby(by)[selection].transform(function)``. At training the notebook's own
    result, and the group columns of the training rows are kept. At serving each request row
    alone joins its training group (its own group for a key training never saw) and the function
    runs on that group, as it did in the notebook; the row's value is its answer. So
    ``s.fillna(s.median())`` fills with the training median, and a row never depends on other
    request rows. A function whose answer moves with one more row (a z-score) differs slightly
    from the notebook: the fidelity check says so."""
    replay = _GroupReplay(by, selection, how, kwargs, frame)
    if run.fitting:
        training = frame[replay.columns].copy()
        run.state.learned[key] = training
        run.state.learned[f"{key}:direct"] = replay.direct_agrees(training)
        return replay.apply(frame)
    training = run.recall(key, site)
    direct = bool(run.state.learned.get(f"{key}:direct", False))
    return replay.serve(training, frame, direct)


class _GroupReplay:
    """One ``groupby(by)[selection].transform(how)`` replayed on request rows."""

    def __init__(
        self,
        by: Any,
        selection: Any,
        how: Callable[..., Any],
        kwargs: dict[str, Any],
        frame: pd.DataFrame,
    ) -> None:
        self.by, self.selection, self.how, self.kwargs = by, selection, how, kwargs
        self.keys = [by] if isinstance(by, str) else list(by)
        if selection is None:
            self.columns = list(frame.columns)
        else:
            chosen = [selection] if not isinstance(selection, list | tuple) else list(selection)
            self.columns = list(dict.fromkeys([*self.keys, *chosen]))
        # one selected column: the function can be called on the group's values directly
        self.single = selection is not None and not isinstance(selection, list | tuple)

    def apply(self, rows: pd.DataFrame) -> Any:
        grouped = rows.groupby(self.by, **self.kwargs)
        if self.selection is not None:
            return grouped[self.selection].transform(self.how)
        return grouped.transform(self.how)

    def _members(self, training: pd.DataFrame) -> dict[Any, np.ndarray]:
        return dict(training.groupby(self.by, **self.kwargs).indices)

    def _find(self, members: dict[Any, np.ndarray], values: tuple[Any, ...]) -> Any:
        try:  # one key: pandas names groups by the value (or a 1-tuple, by version)
            if len(values) > 1:
                return members.get(values)
            return members.get(values[0], members.get(values))
        except TypeError:  # an unhashable key: no training group
            return None

    def _slow(self, training: pd.DataFrame, found: Any, row: pd.DataFrame) -> Any:
        group = row if found is None else pd.concat([training.iloc[found], row])
        return self.apply(group.reset_index(drop=True)).iloc[[-1]]

    def _direct(self, values: np.ndarray, found: Any, own: Any, name: Any) -> Any:
        """The function on the group's values plus the row's, as transform calls it (a Series
        named after the group); the row's answer, or a broadcast scalar."""
        group = np.append(values[found], own) if found is not None else np.array([own])
        result = self.how(pd.Series(group, name=name))
        if isinstance(result, pd.Series) and len(result) == len(group):
            return result.iloc[-1]
        if np.ndim(result) == 0:
            return result
        raise ValueError("the function answered neither one value per row nor one value")

    def direct_agrees(self, training: pd.DataFrame) -> bool:
        """Whether calling the function directly answers as the groupby does, on rows spread
        across the training data (checked once, at training)."""
        if not self.single or training.empty:
            return False
        members = self._members(training)
        values = training[self.selection].to_numpy()
        positions = np.unique(np.linspace(0, len(training) - 1, 8).round().astype(int))
        try:
            for position in positions.tolist():
                row = training.iloc[[position]]
                key = tuple(row[c].iloc[0] for c in self.keys)
                found = self._find(members, key)
                slow = self._slow(training, found, row).iloc[0]
                name = key[0] if len(key) == 1 else key
                fast = self._direct(values, found, values[position], name)
                if not same(np.asarray([slow]), np.asarray([fast])):
                    return False
        except Exception:
            return False
        return True

    def serve(self, training: pd.DataFrame, frame: pd.DataFrame, direct: bool) -> Any:
        if frame.empty:
            return self.apply(frame)
        members = self._members(training)
        requests = frame[self.columns]
        if direct:
            values = training[self.selection].to_numpy()
            own = requests[self.selection].to_numpy()
            answers = []
            for position in range(len(requests)):
                key = tuple(requests[c].iat[position] for c in self.keys)
                found = self._find(members, key)
                name = key[0] if len(key) == 1 else key
                answers.append(self._direct(values, found, own[position], name))
            return pd.Series(answers, index=frame.index, name=self.selection)
        parts = []
        for position in range(len(requests)):
            row = requests.iloc[[position]]
            found = self._find(members, tuple(row[c].iloc[0] for c in self.keys))
            parts.append(self._slow(training, found, row))
        out = pd.concat(parts)
        out.index = frame.index
        return out


def save_state(state: FeatureState, path: str | Path) -> None:
    Path(path).write_bytes(pickle.dumps(state, protocol=5))


def load_state(path: str | Path) -> FeatureState:
    with open(path, "rb") as handle:
        state = pickle.load(handle)
    if not isinstance(state, FeatureState):
        raise TypeError(f"{path} does not hold a feature state")
    return state


def complete(raw: pd.DataFrame, state: FeatureState, every_column: bool = False) -> pd.DataFrame:
    """Request rows -> the raw frame the notebook code expects: every raw column, in training
    order, with the training dtypes; columns that are not inputs get a training value."""
    if not isinstance(raw, pd.DataFrame):
        raise FeatureInputError("request rows must be a table of named columns")
    missing = [c for c in state.inputs if c not in raw.columns]
    if missing:
        raise FeatureInputError(f"missing input column(s): {', '.join(missing)}")
    raw = raw.reset_index(drop=True)
    n = len(raw)
    data: dict[str, Any] = {}
    for column in state.raw_columns:
        if column in raw.columns and (every_column or column in state.inputs):
            dtype = state.raw_dtypes.get(column, "object")
            fast = _fast_cast(raw[column].to_numpy(), dtype)
            data[column] = fast if fast is not None else _cast(raw[column], dtype, column, state)
        else:
            value = state.placeholders.get(column)
            training_dtype = state.raw_dtypes.get(column)
            fast = _fast_fill(value, training_dtype, n)
            if fast is not None:
                data[column] = fast
                continue
            data[column] = pd.Series([value] * n, index=raw.index, dtype=object)
            if training_dtype is not None:
                data[column] = _cast(data[column], training_dtype, column, state, strict=False)
    return pd.DataFrame(data, index=pd.RangeIndex(n))


def _fast_cast(values: np.ndarray, dtype: str) -> np.ndarray | None:
    """:func:`_cast` for the common cases, on the column's array (a request's rows are few, and
    pandas' per-Series work dominates them); None where only :func:`_cast` knows the answer. The
    two agree value for value and dtype for dtype (tests/unit/productionize)."""
    kind = values.dtype.kind
    if dtype == "float64":
        return values.astype(dtype) if kind in "fiub" else None
    if dtype == "int64":
        if kind == "i":
            return values.astype(dtype)
        if kind == "f":
            with np.errstate(invalid="ignore"):
                whole = not np.isnan(values).any() and not (values % 1 != 0).any()
            return values.astype(dtype) if whole else values.astype(float)
        return None
    if dtype == "bool":
        return values if kind == "b" else None
    if dtype == "object" and kind in "OfiubU":
        out = values.astype(object)
        out[pd.isna(values)] = np.nan
        return out
    return None


def _fast_fill(value: Any, dtype: str | None, n: int) -> np.ndarray | None:
    """A column the API does not ask for, filled with its training ``value`` (as ``_cast`` of
    that value would give); None where only :func:`_cast` knows the answer."""
    if dtype == "float64" and type(value) in (float, int):
        return np.full(n, value, dtype=dtype)
    if dtype == "int64" and type(value) is int:
        return np.full(n, value, dtype=dtype)
    if dtype == "object" and (value is None or type(value) in (str, float, int)):
        out = np.empty(n, dtype=object)
        out[:] = np.nan if value is None or value != value else value
        return out
    return None


# ---------------------------------------------------------------------------------------------
# which raw columns are inputs


def input_sample(raw: pd.DataFrame, heldout: list[Any] | None) -> pd.DataFrame:
    """Up to :data:`INPUT_CHECK_ROWS` raw rows spread across the data."""
    n = len(raw)
    if n <= INPUT_CHECK_ROWS:
        return raw.reset_index(drop=True)
    picks = np.linspace(0, n - 1, INPUT_CHECK_ROWS).round().astype(int)
    return raw.iloc[np.unique(picks)].reset_index(drop=True)


def find_inputs(
    program: Callable[[dict[str, Any]], dict[str, Any]],
    state: FeatureState,
    sample: pd.DataFrame,
    model: Any = None,
) -> list[str]:
    """The raw columns the model's input depends on.

    Each column in turn is replaced by other values of its own training distribution (its
    categories, or its extremes and quantiles); a column whose replacement changes nothing in the
    features the model reads is not an input (an id, the target, a column the notebook drops or a
    ColumnTransformer leaves out). The answer does not depend on what a fitted model happened to
    learn, so it still holds when train.py retrains on new data."""
    used = used_columns(model)
    base = _read(transform(program, sample, state), used)
    inputs = []
    for column in state.raw_columns:
        perturbed = sample.copy()
        perturbed[column] = _other_values(sample[column])
        try:
            changed = not same(_read(transform(program, perturbed, state), used), base)
        except Exception:
            changed = True
        if changed:
            inputs.append(column)
    return inputs


def _read(features: Any, used: set[Any] | None) -> Any:
    """The part of the features the model reads."""
    if used is None or not isinstance(features, pd.DataFrame):
        return features
    return features[[c for c in features.columns if c in used]]


def used_columns(model: Any) -> set[Any] | None:
    """Columns a Pipeline's leading ColumnTransformer reads (``remainder="drop"``), else None.
    A search or a target transformer around the pipeline is looked through to the fitted model
    it predicts with (``best_estimator_``, ``regressor_``)."""
    step = _predicting(model)
    while hasattr(step, "steps") and step.steps:
        step = _predicting(step.steps[0][1])
    transformers = getattr(step, "transformers_", None)
    names = getattr(step, "feature_names_in_", None)
    if transformers is None or getattr(step, "remainder", "drop") != "drop":
        return None
    used: set[Any] = set()
    for _, transformer, columns in transformers:
        if isinstance(transformer, str) and transformer == "drop":
            continue
        if isinstance(columns, slice) or callable(columns):
            return None
        for column in np.atleast_1d(columns).tolist():
            if isinstance(column, bool):
                return None  # a boolean mask: read them all
            if isinstance(column, int) and names is not None:
                used.add(names[column])
            else:
                used.add(column)
    return used


def _predicting(model: Any) -> Any:
    """The fitted estimator a wrapper predicts with: a search's ``best_estimator_`` (refit), a
    ``TransformedTargetRegressor``'s ``regressor_``; the model itself otherwise."""
    for _ in range(8):
        inner = getattr(model, "best_estimator_", None)
        if inner is None:
            inner = getattr(model, "regressor_", None)
        if inner is None:
            return model
        model = inner
    return model


def _like(values: pd.Series, learned: pd.Series) -> pd.Series:
    """``values`` in the dtype of what training learned, unless a missing group made NaN."""
    if values.isna().any() or values.dtype == learned.dtype:
        return values
    return values.astype(learned.dtype)


def _other_values(series: pd.Series) -> pd.Series:
    clean = series.dropna()
    n = len(series)
    if clean.empty:
        return series
    uniques = pd.unique(clean)
    if len(uniques) <= 50 or not pd.api.types.is_numeric_dtype(series):
        pool = list(uniques)
    else:
        qs = np.nanquantile(clean.to_numpy(dtype=float), [0, 0.05, 0.25, 0.5, 0.75, 0.95, 1])
        pool = [*qs, *clean.sample(min(len(clean), 20), random_state=0)]
    values = [pool[(i * 7 + 3) % len(pool)] for i in range(n)]
    # make every row differ from its own value where the pool allows
    own = series.tolist()
    for i in range(n):
        if len(pool) > 1 and _eq(values[i], own[i]):
            values[i] = pool[(pool.index(values[i]) + 1) % len(pool)]
    out = pd.Series(values, index=series.index)
    try:
        return out.astype(series.dtype)
    except (TypeError, ValueError):
        return out


def _eq(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or (pd.isna(a) and pd.isna(b))
    except (TypeError, ValueError):
        return False


def same(a: Any, b: Any, rtol: float = 1e-9) -> bool:
    """Equal values (floats within ``rtol``, NaN equal to NaN), whatever the container."""
    if (
        isinstance(a, pd.DataFrame)
        and isinstance(b, pd.DataFrame)
        and list(a.columns) != list(b.columns)
    ):
        return False
    left, right = _array(a), _array(b)
    if left.shape != right.shape:
        return False
    if left.dtype.kind in "fiub" and right.dtype.kind in "fiub":
        return bool(np.allclose(left, right, rtol=rtol, atol=1e-12, equal_nan=True))
    lf, rf = left.ravel(), right.ravel()
    for x, y in zip(lf, rf, strict=True):
        if _eq(x, y):
            continue
        try:
            if math.isclose(float(x), float(y), rel_tol=rtol, abs_tol=1e-12):
                continue
        except (TypeError, ValueError):
            pass
        return False
    return True


def _array(value: Any) -> np.ndarray:
    if hasattr(value, "toarray"):  # scipy sparse
        value = value.toarray()
    if isinstance(value, pd.DataFrame | pd.Series):
        frame = value.to_frame() if isinstance(value, pd.Series) else value
        if all(
            pd.api.types.is_numeric_dtype(t) or pd.api.types.is_bool_dtype(t) for t in frame.dtypes
        ):
            return frame.to_numpy(dtype=float, na_value=np.nan)
        return frame.astype(object).to_numpy()
    array = np.asarray(value)
    if array.dtype.kind == "b":
        return array.astype(float)
    return array


# ---------------------------------------------------------------------------------------------
# helpers


def _fitting_call(
    site: str, obj: Any, method: str, serving: str | None, args: Any, kwargs: Any
) -> Any:
    """A fit at training (the fitted object is saved, as it is now); at serving the saved
    object itself, or its ``serving`` method on the first argument."""
    run = _run()
    key = run.key(site)
    if run.fitting:
        result = getattr(obj, method)(*args, **kwargs)
        run.state.learned[key] = _snapshot(obj)
        return result
    saved = run.recall(key, site)
    return saved if serving is None else getattr(saved, serving)(args[0])


def _snapshot(obj: Any) -> Any:
    """A fitted object as it is now (the notebook may refit the same object in a loop)."""
    try:
        return copy.deepcopy(obj)
    except Exception:
        return obj


def _length(value: Any) -> int:
    shape = getattr(value, "shape", None)
    return int(shape[0]) if shape else len(value)


def _is_scalar_label(rows: Any) -> bool:
    return isinstance(rows, str | int | np.integer) and not isinstance(rows, bool)


def _is_rows(obj: Any, key: Any, positional: bool = False) -> bool:
    """Does ``obj[key]`` select rows (a boolean mask or a row slice) of a table or array?"""
    if not isinstance(obj, pd.DataFrame | pd.Series | np.ndarray):
        return False
    rows = key[0] if isinstance(key, tuple) and isinstance(obj, np.ndarray) else key
    if isinstance(rows, slice):
        if rows == slice(None):
            return False
        bounds = [rows.start, rows.stop]
        labels = isinstance(obj, pd.DataFrame) and not positional
        return not (labels and any(isinstance(b, str) for b in bounds))
    if isinstance(rows, pd.Series | np.ndarray | list | pd.Index):
        array = np.asarray(rows)
        if array.dtype.kind == "b":
            return True
        if positional or isinstance(obj, np.ndarray):
            return array.dtype.kind in "iu"
        return not isinstance(obj, pd.DataFrame)  # a DataFrame: a list of column names
    return False


def _columns_part(obj: Any, key: Any, how: str | None) -> Any:
    """At serving: keep the column part of a row selection, all rows."""
    if not isinstance(key, tuple):
        return obj
    rest = key[1:]
    if how is None:
        return obj[(slice(None), *rest)]
    return getattr(obj, how)[(slice(None), *rest)]


def _dtypes(frame: pd.DataFrame) -> dict[str, str]:
    return {str(c): str(t) for c, t in frame.dtypes.items()}


def _conform(frame: pd.DataFrame, columns: list[Any], dtypes: dict[str, str]) -> pd.DataFrame:
    out = frame.reindex(columns=columns, fill_value=0)
    for column in columns:
        want = dtypes.get(str(column))
        if want is not None and str(out[column].dtype) != want:
            with contextlib.suppress(TypeError, ValueError):
                out[column] = out[column].astype(want)
    return out


def _dummy_categories(data: Any, columns: Any) -> dict[Any, list[Any]]:
    """The categories get_dummies encodes, per column (``None`` for a Series), in its order."""

    def of(series: pd.Series) -> list[Any]:
        if isinstance(series.dtype, pd.CategoricalDtype):
            return list(series.cat.categories)
        return sorted(series.dropna().unique().tolist(), key=lambda v: (str(type(v)), v))

    if isinstance(data, pd.Series):
        return {None: of(data)}
    if not isinstance(data, pd.DataFrame):
        return {}
    if columns is None:
        columns = [
            c
            for c in data.columns
            if data[c].dtype == object
            or isinstance(data[c].dtype, pd.CategoricalDtype)
            or pd.api.types.is_string_dtype(data[c].dtype)
        ]
    return {c: of(data[c]) for c in columns}


def _categories_of(value: Any) -> Any:
    if isinstance(value, pd.DataFrame):
        return {
            c: list(value[c].cat.categories)
            for c in value.columns
            if isinstance(value[c].dtype, pd.CategoricalDtype)
        }
    if isinstance(value, pd.Categorical):
        return list(value.categories)
    if isinstance(value, pd.Series) and isinstance(value.dtype, pd.CategoricalDtype):
        return list(value.cat.categories)
    return None


def _as_categorical(series: pd.Series, categories: list[Any]) -> pd.Series:
    return series.astype(object).astype(pd.CategoricalDtype(categories=categories))


def _typical(series: pd.Series) -> Any:
    """The training value a column that is not an input is filled with."""
    clean = series.dropna()
    if clean.empty:
        return None
    value = clean.mode().iloc[0]
    return value.item() if hasattr(value, "item") else value


def _cast(
    series: pd.Series, dtype: str, column: str, state: FeatureState, strict: bool = True
) -> pd.Series:
    try:
        if dtype == "category":
            return _as_categorical(series, state.categories.get(column, []))
        if dtype.startswith("datetime64"):
            return pd.to_datetime(series)
        if dtype == "bool":
            if series.isna().any():
                return series.astype(object)
            return series.astype(bool)
        if dtype.startswith(("int", "uint")):
            numbers = pd.to_numeric(series)
            if numbers.isna().any() or (numbers % 1 != 0).any():
                return numbers.astype(float)
            return numbers.astype(dtype)
        if dtype.startswith("float"):
            return pd.to_numeric(series).astype(dtype)
        if dtype in ("object", "string", "str"):
            if dtype == "object":
                return series.astype(object).where(series.notna(), np.nan)
            return series.astype(dtype)
        return series.astype(dtype)
    except (TypeError, ValueError) as exc:
        if not strict:
            return series
        raise FeatureInputError(f"column {column!r}: expected {dtype} values ({exc})") from None


def _align(x: Any, state: FeatureState, request: pd.Index) -> Any:
    columns = state.output_columns
    if isinstance(x, pd.DataFrame) and columns is not None and list(x.columns) != columns:
        x = _conform(x, columns, state.output_dtypes or {})
    n = len(request)
    if (
        _length(x) != n
        and isinstance(x, pd.DataFrame | pd.Series)
        and x.index.is_unique
        and request.isin(x.index).all()
    ):
        x = x.loc[request]  # the request rows, after code that joined them with a shipped table
    if _length(x) != n:
        raise FeaturePathError(
            f"the feature code returned {_length(x)} rows for {n} request rows (it drops or adds "
            "rows outside the operations mlops-nb knows as training-only)"
        )
    return x


def _heldout_labels(run: _Run, raw: pd.DataFrame) -> list[Any] | None:
    if run.split is None:
        return None
    first, positions = run.split
    index = getattr(first, "index", None)
    if isinstance(first, pd.DataFrame | pd.Series) and index is not None:
        labels = list(index[positions])
    elif _length(first) == len(raw):
        labels = list(raw.index[positions])
    else:
        return None
    known = set(raw.index)
    return labels if all(label in known for label in labels) else None


class _Bunch(dict[str, Any]):
    """A scikit-learn Bunch look-alike (attribute and key access)."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None


def _raw_of(value: Any, state: FeatureState) -> tuple[Any, pd.DataFrame]:
    """Fitting: the loaded value (unchanged unless its index repeats), its raw rows as a frame."""
    if isinstance(value, pd.DataFrame):
        if not value.index.is_unique:
            value = value.reset_index(drop=True)
        state.source_kind = "frame"
        return value, value
    if isinstance(value, tuple) and len(value) == 2:
        x, y = value
        frame = _frame(x, state)
        state.source_kind = "xy"
        state.source_meta = {
            "x_frame": isinstance(x, pd.DataFrame),
            "y_name": getattr(y, "name", None),
        }
        state.target_placeholder = _typical(pd.Series(np.asarray(y)))
        return value, frame
    if hasattr(value, "data") and hasattr(value, "keys"):
        data = value["data"]
        names = value.get("feature_names")
        frame = (
            data
            if isinstance(data, pd.DataFrame)
            else pd.DataFrame(
                np.asarray(data), columns=[str(n) for n in names] if names is not None else None
            )
        )
        frame = _frame(frame, state)
        target = value.get("target")
        state.source_kind = "bunch"
        state.source_meta = {
            "extra": {k: v for k, v in value.items() if k not in {"data", "target", "frame"}},
            "x_frame": isinstance(data, pd.DataFrame),
            "has_frame": value.get("frame") is not None,
            "target_name": getattr(target, "name", "target"),
        }
        if target is not None:
            state.target_placeholder = _typical(pd.Series(np.asarray(target)))
        return value, frame
    if isinstance(value, np.ndarray) and value.ndim == 2:
        state.source_kind = "array"
        return value, _frame(value, state)
    raise TypeError(f"unsupported data source of type {type(value).__name__}")


def _frame(x: Any, state: FeatureState) -> pd.DataFrame:
    if isinstance(x, pd.DataFrame):
        return x if x.index.is_unique else x.reset_index(drop=True)
    array = np.asarray(x)
    names = state.source_meta.get("feature_names")
    columns = names or [f"feature_{i}" for i in range(array.shape[1])]
    return pd.DataFrame(array, columns=columns)


def _request_as(frame: pd.DataFrame, state: FeatureState) -> Any:
    """Serving: the request rows in the shape the data source had."""
    n = len(frame)
    kind, meta = state.source_kind, state.source_meta
    if kind == "frame":
        return frame
    target = pd.Series([state.target_placeholder] * n)
    if kind == "array":
        return frame.to_numpy()
    x: Any = frame if meta.get("x_frame") else frame.to_numpy()
    if kind == "xy":
        y = target.rename(meta.get("y_name")) if meta.get("x_frame") else target.to_numpy()
        return x, y
    bunch = _Bunch(meta.get("extra", {}))
    bunch["data"] = x
    bunch["target"] = (
        target.rename(meta.get("target_name")) if meta.get("x_frame") else target.to_numpy()
    )
    if meta.get("has_frame"):
        bunch["frame"] = frame.assign(
            **{str(meta.get("target_name") or "target"): target.to_numpy()}
        )
    return bunch
