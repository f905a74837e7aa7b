"""The two ways to run the model: onnxruntime (when productionize found a converted model that
reproduces it) and the pickled scikit-learn model. Both take the model's input and return the
predictions as JSON-ready Python values."""

from __future__ import annotations

from typing import Any

import numpy as np


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
        self, model_bytes: bytes, description: dict[str, Any], classes: list[Any] | None
    ) -> None:
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
        self.dtypes: list[Any] = [object if d == "str" else np.dtype(d) for d in inputs["dtypes"]]
        self.columns: list[str] = inputs["columns"]
        self._plans: dict[tuple[str, ...], list[tuple[str, Any, int]]] = {}
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
        self.refused_feeds: list[tuple[str, int | None, str]] = [
            (self.names[0], i, self.columns[i] if self.columns else str(i))
            if self.mode == "matrix"
            else (self.names[i], None, self.columns[i])
            for i in refused
        ]
        plain = (
            classes
            and all(type(c) is type(classes[0]) for c in classes)
            and type(classes[0]) in (int, str)
        )
        self.lookup = None if plain or not classes else {_key(c): c for c in classes}

    def feeds_from_rows(self, rows: list[Any], columns: list[str]) -> dict[str, np.ndarray]:
        """Feeds from request rows (tuples in ``columns`` order, the model's own columns)."""
        if self.mode == "matrix":
            return {self.names[0]: np.array(rows, dtype=self.dtypes[0])}
        plan = self._plans.get(tuple(columns))
        if plan is None:
            plan = self._plans[tuple(columns)] = [
                (name, dtype, columns.index(column))
                for name, dtype, column in zip(self.names, self.dtypes, self.columns, strict=True)
            ]
        if len(rows) == 1:
            row = rows[0]
            return {
                name: np.array([["" if row[i] is None else str(row[i])]], dtype=object)
                if dtype is object
                else np.array([[row[i]]], dtype=dtype)
                for name, dtype, i in plan
            }
        out = {}
        for name, dtype, i in plan:
            if dtype is object:
                values = np.array([("" if r[i] is None else str(r[i])) for r in rows], dtype=object)
            else:
                values = np.array([r[i] for r in rows], dtype=dtype)
            out[name] = values.reshape(-1, 1)
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
            result = self.session.run(self.output, feeds)[0]
        except Exception as exc:  # onnxruntime raises its own exception types
            raise PredictionError(_first_line(exc)) from None
        if self.regressor:
            values = result.ravel() if result.ndim == 2 and result.shape[1] == 1 else result
            if not np.all(np.isfinite(values)):
                raise PredictionError("the model produced a non-finite prediction for this input")
            return list(values.astype(np.float64).tolist())
        if self.tie is not None and self.classes is not None:
            top = result.max(axis=1, keepdims=True)
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


def _key(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
