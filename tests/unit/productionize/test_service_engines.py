"""The service's scikit-learn engine (``templates/service/app/engines.py``) answers one value per
row, also for estimators whose ``predict`` gives a column vector: CatBoost's multiclass
classifiers answer with shape (n, 1)."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from support import template_module

from mlops_nb.productionize.engine import choose_engine

ENGINES = template_module("service", "app", "engines.py")
RNG = np.random.default_rng(0)
X = pd.DataFrame({"a": RNG.normal(size=200), "b": RNG.normal(size=200)})
LABELS = {
    "strings": np.where(X.a > 0.5, "hi", np.where(X.a < -0.5, "lo", "mid")),
    "integers": np.where(X.a > 0.5, 2, np.where(X.a < -0.5, 0, 1)),
}


@pytest.mark.parametrize("labels", list(LABELS))
def test_catboost_classifier_predictions_are_one_label_per_row(labels: str) -> None:
    catboost = pytest.importorskip("catboost")  # a dev dependency: present in CI
    model = catboost.CatBoostClassifier(
        iterations=20, depth=3, verbose=0, thread_count=1, allow_writing_files=False
    ).fit(X, LABELS[labels])
    raw = model.predict(X.head(7))
    assert raw.shape == (7, 1)  # why the service has to flatten it

    engine = ENGINES.SklearnEngine(model)
    answered = engine.predict(X.head(7))

    assert answered == raw[:, 0].tolist()
    assert all(type(v) is type(engine.classes[0]) for v in answered)  # str / int, as classes_
    assert set(answered) <= set(engine.classes)
    # productionize keeps the pickled model and says why (CatBoost has no skl2onnx converter)
    choice = choose_engine(model, X.head(50))
    assert choice.engine == "sklearn"
    assert choice.reason.startswith("ONNX not used: ")
    assert choice.reason.count("CatBoostClassifier") == 1, choice.reason


class ColumnVectorRegressor:
    """Any estimator answering (n, 1), as some wrappers do."""

    def predict(self, data: pd.DataFrame) -> np.ndarray:
        return (data["a"].to_numpy() * 2.0).reshape(-1, 1)


def test_any_column_vector_answer_is_flattened() -> None:
    answered = ENGINES.SklearnEngine(ColumnVectorRegressor()).predict(X.head(3))
    assert answered == (X.a.head(3) * 2.0).tolist()


def test_onnx_refuses_a_missing_value_where_the_model_does_and_in_integer_inputs() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = X.assign(n=RNG.integers(0, 3, 200), g=np.where(X.b > 0, "x", "y"))
    y = (frame.a > 0).astype(int)
    model = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), ["a", "b", "n"]), ("cat", OneHotEncoder(), ["g"])]
        ),
        LogisticRegression(),
    ).fit(frame, y)
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx" and choice.inputs is not None
    assert choice.inputs.mode == "columns"
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), [0, 1])
    assert engine.predict(frame.head(3)) == model.predict(frame.head(3)).tolist()
    missing_float = frame.head(1).assign(a=np.nan)
    with pytest.raises(ValueError):  # the model refuses it too
        model.predict(missing_float)
    with pytest.raises(ENGINES.PredictionError, match="missing value in a"):
        engine.predict(missing_float)
    with pytest.raises(ENGINES.PredictionError, match="n: the model's integer input"):
        engine.predict(frame.head(1).assign(n=np.nan))


def _passthrough_engine(model: object, frame: pd.DataFrame, passthrough: dict) -> object:
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx", choice.reason
    return ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), [0, 1], passthrough)


def test_passthrough_feeds_a_matrix_model_from_renamed_reordered_api_columns() -> None:
    """engine.json ``passthrough``: the model's column i comes from API column columns[i] (other
    names, another order, a subset); rows go to onnxruntime without pandas."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.DataFrame({"f0": X.a, "f1": X.b})
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(frame, X.a + X.b > 0)
    engine = _passthrough_engine(model, frame, {"columns": ["api_b", "api_a"], "constants": None})
    # API rows: (api_a, extra, api_b): the model reads f0 <- api_b, f1 <- api_a
    api_columns = ["api_a", "extra", "api_b"]
    rows = [(b, "ignored", a) for a, b in zip(X.a, X.b, strict=True)][:50]
    expected = model.predict(frame.head(50)).tolist()
    assert engine.run(engine.feeds_from_rows(rows, api_columns)) == expected
    one = engine.run(engine.feeds_from_rows(rows[:1], api_columns))
    assert one == expected[:1]


def test_passthrough_feeds_column_inputs_and_constants() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = X.assign(g=np.where(X.b > 0, "x", "y"), k=1.5)
    model = make_pipeline(
        ColumnTransformer(
            [("num", StandardScaler(), ["a", "b", "k"]), ("cat", OneHotEncoder(), ["g"])]
        ),
        LogisticRegression(),
    ).fit(frame, (X.a > 0).astype(int))
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx" and choice.inputs is not None
    assert choice.inputs.mode == "columns"
    sources = {"a": "A", "b": "B", "g": "G", "k": None}
    passthrough = {
        "columns": [sources[c] for c in choice.inputs.columns],
        "constants": [1.5 if c == "k" else None for c in choice.inputs.columns],
    }
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), [0, 1], passthrough)
    rows = [(g, a, b) for a, b, g in zip(frame.a, frame.b, frame.g, strict=True)][:40]
    assert (
        engine.run(engine.feeds_from_rows(rows, ["G", "A", "B"]))
        == model.predict(frame.head(40)).tolist()
    )


def test_passthrough_rows_with_a_missing_value_for_an_integer_input_are_refused() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    frame = X.assign(n=RNG.integers(0, 3, 200), g=np.where(X.b > 0, "x", "y"))
    model = make_pipeline(
        ColumnTransformer([("num", StandardScaler(), ["a", "n"]), ("cat", OneHotEncoder(), ["g"])]),
        LogisticRegression(),
    ).fit(frame, (X.a > 0).astype(int))
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx" and choice.inputs is not None
    assert choice.inputs.mode == "columns" and "int64" in choice.describe()["inputs"]["dtypes"]
    passthrough = {"columns": [f"api_{c}" for c in choice.inputs.columns]}
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), [0, 1], passthrough)
    api = [f"api_{c}" for c in frame.columns]
    row = tuple(frame.iloc[0])
    assert engine.run(engine.feeds_from_rows([row], api)) == model.predict(frame.head(1)).tolist()
    missing = tuple(None if c == "n" else v for c, v in zip(frame.columns, row, strict=True))
    with pytest.raises(ENGINES.PredictionError, match="api_n: the model's integer input"):
        engine.feeds_from_rows([missing], api)


def test_passthrough_feeds_a_matrix_model_a_constant_and_a_single_renamed_column() -> None:
    from sklearn.linear_model import LogisticRegression

    frame = pd.DataFrame({"f0": X.a, "k": 2.0})
    model = LogisticRegression().fit(frame, X.a > 0)
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx" and choice.inputs is not None
    assert choice.inputs.mode == "matrix"
    passthrough = {"columns": ["api_a", None], "constants": [None, 2.0]}
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), [False, True], passthrough)
    rows = [(v, "unused") for v in X.a.head(30)]
    expected = model.predict(frame.head(30)).tolist()
    assert engine.run(engine.feeds_from_rows(rows, ["api_a", "other"])) == expected
    matrix = np.column_stack([X.a.head(30), np.zeros(30)])  # an all-number batch as one matrix
    assert engine.run(engine.feeds_from_rows(matrix, ["api_a", "other"])) == expected


def test_a_model_fed_an_unnamed_matrix_refuses_a_missing_value_by_position() -> None:
    """Feature code that ends in an array (``scaler.fit_transform(X)``): the model's inputs have
    no names, and a missing value the model refuses is named by its position."""
    from sklearn.linear_model import LogisticRegression

    matrix = X.to_numpy()
    model = LogisticRegression().fit(matrix, (X.a > 0).astype(int))
    choice = choose_engine(model, matrix)
    assert choice.engine == "onnx" and choice.inputs is not None and not choice.inputs.columns
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), [0, 1])
    assert engine.predict(matrix[:5]) == model.predict(matrix[:5]).tolist()
    with pytest.raises(ENGINES.PredictionError, match="missing value in column 1"):
        engine.predict(np.array([[0.5, np.nan]]))
    # extreme values are neither taken for missing ones nor warned about (a sum of them would
    # overflow, or make NaN of inf - inf); the service's API refuses infinities before this
    extreme = np.array([[np.inf, 1e308], [1e308, -np.inf]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        engine._refuse_missing({engine.names[0]: extreme})
        with pytest.raises(ENGINES.PredictionError, match="missing value in column 0"):
            engine._refuse_missing({engine.names[0]: np.vstack([extreme, [[np.nan, 0.5]]])})


def test_tied_votes_go_to_the_first_class_in_micro_batches_and_large_batches_alike() -> None:
    """Labels from probabilities: a few rows are picked in Python, a large batch with numpy; the
    two agree with each other and with scikit-learn, ties included (a forest's 0.5/0.5 votes)."""
    from sklearn.ensemble import ExtraTreesClassifier

    rng = np.random.default_rng(7)
    scale = np.array([1.0, 100.0, 0.01, 1e4])  # float32 sums of the votes break ties either way
    frame = pd.DataFrame(rng.normal(size=(400, 4)) * scale, columns=list("abcd"))
    y = np.where(frame.a + frame.b / 100 + rng.normal(size=400) > 0, "yes", "no")
    model = ExtraTreesClassifier(n_estimators=20, random_state=0).fit(frame, y)
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx" and choice.outputs["labels_from"] == "probabilities"
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), list(model.classes_))
    rows = pd.DataFrame(rng.normal(size=(600, 4)) * scale, columns=list("abcd"))
    expected = model.predict(rows).tolist()
    assert (model.predict_proba(rows)[:, 0] == 0.5).sum() > 20  # ties to break
    whole = engine.predict(rows)  # 1,200 probabilities: numpy
    assert whole == expected
    pieces: list[object] = []
    for size in (1, 2, 3, 5, 8, 16, 17):  # up to 32 probabilities (16 rows): Python
        start = len(pieces)
        pieces += engine.predict(rows.iloc[start : start + size])
    assert pieces == expected[: len(pieces)]


def test_an_overflowing_float32_prediction_is_refused_saying_why() -> None:
    """An ONNX engine that computes in float32 (here: no double-precision imputer converter)
    overflows on a value the notebook's float64 model takes: the service refuses the prediction
    and says why, never answering an infinite number."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    frame = X.assign(c=np.where(X.b > 1, np.nan, X.b))
    model = make_pipeline(SimpleImputer(), Ridge()).fit(frame, X.a * 3 + 1)
    choice = choose_engine(model, frame)
    assert choice.engine == "onnx" and choice.inputs is not None
    assert "float32" in choice.describe()["inputs"]["dtypes"], choice.reason
    engine = ENGINES.OnnxEngine(choice.onnx_bytes, choice.describe(), None)
    far = frame.head(1).assign(a=1e51)
    assert np.isfinite(model.predict(far)).all()  # the notebook's model answers
    with (
        pytest.raises(ENGINES.PredictionError, match="computes in float32"),
        np.errstate(over="ignore"),
    ):
        engine.predict(far)
    assert engine.predict(frame.head(3)) == pytest.approx(model.predict(frame.head(3)), rel=1e-5)
