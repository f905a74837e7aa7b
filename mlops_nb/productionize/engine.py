"""The compiled engine: convert a fitted model to ONNX; keep it only when it reproduces the model.

Pure library (no files)::

    choose_engine(model, X_sample, requested="auto") -> EngineChoice

``X_sample`` is a sample of the *model's* inputs (what ``model.predict`` takes: a DataFrame or an
array, e.g. the reference rows after the feature code). The model is converted with ``skl2onnx``
(scikit-learn estimators, Pipelines, ColumnTransformers; XGBoost and LightGBM through
``onnxmltools``' converters when those libraries are installed), run by ``onnxruntime`` on the
sample, and compared with the model's own ``predict``/``predict_proba``:

* classifiers: identical labels (same values and types) on every row, and probabilities within
  :data:`PROBA_TOLERANCE` (absolute);
* regressors: predictions within :data:`VALUE_TOLERANCE` relative to ``max(1, |y|)``.

Numeric inputs are converted in double precision first (exact for linear models, scalers and
trees), then in single precision. ``auto`` serves ONNX when one conversion passes, else scikit-learn
with the reason; ``onnx`` raises :class:`EngineError` instead of falling back; ``sklearn`` skips the
conversion. :func:`save_choice` writes a choice into the service's ``model/`` folder
(``model.onnx``, ``engine.json``); productionize's fidelity probe chooses where the model is loaded.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from mlops_nb.exceptions import ConfigError, MlopsNbError

Engine = Literal["onnx", "sklearn"]
REQUESTS = ("auto", "onnx", "sklearn")
PROBA_TOLERANCE = 1e-5  # absolute, per class probability
VALUE_TOLERANCE = 1e-6  # regression: |onnx - model| <= VALUE_TOLERANCE * max(1, |model|)
PARITY_ROWS = 2000  # rows of the sample the parity check uses (at most)
#: classes whose probabilities lie this close to the highest count as tied; the first one wins,
#: as scikit-learn's argmax does (forests' votes tie exactly, ONNX's float32 sums do not)
TIE_TOLERANCE = PROBA_TOLERANCE
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}


class EngineError(MlopsNbError):
    """``--engine onnx`` was asked for but the model cannot be served by onnxruntime faithfully."""


@dataclass(frozen=True)
class InputSpec:
    """How the service feeds the ONNX graph.

    ``matrix``: one input ``names[0]`` of shape (rows, len(columns)) and dtype ``dtypes[0]``;
    ``columns``: one input per column (shape (rows, 1)), named like the column."""

    mode: Literal["matrix", "columns"]
    names: list[str]
    dtypes: list[str]  # float64 | float32 | int64 | str
    columns: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Parity:
    """The comparison of the ONNX engine with the model on the reference sample."""

    rows: int
    passed: bool
    labels_identical: bool | None  # None: a regressor
    max_abs_diff: float  # probabilities (classifiers) or values (regressors)
    tolerance: float
    detail: str


@dataclass(frozen=True)
class EngineChoice:
    engine: Engine
    reason: str
    onnx_bytes: bytes | None = None
    inputs: InputSpec | None = None
    outputs: dict[str, str | None] = field(default_factory=dict)
    parity: Parity | None = None
    precision: str | None = None
    #: model-input columns (positions) where the model refuses a missing value: ONNX would
    #: answer anyway, so the service refuses them as the model does
    refuses_missing: list[int] = field(default_factory=list)

    def describe(self) -> dict[str, Any]:
        """What ``engine.json`` and ``/metadata`` report (no model bytes)."""
        out: dict[str, Any] = {"engine": self.engine, "reason": self.reason}
        if self.engine == "onnx":
            assert self.onnx_bytes is not None and self.inputs is not None
            out["onnx_sha256"] = hashlib.sha256(self.onnx_bytes).hexdigest()
            out["inputs"] = asdict(self.inputs)
            out["outputs"] = self.outputs
            out["precision"] = self.precision
            out["refuses_missing"] = self.refuses_missing
        out["parity"] = asdict(self.parity) if self.parity is not None else None
        return out


def choose_engine(model: Any, X_sample: Any, requested: str = "auto") -> EngineChoice:
    """Convert ``model`` to ONNX and keep it if it reproduces the model on ``X_sample``."""
    if requested not in REQUESTS:
        raise ConfigError(f"--engine {requested!r}: choose one of {', '.join(REQUESTS)}")
    if requested == "sklearn":
        return EngineChoice("sklearn", "--engine sklearn was asked for")
    if hasattr(X_sample, "toarray") and hasattr(X_sample, "nnz"):  # a scipy sparse matrix
        choice = EngineChoice(
            "sklearn",
            "the model's input is a sparse matrix (e.g. from a text vectorizer fitted outside a "
            "Pipeline); the ONNX converters take dense inputs, so scikit-learn serves it",
        )
        if requested == "onnx":
            raise EngineError(f"--engine onnx: {choice.reason}. Use --engine auto or sklearn")
        return choice
    try:
        choice = _try_onnx(model, X_sample)
    except ImportError as exc:
        choice = EngineChoice("sklearn", f"the ONNX tools are not installed ({exc.name})")
    if requested == "onnx" and choice.engine != "onnx":
        raise EngineError(
            f"--engine onnx: {choice.reason}. Use --engine auto (serves scikit-learn) or sklearn"
        )
    return choice


# --- conversion -------------------------------------------------------------------------------


def _onnxruntime() -> Any:
    """onnxruntime, loaded with its usage telemetry off: its official builds send telemetry
    unless ``ORT_DISABLE_TELEMETRY`` is set before they load (a value the user set is kept)."""
    os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
    import onnxruntime

    return onnxruntime


def _try_onnx(model: Any, X_sample: Any) -> EngineChoice:
    _onnxruntime()  # fail early, as ImportError, when the runtime is missing

    sample = _head(X_sample, PARITY_ROWS)
    reasons: list[str] = []
    for spec in _candidate_inputs(sample):
        try:
            onnx_bytes, outputs, names = _convert(model, spec)
        except Exception as exc:  # the converters raise many kinds: each is a reason to fall back
            reasons.append(f"{spec.dtypes_label()}: {_first_line(exc)}")
            continue
        outputs = _label_rule(model, sample, outputs)
        # skl2onnx may rename inputs (e.g. "/" -> "_"); the graph's names are the ones to feed
        spec = _Candidate(
            InputSpec(spec.input.mode, names, spec.input.dtypes, spec.input.columns), spec.precision
        )
        try:
            parity = check_parity(model, sample, onnx_bytes, spec.input, outputs)
        except Exception as exc:
            failed = _first_line(exc)
            reasons.append(f"{spec.dtypes_label()}: onnxruntime could not run it: {failed}")
            continue
        if parity.passed:
            return EngineChoice(
                "onnx",
                f"converted with skl2onnx ({spec.precision}); {parity.detail}",
                onnx_bytes,
                spec.input,
                outputs,
                parity,
                spec.precision,
                refuses_missing(model, sample),
            )
        reasons.append(f"{spec.dtypes_label()}: {parity.detail}")
    reason = _summary(reasons) if reasons else "no input layout could be derived from the sample"
    return EngineChoice("sklearn", f"ONNX not used: {reason}"[:1000])


def _summary(reasons: list[str]) -> str:
    """``layout: why`` per layout tried, the same why said once with the layouts it stopped."""
    by_why: dict[str, list[str]] = {}
    for reason in reasons:
        layout, _, why = reason.partition(": ")
        by_why.setdefault(why, []).append(layout)
    return "; ".join(f"{why} ({', '.join(layouts)})" for why, layouts in by_why.items())


@dataclass(frozen=True)
class _Candidate:
    input: InputSpec
    precision: str

    def dtypes_label(self) -> str:
        return f"{self.input.mode} input, {self.precision}"


def _candidate_inputs(sample: Any) -> list[_Candidate]:
    import pandas as pd

    out: list[_Candidate] = []
    if isinstance(sample, pd.DataFrame):
        columns = [str(c) for c in sample.columns]
        kinds = [_kind(sample[c]) for c in sample.columns]
        if len(set(columns)) != len(columns) or "?" in kinds:
            return []
        numeric = all(k in ("float", "int") for k in kinds)
        for precision in ("float64", "float32"):
            if numeric:
                out.append(_Candidate(InputSpec("matrix", ["X"], [precision], columns), precision))
            by_kind = {"float": precision, "int": "int64", "str": "str"}
            dtypes = [by_kind[k] for k in kinds]
            if numeric:
                dtypes = [precision] * len(columns)
            names = [_input_name(c) for c in columns]
            out.append(_Candidate(InputSpec("columns", names, dtypes, columns), precision))
        return out
    array = np.asarray(sample)
    if array.ndim != 2 or array.dtype.kind not in "biuf":
        return []
    return [_Candidate(InputSpec("matrix", ["X"], [p], []), p) for p in ("float64", "float32")]


def _kind(column: Any) -> str:
    kind = column.dtype.kind
    if kind == "f":
        return "float"
    if kind in "iub":
        return "int"
    if kind in "OSU" or str(column.dtype) in ("category", "string"):
        values = column.dropna()
        return "str" if all(isinstance(v, str) for v in values) else "?"
    return "?"


def _input_name(column: str) -> str:
    return column  # skl2onnx matches ColumnTransformer columns by input name


def _convert(model: Any, candidate: _Candidate) -> tuple[bytes, dict[str, str | None], list[str]]:
    from skl2onnx import to_onnx
    from skl2onnx.common.data_types import (
        DoubleTensorType,
        FloatTensorType,
        Int64TensorType,
        StringTensorType,
    )

    _register_boosters()
    types = {
        "float64": DoubleTensorType,
        "float32": FloatTensorType,
        "int64": Int64TensorType,
        "str": StringTensorType,
    }
    spec = candidate.input
    if spec.mode == "matrix":
        width = len(spec.columns) if spec.columns else None
        initial = [(spec.names[0], types[spec.dtypes[0]]([None, width]))]
    else:
        initial = [(n, types[d]([None, 1])) for n, d in zip(spec.names, spec.dtypes, strict=True)]
    model = _without_xgboost_names(model)
    classifier = _is_classifier(model)
    options = {id(_final_estimator(model)): {"zipmap": False}} if classifier else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        onx = to_onnx(model, initial_types=initial, options=options, target_opset=TARGET_OPSET)
    names = [o.name for o in onx.graph.output]
    if classifier:
        outputs: dict[str, str | None] = {
            "kind": "classifier",
            "label": names[0],
            "probabilities": names[1] if len(names) > 1 and _has_proba(model) else None,
        }
    else:
        outputs = {"kind": "regressor", "label": names[0], "probabilities": None}
    inputs = [i.name for i in onx.graph.input]
    if len(inputs) != len(initial):
        raise ValueError(f"the graph has {len(inputs)} inputs, {len(initial)} were declared")
    return onx.SerializeToString(), outputs, inputs


_BOOSTERS_REGISTERED = False


def _register_boosters() -> None:
    """Teach skl2onnx XGBoost's and LightGBM's converters (onnxmltools'), when installed."""
    global _BOOSTERS_REGISTERED
    if _BOOSTERS_REGISTERED:
        return
    _BOOSTERS_REGISTERED = True
    from skl2onnx import update_registered_converter
    from skl2onnx.common.shape_calculator import (
        calculate_linear_classifier_output_shapes,
        calculate_linear_regressor_output_shapes,
    )

    classifier_options = {"nocl": [True, False], "zipmap": [True, False, "columns"]}
    try:
        from onnxmltools.convert.xgboost.operator_converters.XGBoost import convert_xgboost
        from xgboost import XGBClassifier, XGBRegressor

        update_registered_converter(
            XGBClassifier,
            "XGBoostXGBClassifier",
            calculate_linear_classifier_output_shapes,
            convert_xgboost,
            options=classifier_options,
        )
        update_registered_converter(
            XGBRegressor,
            "XGBoostXGBRegressor",
            calculate_linear_regressor_output_shapes,
            convert_xgboost,
        )
    except ImportError:
        pass
    try:
        from lightgbm import LGBMClassifier, LGBMRegressor
        from onnxmltools.convert.lightgbm.operator_converters.LightGbm import convert_lightgbm

        update_registered_converter(
            LGBMClassifier,
            "LightGbmLGBMClassifier",
            calculate_linear_classifier_output_shapes,
            convert_lightgbm,
            options=classifier_options,
        )
        update_registered_converter(
            LGBMRegressor,
            "LightGbmLGBMRegressor",
            calculate_linear_regressor_output_shapes,
            convert_lightgbm,
        )
    except ImportError:
        pass


def _without_xgboost_names(model: Any) -> Any:
    """onnxmltools' XGBoost converter only reads features named f0, f1, ...: convert a copy whose
    booster forgets the column names (the graph's input order is the sample's column order)."""
    final = _final_estimator(model)
    if type(final).__module__.split(".")[0] != "xgboost":
        return model
    import copy

    clone = copy.deepcopy(model)
    _final_estimator(clone).get_booster().feature_names = None
    return clone


def _final_estimator(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return _final_estimator(steps[-1][1]) if steps else model


def _is_classifier(model: Any) -> bool:
    return getattr(_final_estimator(model), "classes_", None) is not None


def _has_proba(model: Any) -> bool:
    try:
        return callable(getattr(model, "predict_proba", None))
    except AttributeError:  # e.g. SVC(probability=False) raises on access
        return False


# --- running and comparing -------------------------------------------------------------------


def feeds(spec: InputSpec, X: Any) -> dict[str, np.ndarray]:
    """The onnxruntime inputs for ``X`` (a DataFrame with the spec's columns, or an array).

    The generated service has its own copy of this logic (``app/engines.py``); the tests check both
    against the same models."""
    import pandas as pd

    if spec.mode == "matrix":
        data = X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)
        return {spec.names[0]: np.ascontiguousarray(data, dtype=spec.dtypes[0])}
    out: dict[str, np.ndarray] = {}
    for name, dtype, column in zip(spec.names, spec.dtypes, spec.columns, strict=True):
        values = X[column].to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)[:, len(out)]
        if dtype == "str":
            out[name] = np.asarray(values, dtype=object).astype(str).reshape(-1, 1)
        else:
            out[name] = np.asarray(values, dtype=dtype).reshape(-1, 1)
    return out


def check_parity(
    model: Any, X: Any, onnx_bytes: bytes, spec: InputSpec, outputs: dict[str, str | None]
) -> Parity:
    """Run both on ``X`` and compare (see the module docstring for the tolerances)."""
    ort = _onnxruntime()

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(onnx_bytes, options, providers=["CPUExecutionProvider"])
    names = [outputs["label"], *([outputs["probabilities"]] if outputs["probabilities"] else [])]
    got = session.run(names, feeds(spec, X))
    rows = len(got[0])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        expected = one_per_row(model.predict(X))
    if outputs["kind"] == "regressor":
        ours = np.asarray(got[0], dtype=np.float64).reshape(expected.shape)
        theirs = expected.astype(np.float64)
        diff = float(np.max(np.abs(ours - theirs))) if rows else 0.0
        allowed = VALUE_TOLERANCE * np.maximum(1.0, np.abs(theirs))
        passed = bool(np.all(np.abs(ours - theirs) <= allowed))
        detail = (
            f"predictions on {rows} sample rows within {VALUE_TOLERANCE:g} * max(1, |y|) "
            f"(max difference {diff:.2g})"
            if passed
            else f"predictions differ by up to {diff:.3g} on {rows} sample rows"
        )
        return Parity(rows, passed, None, diff, VALUE_TOLERANCE, detail)
    if outputs.get("labels_from") == "probabilities":
        classes = np.asarray(_final_estimator(model).classes_)
        labels = classes[first_max(np.asarray(got[1]), TIE_TOLERANCE)].tolist()
    else:
        labels = _labels(got[0], model)
    want = expected.tolist()
    pairs = zip(labels, want, strict=True)
    mismatched = sum(1 for a, b in pairs if type(a) is not type(b) or a != b)
    diff = 0.0
    if outputs["probabilities"] is not None and rows:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
        diff = float(np.max(np.abs(np.asarray(got[1], dtype=np.float64) - proba)))
    labels_ok = mismatched == 0 and len(labels) == len(want)
    passed = labels_ok and diff <= PROBA_TOLERANCE
    if passed:
        ties = (
            " (classes tied in probability go to the first, as in the model)"
            if outputs.get("labels_from") == "probabilities"
            else ""
        )
        detail = f"identical labels on {rows} sample rows{ties}" + (
            f", probabilities within {PROBA_TOLERANCE:g} (max difference {diff:.2g})"
            if outputs["probabilities"]
            else ""
        )
    elif not labels_ok:
        detail = f"{mismatched} of {rows} labels differ from the model's"
    else:
        detail = f"probabilities differ by up to {diff:.3g} (tolerance {PROBA_TOLERANCE:g})"
    return Parity(rows, passed, labels_ok, diff, PROBA_TOLERANCE, detail)


def one_per_row(predictions: Any) -> np.ndarray:
    """``predict``'s answer as one value per row: CatBoost's classifiers (and any estimator that
    answers with a column vector) give shape (n, 1)."""
    values = np.asarray(predictions)
    return values[:, 0] if values.ndim == 2 and values.shape[1] == 1 else values


def refuses_missing(model: Any, X: Any) -> list[int]:
    """Positions of the numeric model-input columns where ``model.predict`` raises on a missing
    value (a scaler and a linear model, KNN): one row of ``X`` with NaN in each in turn."""
    import pandas as pd

    frame = isinstance(X, pd.DataFrame)
    row: Any = X.iloc[[0]].copy() if frame else np.array(np.asarray(X)[:1], dtype=np.float64)
    if frame:
        numeric = [i for i, c in enumerate(X.columns) if X[c].dtype.kind in "fiub"]
    else:
        numeric = list(range(row.shape[1]))

    def refused(positions: list[int]) -> bool:
        probe: Any = row.copy()
        if frame:
            for i in positions:
                column = probe.columns[i]
                probe[column] = probe[column].astype("float64")
                probe.iloc[0, i] = np.nan
        else:
            probe[0, positions] = np.nan
        try:
            with warnings.catch_warnings(), np.errstate(all="ignore"):
                warnings.simplefilter("ignore")
                model.predict(probe)
        except Exception:
            return True
        return False

    if not numeric or not refused(numeric):
        return []
    return [i for i in numeric if refused([i])]


def first_max(proba: np.ndarray, tolerance: float) -> np.ndarray:
    """Per row, the first class whose probability is within ``tolerance`` of the highest."""
    top = proba.max(axis=1, keepdims=True)
    return np.argmax(proba >= top - tolerance, axis=1)


def _label_rule(model: Any, X: Any, outputs: dict[str, str | None]) -> dict[str, Any]:
    """Serve a classifier's label from its ONNX probabilities (ties to the first class) when
    the model's own ``predict`` is the first highest of its ``predict_proba`` on ``X``: then an
    exact tie in the model (votes of a forest) is not broken by float32 rounding in ONNX."""
    if outputs["kind"] != "classifier" or not outputs.get("probabilities"):
        return outputs
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            proba = np.asarray(model.predict_proba(X), dtype=np.float64)
            predicted = one_per_row(model.predict(X))
        classes = np.asarray(_final_estimator(model).classes_)
        agrees = bool(np.array_equal(classes[np.argmax(proba, axis=1)], predicted))
    except Exception:  # a model whose predict_proba cannot run here keeps ONNX's labels
        return outputs
    if not agrees:
        return outputs
    return {**outputs, "labels_from": "probabilities", "tie_tolerance": TIE_TOLERANCE}


def _labels(raw: Any, model: Any) -> list[Any]:
    """onnxruntime's labels as the Python values ``model.predict(...).tolist()`` gives."""
    values = np.asarray(raw).ravel().tolist()
    classes = np.asarray(getattr(_final_estimator(model), "classes_", [])).tolist()
    if (
        classes
        and all(type(c) is type(classes[0]) for c in classes)
        and type(classes[0])
        in (
            int,
            str,
        )
    ):
        return values
    lookup = {_onnx_key(c): c for c in classes}
    return [lookup.get(_onnx_key(v), v) for v in values]


def _onnx_key(value: Any) -> str:
    if isinstance(value, bool | np.bool_):
        return str(int(value))
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _head(X: Any, n: int) -> Any:
    import pandas as pd

    if isinstance(X, pd.DataFrame | pd.Series):
        return X.iloc[:n]
    return np.asarray(X)[:n]


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return (f"{type(exc).__name__}: {text[0]}" if text else type(exc).__name__)[:300]


# --- the adapter productionize calls ----------------------------------------------------------


def write_engine(
    model_dir: Path, model: Any, X_sample: Any, requested: str = "auto"
) -> EngineChoice:
    """Choose the engine; write ``model_dir/model.onnx`` (when ONNX) and ``engine.json``."""
    return save_choice(model_dir, choose_engine(model, X_sample, requested))


def save_choice(model_dir: Path, choice: EngineChoice) -> EngineChoice:
    """Write a made choice: ``model_dir/model.onnx`` (when ONNX) and ``engine.json``."""
    onnx_path = model_dir / "model.onnx"
    onnx_path.unlink(missing_ok=True)
    if choice.onnx_bytes is not None:
        onnx_path.write_bytes(choice.onnx_bytes)
    (model_dir / "engine.json").write_text(json.dumps(choice.describe(), indent=2))
    return choice
