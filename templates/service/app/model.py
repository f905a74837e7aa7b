"""The model: loaded once (after its sha256 is checked), the feature hook, the prediction path."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import math
import pickle
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from app.engines import OnnxEngine, PredictionError, SklearnEngine
from app.payloads import Rows
from app.schema import INPUT_COLUMNS, NUMERIC_ONLY

__all__ = ["LoadedModel", "ModelIntegrityError", "PredictionError", "load", "short_reason"]


class ModelIntegrityError(RuntimeError):
    """A model file does not match the digest recorded when the service was made."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _checked(path: Path, expected: str) -> bytes:
    data = path.read_bytes()
    if hashlib.sha256(data).hexdigest() != expected:
        raise ModelIntegrityError(
            f"{path.name} does not match the sha256 recorded in metadata.json"
        )
    return data


def feature_hook(model_dir: Path) -> Callable[[Any], Any] | None:
    """The one place the service calls the notebook's feature code (``features.py``, absent when
    the model takes the API's columns as they are): ``transform(frame, state)`` with the state
    loaded once from ``model/features.pkl``, or the older ``build_features(frame)``."""
    if importlib.util.find_spec("features") is None:
        return None
    import features  # an error in the feature code is a load failure, reported by /readyz

    transform = getattr(features, "transform", None)
    load_state = getattr(features, "load_state", None)
    if transform is not None and load_state is not None:
        state = load_state(model_dir / "features.pkl")
        return lambda frame: transform(frame, state)
    build: Callable[[Any], Any] | None = getattr(features, "build_features", None)
    if build is None:
        raise ImportError("features.py has neither transform/load_state nor build_features")
    return build


@dataclass
class LoadedModel:
    engine: SklearnEngine | OnnxEngine
    metadata: dict[str, Any]
    features: Callable[[Any], Any] | None = None
    #: the scikit-learn model's input straight from the request rows, in place of the feature
    #: code (``request_matrix``); None: the feature code builds it
    matrix: Callable[[Rows], np.ndarray] | None = None

    @property
    def classes(self) -> list[Any] | None:
        return self.engine.classes

    def predict_rows(self, rows: Rows) -> list[Any]:
        """Predict for rows of values in INPUT_COLUMNS order (tuples, or one number matrix)."""
        direct = isinstance(self.engine, OnnxEngine) or self.matrix is not None
        if isinstance(rows, np.ndarray) and not direct:
            rows = rows.tolist()  # the pickled model and the feature code take the general path
        if self.matrix is not None:
            predictions = self.engine.predict(self.matrix(rows))
        elif self.features is not None:
            import pandas as pd

            frame = pd.DataFrame.from_records(rows, columns=INPUT_COLUMNS)
            try:
                data = self.features(frame)
            except (ValueError, TypeError, KeyError) as exc:
                raise PredictionError(str(exc).splitlines()[0][:300]) from None
            predictions = self.engine.predict(data)
        elif isinstance(self.engine, OnnxEngine):
            predictions = self.engine.run(self.engine.feeds_from_rows(rows, INPUT_COLUMNS))
        elif NUMERIC_ONLY:
            predictions = self.engine.predict(np.array(rows, dtype=np.float64))
        else:
            import pandas as pd

            predictions = self.engine.predict(
                pd.DataFrame.from_records(rows, columns=INPUT_COLUMNS)
            )
        if (
            predictions
            and isinstance(predictions[0], float)
            and not all(map(math.isfinite, predictions))
        ):
            raise PredictionError("the model produced a non-finite prediction for this input")
        return predictions


def load(model_dir: Path, engine: str = "auto") -> LoadedModel:
    """Load the engine productionize chose (``engine.json``), after checking the file's sha256.

    ``engine``: ``auto`` (what productionize chose), ``sklearn`` (the pickle, when its libraries
    are installed) or ``onnx`` (fails when there is no converted model)."""
    metadata = json.loads((model_dir / "metadata.json").read_text())
    engine_file = model_dir / "engine.json"
    description = json.loads(engine_file.read_text()) if engine_file.is_file() else None
    description = description or {"engine": "sklearn", "reason": "no engine.json", "parity": None}
    use_onnx = description["engine"] == "onnx" if engine == "auto" else engine == "onnx"
    classes = metadata.get("classes")
    passthrough = passthrough_columns(description)
    if use_onnx and passthrough is not None:
        features = None  # the model takes the API's columns as they are: no feature code at all
    else:
        features = feature_hook(model_dir)
        if features is None and passthrough is not None:
            raise ModelIntegrityError(
                f"ENGINE={engine} needs the feature code (features.py), which this image leaves "
                "out: the ONNX engine serves it without"
            )
    if use_onnx:
        if description["engine"] != "onnx":
            raise ModelIntegrityError("ENGINE=onnx, but this service has no converted model")
        data = _checked(model_dir / "model.onnx", description["onnx_sha256"])
        runner: SklearnEngine | OnnxEngine = OnnxEngine(data, description, classes, passthrough)
    else:
        data = _checked(model_dir / "model.pkl", metadata["model_sha256"])
        estimator = pickle.loads(data)  # trusted: digest checked above
        # rows go to the model as arrays in the schema's column order; requests are validated
        # (finite numbers, right types) before they reach it, so skip its own finiteness scan
        warnings.filterwarnings("ignore", message="X does not have valid feature names")
        if features is None:
            try:
                import sklearn

                sklearn.set_config(assume_finite=True)
            except ImportError:  # pragma: no cover - not a scikit-learn model
                pass
        runner = SklearnEngine(estimator)
    served = {**description, "engine": runner.name}
    if runner.name != description["engine"]:
        served["reason"] = f"ENGINE={engine} (productionize chose {description['engine']})"
    matrix = None
    if isinstance(runner, SklearnEngine) and passthrough is not None and features is not None:
        matrix = request_matrix(passthrough)
        checked = _answers_alike(runner, features, matrix, model_dir) if matrix else 0
        if checked:
            served["request_matrix"] = {"rows_checked": checked}
        else:
            matrix = None
    return LoadedModel(runner, {**metadata, "engine": served}, features, matrix)


def request_matrix(passthrough: dict[str, Any]) -> Callable[[Rows], np.ndarray] | None:
    """The model's input as one float64 matrix built from request rows, where productionize
    proved the feature code only passes the API's columns through (``passthrough``: the API column
    or constant behind each model column) and every API column and constant is a number; None
    otherwise. The scikit-learn engine then skips the feature code and pandas: a DataFrame costs
    scikit-learn more than the prediction itself (650 against 255 µs for one row of a scaler and
    a logistic regression)."""
    sources: list[str | None] = passthrough["columns"]
    constants = passthrough.get("constants") or [None] * len(sources)
    if not NUMERIC_ONLY or len(constants) != len(sources):
        return None
    numbers = all(
        s is not None or (isinstance(c, int | float) and not isinstance(c, bool))
        for s, c in zip(sources, constants, strict=True)
    )
    if not numbers:
        return None
    positions = [None if s is None else INPUT_COLUMNS.index(s) for s in sources]
    if positions == list(range(len(INPUT_COLUMNS))):
        return lambda rows: np.array(rows, dtype=np.float64)
    filled = np.array(
        [0.0 if p is not None else c for p, c in zip(positions, constants, strict=True)]
    )
    into = [i for i, p in enumerate(positions) if p is not None]
    taken = [p for p in positions if p is not None]

    def matrix(rows: Rows) -> np.ndarray:
        values = np.array(rows, dtype=np.float64)
        out = np.repeat(filled[np.newaxis, :], len(values), axis=0)
        out[:, into] = values[:, taken]
        return out

    return matrix


def _answers_alike(
    runner: SklearnEngine,
    features: Callable[[Any], Any],
    matrix: Callable[[Rows], np.ndarray],
    model_dir: Path,
) -> int:
    """How many rows (the input example and up to 500 reference rows) the model answers exactly
    alike from ``matrix`` and from the feature code's output; 0 when any differs or either fails
    (a model that reads columns by name, or behaves otherwise on an array than on a frame)."""
    import pandas as pd

    from app.monitoring import reference_rows

    example = json.loads((model_dir / "input_example.json").read_text())
    rows = [tuple(r[c] for c in INPUT_COLUMNS) for r in example["records"]]
    if (model_dir / "reference.csv").is_file():
        rows += reference_rows(model_dir / "reference.csv", 500)
    try:
        frame = pd.DataFrame.from_records(rows, columns=INPUT_COLUMNS)
        expected = runner.predict(features(frame))
        got = runner.predict(matrix(rows))
    except Exception:  # any failure keeps the feature code
        return 0
    return len(rows) if got == expected else 0


def passthrough_columns(description: dict[str, Any]) -> dict[str, Any] | None:
    """``engine.json``'s ``passthrough`` (productionize proved the feature code
    only selects and renames the API's columns: ``columns``, one API column per model input, None
    for a model input fed the constant in ``constants``); None otherwise."""
    passthrough = description.get("passthrough")
    if not isinstance(passthrough, dict):
        return None
    columns = passthrough.get("columns")
    if not isinstance(columns, list) or not all(c is None or c in INPUT_COLUMNS for c in columns):
        raise ModelIntegrityError("engine.json: passthrough names a column the API does not have")
    return passthrough


def short_reason(exc: BaseException) -> str:
    """Why the model failed to load, in a few words and without paths (shown by /readyz)."""
    if isinstance(exc, ModelIntegrityError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"a model file is missing ({Path(str(exc.filename or '')).name or 'unknown'})"
    if isinstance(exc, ImportError):
        return f"a library the model needs is not installed ({exc.name})"
    if isinstance(exc, json.JSONDecodeError | KeyError):
        return f"metadata.json is unreadable ({type(exc).__name__})"
    return f"{type(exc).__name__} while loading the model"
