"""The one place mlops-nb reads MLflow's model format itself: a scikit-learn model MLflow saved
on this machine, loaded and fed exactly as ``mlflow.pyfunc`` would, without importing MLflow.

Why: the no-regression gate of a cold ``mlops-nb promote`` scores two models in a worker
process (see :mod:`.scorer`); importing ``mlflow.pyfunc`` there (~1.5 s) and resolving
``models:/`` through the store (SQLAlchemy, alembic: ~0.6 s more) costs more than loading and
scoring both models. The promotion already knows where each version's files are
(``MlflowClient.get_model_version_download_uri``); when that is a folder on this machine and the
model is one this module reproduces exactly, the worker loads it with scikit-learn's own tools.

Exactly, or not at all: every case this module does not reproduce exactly raises
:class:`NotDirect`, and the caller loads the model with ``mlflow.pyfunc`` as before. Reproduced:

- ``python_function`` flavor with ``loader_module: mlflow.sklearn`` and no ``code`` paths, the
  file ``data`` / ``model_path`` names (as ``mlflow.sklearn._load_pyfunc`` finds it), serialized
  as ``skops`` (``skops.io.load`` with the flavor's ``skops_trusted_types``), ``pickle`` or
  ``cloudpickle``; ``MLFLOW_ALLOW_PICKLE_DESERIALIZATION`` is honoured (off: MLflow refuses);
- ``predict_fn`` ``predict`` or one of the estimator methods MLflow's wrapper exposes;
- input: no signature (the frame as is), or a column signature with names whose columns the
  frame holds with exactly the dtype MLflow would leave unconverted: MLflow then passes those
  columns, in the signature's order, to the estimator. Any conversion, missing column, tensor
  or object type, or type-hint signature: :class:`NotDirect`.

Tied to the MLmodel fields above and to MLflow's signature JSON; ``tests/unit/registry/
test_model_files.py`` logs a model with MLflow and fails when what MLflow writes or predicts no
longer matches this module.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

#: MLflow data types → the dtype MLflow passes through unconverted (``DataType.to_numpy``)
EXACT_DTYPES = {
    "boolean": ("bool",),
    "integer": ("int32",),
    "long": ("int64",),
    "float": ("float32",),
    "double": ("float64",),
    "string": ("object", "string"),
}
#: what MLflow's sklearn wrapper exposes besides ``predict`` (``_SUPPORTED_CUSTOM_PREDICT_FN``)
PREDICT_FNS = ("predict", "predict_proba", "predict_log_proba", "predict_joint_log_proba", "score")
FORMATS = ("skops", "pickle", "cloudpickle")


class NotDirect(Exception):
    """mlops-nb does not reproduce this model's loading exactly: load it with MLflow."""


def local_dir(uri: str | None) -> str | None:
    """A ``file://`` URI or a path of a model folder on this machine (it holds an ``MLmodel``
    file) → that folder; anything else (``mlflow-artifacts:/``, ``s3://``, ...) → None."""
    if not uri:
        return None
    parsed = urlparse(uri)
    if parsed.scheme == "file" and parsed.netloc in ("", "localhost"):
        path = Path(unquote(parsed.path))
    elif parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        path = Path(uri)
    else:
        return None
    return str(path) if (path / "MLmodel").is_file() else None


@dataclass(frozen=True)
class DirectModel:
    """A loaded estimator and how ``mlflow.pyfunc`` would call it."""

    estimator: Any
    predict_fn: str
    columns: tuple[tuple[str, str, bool], ...] | None  # (name, MLflow type, required)

    def predict(self, features: Any) -> Any:
        return getattr(self.estimator, self.predict_fn)(self.model_input(features))

    def model_input(self, features: Any) -> Any:
        """What MLflow's schema enforcement hands the estimator, when it changes nothing but
        the columns' selection and order; else :class:`NotDirect`."""
        import pandas as pd

        if self.columns is None:
            return features
        if not isinstance(features, pd.DataFrame):
            raise NotDirect("not a DataFrame")
        present = []
        for name, kind, required in self.columns:
            if name not in features.columns:
                if required:
                    raise NotDirect(f"missing column {name!r}")  # MLflow states the error
                continue
            if str(features[name].dtype) not in EXACT_DTYPES[kind]:
                raise NotDirect(f"column {name!r} would be converted")
            present.append(name)
        if present == list(features.columns):
            return features
        return features[present]


def _yaml(path: Path) -> dict[str, Any]:
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with path.open(encoding="utf-8") as f:
        data = yaml.load(f, Loader=loader)
    if not isinstance(data, dict):
        raise NotDirect("MLmodel is not a mapping")
    return data


def _columns(meta: dict[str, Any]) -> tuple[tuple[str, str, bool], ...] | None:
    if meta.get("is_signature_from_type_hint") or meta.get("type_hint_from_example"):
        raise NotDirect("a type-hint signature")
    signature = meta.get("signature") or {}
    if signature.get("params"):
        raise NotDirect("a params schema")
    raw = signature.get("inputs")
    if not raw:
        return None
    specs = json.loads(raw) if isinstance(raw, str) else raw
    columns = []
    for spec in specs:
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in EXACT_DTYPES or not isinstance(spec.get("name"), str):
            raise NotDirect("not a named column signature of scalar types")
        columns.append((spec["name"], kind, bool(spec.get("required", True))))
    return tuple(columns)


def _allowed() -> bool:
    value = os.environ.get("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "true")
    return value.strip().lower() in ("true", "1")


def load(model_dir: str) -> DirectModel:
    """The estimator saved in ``model_dir`` (an MLflow model folder), or :class:`NotDirect`."""
    root = Path(model_dir)
    meta = _yaml(root / "MLmodel")
    flavors = meta.get("flavors") or {}
    pyfunc, sk = flavors.get("python_function") or {}, flavors.get("sklearn") or {}
    if pyfunc.get("loader_module") != "mlflow.sklearn" or not sk:
        raise NotDirect("not an mlflow.sklearn model")
    if pyfunc.get("code") or sk.get("code") or pyfunc.get("model_config"):
        raise NotDirect("code paths or a model config")
    fmt = sk.get("serialization_format", "pickle")
    if fmt not in FORMATS or not _allowed():
        raise NotDirect(f"serialization {fmt!r} or deserialization disallowed")
    path = root / pyfunc["data"] if pyfunc.get("data") else root
    if path.is_dir():
        path = path / str(pyfunc.get("model_path") or "")
    if not path.is_file():
        raise NotDirect("no model file")
    predict_fn = str(pyfunc.get("predict_fn") or "predict")
    if predict_fn not in PREDICT_FNS:
        raise NotDirect(f"predict_fn {predict_fn!r}")
    columns = _columns(meta)
    estimator = _read(path, fmt, sk.get("skops_trusted_types"))
    if not callable(getattr(estimator, predict_fn, None)):
        raise NotDirect(f"the estimator has no {predict_fn}")
    return DirectModel(estimator, predict_fn, columns)


def _read(path: Path, fmt: str, trusted: Any) -> Any:
    if fmt == "skops":
        import skops.io

        return skops.io.load(str(path), trusted=trusted)
    with path.open("rb") as f:
        if fmt == "pickle":
            import pickle

            return pickle.load(f)  # what mlflow.sklearn does for this format
        import cloudpickle

        return cloudpickle.load(f)
