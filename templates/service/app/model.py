"""The model: loaded once (after its sha256 is checked), and the prediction path."""

from __future__ import annotations

import hashlib
import json
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from app.schema import INPUT_COLUMNS, NUMERIC_ONLY

try:  # the notebook's feature code, shared with train.py (absent when the model takes raw columns)
    import features as feature_code
except ImportError:  # pragma: no cover - depends on the generated service
    feature_code = None


class ModelIntegrityError(RuntimeError):
    """model.pkl does not match the digest recorded in metadata.json."""


class PredictionError(ValueError):
    """The model rejected valid-looking input (e.g. an unseen category)."""


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LoadedModel:
    estimator: Any
    metadata: dict[str, Any]
    feature_names: list[str] | None = None
    classes: list[Any] | None = field(default=None)
    feature_state: Any = None

    def predict_rows(self, rows: list[Any]) -> list[Any]:
        """Predict for rows of values in INPUT_COLUMNS order."""
        if feature_code is not None:
            import pandas as pd

            frame = pd.DataFrame.from_records(rows, columns=INPUT_COLUMNS)
            try:
                data: Any = feature_code.transform(frame, self.feature_state)
            except ValueError as exc:
                raise PredictionError(str(exc).splitlines()[0][:300]) from None
        elif NUMERIC_ONLY:
            data = np.asarray(rows, dtype=np.float64)
        else:
            import pandas as pd

            data = pd.DataFrame.from_records(rows, columns=INPUT_COLUMNS)
        try:
            with np.errstate(all="ignore"):
                predictions = self.estimator.predict(data)
        except (ValueError, TypeError, KeyError) as exc:
            raise PredictionError(str(exc).splitlines()[0][:300]) from None
        return np.asarray(predictions).tolist()


def _trust_validated_inputs() -> None:
    """Requests are validated (finite numbers, right types) before they reach the model, so
    scikit-learn may skip its own finiteness scan (about half the cost of a small predict)."""
    try:
        import sklearn
    except ImportError:  # pragma: no cover - not a scikit-learn model
        return
    sklearn.set_config(assume_finite=True)


def load(model_dir: Path) -> LoadedModel:
    """Load model.pkl after checking its sha256 against metadata.json."""
    metadata = json.loads((model_dir / "metadata.json").read_text())
    path = model_dir / "model.pkl"
    actual = sha256_of(path)
    if actual != metadata["model_sha256"]:
        raise ModelIntegrityError(
            f"{path} has sha256 {actual}, metadata.json expects {metadata['model_sha256']}; "
            "refusing to load it"
        )
    with path.open("rb") as handle:
        estimator = pickle.load(handle)  # trusted: digest checked above
    # predicting from arrays is the fast path; the column order is fixed by the schema
    warnings.filterwarnings("ignore", message="X does not have valid feature names")
    if feature_code is None:
        _trust_validated_inputs()
    names = getattr(estimator, "feature_names_in_", None)
    classes = getattr(estimator, "classes_", None)
    state = None
    if feature_code is not None:
        state = feature_code.load_state(model_dir / "features.pkl")
    return LoadedModel(
        feature_state=state,
        estimator=estimator,
        metadata=metadata,
        feature_names=list(names) if names is not None else None,
        classes=np.asarray(classes).tolist() if classes is not None else None,
    )
