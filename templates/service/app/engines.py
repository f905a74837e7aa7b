"""The two ways to run the model: onnxruntime (when productionize found a converted model that
reproduces it) and the pickled scikit-learn model. Both take the model's input and return the
predictions as JSON-ready Python values."""

from __future__ import annotations

import math
import os
from operator import itemgetter
from typing import Any

import numpy as np

from app.onnx_session import direct_run


class PredictionError(ValueError):
    """The model rejected valid-looking input (e.g. an unseen category)."""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]


class SklearnEngine:
    """The pickled model's own ``predict``."""

    name = "sklearn"

    def __init__(self, estimator: Any) -> None:
        self.estimator = estimator
        classes = getattr(estimator, "classes_", None)
        self.classes = np.asarray(classes).tolist() if classes is not None else None

    def predict(self, data: Any) -> list[Any]:
        try:
            with np.errstate(all="ignore"):
                predictions = self.estimator.predict(data)
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise PredictionError(_first_line(exc)) from None
        return list(one_per_row(predictions).tolist())


def one_per_row(predictions: Any) -> np.ndarray:
    """One value per row: CatBoost's classifiers (and any estimator answering with a column
    vector) give shape (n, 1)."""
    values = np.asarray(predictions)
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values


class OnnxEngine:
    """An onnxruntime session (one intra-op thread: one worker, one core) and its input layout
    (``engine.json`` written by productionize: one matrix input, or one input per column)."""

    name = "onnx"

    def __init__(
        self,
        model_bytes: bytes,
        description: dict[str, Any],
        classes: list[Any] | None,
        passthrough: dict[str, Any] | None = None,
    ) -> None:
        # onnxruntime's official builds send usage telemetry unless told not to before they load
        os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )
        inputs = description["inputs"]
        self.mode: str = inputs["mode"]
        self.names: list[str] = inputs["names"]
        self._run = direct_run(self.session, self.names)
        self.dtypes: list[Any] = [object if d == "str" else np.dtype(d) for d in inputs["dtypes"]]
        # why a prediction the notebook's model (float64) computes may overflow here
        self.precision_note = (
            " (this ONNX engine computes in float32: beyond about 3.4e38 a value overflows)"
            if "float32" in inputs["dtypes"]
            else ""
        )
        self.columns: list[str] = inputs["columns"]
        # the request column each model input comes from (``passthrough``: the API column, or
        # None for a constant: the training value of a raw column the API does not ask for)
        self.sources: list[str | None] = list(
            passthrough["columns"] if passthrough else self.columns
        )
        constants = (passthrough or {}).get("constants") or [None] * len(self.sources)
        self.constants: list[Any] = list(constants)
        width = len(self.columns) if self.mode == "columns" or self.columns else len(self.sources)
        if len(self.sources) != width or len(self.constants) != width:
            raise ValueError("engine.json: passthrough names one API column per model input")
        self.labels = [s if s is not None else f"input {i}" for i, s in enumerate(self.sources)]
        self._plans: dict[tuple[str, ...], Any] = {}
        outputs = description["outputs"]
        # labels from the probabilities, ties to the first class (as the model's own argmax)
        self.tie: float | None = (
            outputs["tie_tolerance"]
            if outputs.get("labels_from") == "probabilities" and classes
            else None
        )
        self.output = [outputs["probabilities"] if self.tie is not None else outputs["label"]]
        self.regressor = outputs["kind"] == "regressor"
        self.classes = classes
        # columns where the model itself refuses a missing value (ONNX would answer anyway)
        refused = description.get("refuses_missing", [])
        # (a matrix of unnamed columns names them by position)
        named = [self.labels[i] if i < len(self.labels) else f"column {i}" for i in refused]
        self.refused_feeds: list[tuple[str, int | None, str]] = [
            (self.names[0], i, label) if self.mode == "matrix" else (self.names[i], None, label)
            for i, label in zip(refused, named, strict=True)
        ]
        plain = (
            classes
            and all(type(c) is type(classes[0]) for c in classes)
            and type(classes[0]) in (int, str)
        )
        self.lookup = None if plain or not classes else {_key(c): c for c in classes}

    def feeds_from_rows(self, rows: Any, columns: list[str]) -> dict[str, np.ndarray]:
        """Feeds from request rows (tuples of values in ``columns`` order): each model input
        takes its source column, unchanged (one array conversion per input, no per-row work for a
        matrix model that takes the request's columns in order)."""
        try:
            return self._feeds(rows, columns)
        except (ValueError, TypeError) as exc:  # e.g. a missing value for an integer input
            raise PredictionError(_first_line(exc)) from None

    def _plan(self, columns: list[str]) -> Any:
        """How rows in ``columns`` order become the model's inputs (cached per column order):
        for a matrix, None (the rows are the matrix) or a function from a row to the model's row;
        else (input name, dtype, row position or None, constant) per input."""
        key = tuple(columns)
        plan = self._plans.get(key, _UNPLANNED)
        if plan is _UNPLANNED:
            positions = [None if s is None else columns.index(s) for s in self.sources]
            if self.mode == "matrix":
                if positions == list(range(len(columns))):
                    plan = None
                elif None not in positions and len(positions) > 1:
                    plan = itemgetter(*positions)
                else:
                    spec = list(zip(positions, self.constants, strict=True))
                    plan = lambda row: tuple(c if i is None else row[i] for i, c in spec)  # noqa: E731
            else:
                plan = list(zip(self.names, self.dtypes, positions, self.constants, strict=True))
            self._plans[key] = plan
        return plan

    def _feeds(self, rows: Any, columns: list[str]) -> dict[str, np.ndarray]:
        plan = self._plan(columns)
        if isinstance(rows, np.ndarray):  # an all-number batch, already one matrix
            if self.mode == "matrix" and plan is None:
                return {self.names[0]: rows.astype(self.dtypes[0], copy=False)}
            rows = rows.tolist()
        if self.mode == "matrix":
            matrix = rows if plan is None else list(map(plan, rows))
            dtype = self.dtypes[0]
            if dtype.kind in "iu" and any(v is None for r in matrix for v in r):
                raise PredictionError("the model's integer input has no missing value")
            return {self.names[0]: np.array(matrix, dtype=dtype)}
        out = {}
        for k, (name, dtype, i, constant) in enumerate(plan):
            column = [constant] * len(rows) if i is None else [r[i] for r in rows]
            if dtype is object:
                array = np.array(["" if v is None else str(v) for v in column], dtype=object)
            else:
                if dtype.kind in "iu" and None in column:
                    raise PredictionError(
                        f"{self.labels[k]}: the model's integer input has no missing value"
                    )
                array = np.array(column, dtype=dtype)
            out[name] = array.reshape(-1, 1)
        return out

    def feeds_from_data(self, data: Any) -> dict[str, np.ndarray]:
        """Feeds from the feature code's output (a DataFrame or an array)."""
        if self.mode == "matrix":
            array = data.to_numpy() if hasattr(data, "to_numpy") else np.asarray(data)
            return {self.names[0]: np.ascontiguousarray(array, dtype=self.dtypes[0])}
        out = {}
        for name, dtype, column in zip(self.names, self.dtypes, self.columns, strict=True):
            values = data[column].to_numpy()
            if dtype is not object and dtype.kind in "iu" and data[column].isna().any():
                # an integer input cannot hold a missing value: refuse rather than cast NaN
                raise PredictionError(f"{column}: the model's integer input has no missing value")
            out[name] = (values.astype(str) if dtype is object else values.astype(dtype)).reshape(
                -1, 1
            )
        return out

    def _refuse_missing(self, feeds: dict[str, np.ndarray]) -> None:
        if self.mode == "matrix":  # one check for the common case: no missing value at all
            matrix = feeds[self.names[0]]
            # the minimum is NaN exactly when a value is (one C call, no temporary array, and
            # no floating-point warning whatever the values, unlike a sum)
            if matrix.dtype.kind != "f" or not math.isnan(np.minimum.reduce(matrix, None)):
                return
        missing = [
            column
            for name, position, column in self.refused_feeds
            if np.isnan(feeds[name][:, position] if position is not None else feeds[name]).any()
        ]
        if missing:
            raise PredictionError(
                f"the model does not accept a missing value in {', '.join(missing)} "
                "(the notebook's model raises on it too)"
            )

    def run(self, feeds: dict[str, np.ndarray]) -> list[Any]:
        if self.refused_feeds:
            self._refuse_missing(feeds)
        try:
            result = self._run(self.output, feeds)[0]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise PredictionError(_first_line(exc)) from None
        if self.regressor:
            values = result.ravel() if result.ndim == 2 and result.shape[1] == 1 else result
            if not np.all(np.isfinite(values)):
                raise PredictionError(
                    "the model produced a non-finite prediction for this input"
                    + self.precision_note
                )
            return list(values.astype(np.float64).tolist())
        if self.tie is not None and self.classes is not None:
            if result.size <= _PYTHON_ARGMAX:  # a micro-batch: plain Python beats numpy's calls
                tie, classes = self.tie, self.classes
                return [_first_within(scores, tie, classes) for scores in result.tolist()]
            top = result.max(axis=1, keepdims=True).astype(np.float64)  # as Python's floats
            chosen = np.argmax(result >= top - self.tie, axis=1)
            return [self.classes[i] for i in chosen.tolist()]
        labels = result.ravel().tolist()
        if self.lookup is not None:
            return [self.lookup.get(_key(v), v) for v in labels]
        return list(labels)

    def predict(self, data: Any) -> list[Any]:
        try:
            feeds = self.feeds_from_data(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise PredictionError(_first_line(exc)) from None
        return self.run(feeds)


_UNPLANNED = object()
#: up to this many probabilities (rows x classes), labels are picked in Python: numpy's max,
#: comparison and argmax cost ~6 us together whatever the size, Python ~0.35 us a value
_PYTHON_ARGMAX = 32


def _first_within(scores: list[float], tie: float, classes: list[Any]) -> Any:
    """The first class whose probability is within ``tie`` of the highest (as numpy's
    ``argmax(result >= max - tie)``)."""
    floor = max(scores) - tie
    for i, value in enumerate(scores):
        if value >= floor:
            return classes[i]
    return classes[0]


def _key(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
