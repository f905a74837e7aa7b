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

    @property
    def classes(self) -> list[Any] | None:
        return self.engine.classes

    def predict_rows(self, rows: Rows) -> list[Any]:
        """Predict for rows of values in INPUT_COLUMNS order (tuples, or one number matrix)."""
        if isinstance(rows, np.ndarray) and not isinstance(self.engine, OnnxEngine):
            rows = rows.tolist()  # the pickled model and the feature code take the general path
        if self.features is not None:
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
    return LoadedModel(runner, {**metadata, "engine": served}, features)


def passthrough_columns(description: dict[str, Any]) -> dict[str, Any] | None:
    """``engine.json``'s ``passthrough`` for an ONNX engine (productionize proved the feature code
    only selects and renames the API's columns: ``columns``, one API column per model input, None
    for a model input fed the constant in ``constants``); None otherwise."""
    passthrough = description.get("passthrough")
    if description.get("engine") != "onnx" or not isinstance(passthrough, dict):
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
