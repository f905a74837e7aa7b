"""The compiled engine: every supported model family converts and passes the parity check on its
sample (identical labels, probabilities/values within the stated tolerance); what cannot be
converted faithfully falls back to scikit-learn with the reason; ``onnx`` refuses to fall back."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import (
    ExtraTreesClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.feature_selection import SelectPercentile, chi2
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from mlops_nb.productionize import packaging
from mlops_nb.productionize.engine import (
    PROBA_TOLERANCE,
    VALUE_TOLERANCE,
    EngineError,
    check_parity,
    choose_engine,
    feeds,
)

X_CLS, Y_CLS = load_breast_cancer(return_X_y=True, as_frame=True)
X_REG, Y_REG = load_diabetes(return_X_y=True, as_frame=True)


def _mixed(n: int = 800, string_nan: bool = False) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "fare": rng.exponential(30, n),
            "embarked": rng.choice(["S", "C", "Q"], n),
            "sex": rng.choice(["m", "f"], n),
        }
    )
    frame.loc[rng.random(n) < 0.15, "age"] = np.nan
    if string_nan:
        frame.loc[rng.random(n) < 0.1, "embarked"] = np.nan
    return frame, ((frame.fare > 25) ^ (frame.sex == "f")).astype(int)


def _ct(estimator: Any, impute_strings: bool = False) -> Pipeline:
    categorical: list[tuple[str, Any]] = [("onehot", OneHotEncoder(handle_unknown="ignore"))]
    if impute_strings:
        categorical.insert(0, ("impute", SimpleImputer(strategy="most_frequent")))
    else:
        categorical.append(("select", SelectPercentile(chi2, percentile=60)))
    numeric = make_pipeline(SimpleImputer(strategy="median"), StandardScaler())
    prep = ColumnTransformer(
        [("num", numeric, ["age", "fare"]), ("cat", Pipeline(categorical), ["embarked", "sex"])]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def _families() -> dict[str, tuple[Any, Any]]:
    mixed, y_mixed = _mixed()
    cases: dict[str, tuple[Any, Any]] = {
        "scaler+logistic": (
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)).fit(X_CLS, Y_CLS),
            X_CLS,
        ),
        "random forest classifier": (
            RandomForestClassifier(30, random_state=0).fit(X_CLS, Y_CLS),
            X_CLS,
        ),
        "decision tree, array input": (
            DecisionTreeClassifier(random_state=0).fit(X_CLS.to_numpy(), Y_CLS),
            X_CLS.to_numpy(),
        ),
        "ridge": (Ridge().fit(X_REG, Y_REG), X_REG),
        "gradient boosting regressor": (
            GradientBoostingRegressor(n_estimators=50, random_state=0).fit(X_REG, Y_REG),
            X_REG,
        ),
        "random forest regressor": (
            RandomForestRegressor(20, random_state=0).fit(X_REG, Y_REG),
            X_REG,
        ),
        "column transformer + logistic": (_ct(LogisticRegression()).fit(mixed, y_mixed), mixed),
        "column transformer + forest": (
            _ct(RandomForestClassifier(20, random_state=0)).fit(mixed, y_mixed),
            mixed,
        ),
        "string labels": (
            LogisticRegression(max_iter=2000).fit(
                X_CLS, np.where(Y_CLS == 1, "benign", "malignant")
            ),
            X_CLS,
        ),
    }
    try:
        from xgboost import XGBClassifier, XGBRegressor

        cases["xgboost classifier"] = (XGBClassifier(n_estimators=20).fit(X_CLS, Y_CLS), X_CLS)
        cases["xgboost regressor"] = (XGBRegressor(n_estimators=20).fit(X_REG, Y_REG), X_REG)
    except ImportError:
        pass
    try:
        from lightgbm import LGBMClassifier, LGBMRegressor

        cases["lightgbm classifier"] = (
            LGBMClassifier(n_estimators=20, verbose=-1).fit(X_CLS, Y_CLS),
            X_CLS,
        )
        cases["lightgbm regressor"] = (
            LGBMRegressor(n_estimators=20, verbose=-1).fit(X_REG, Y_REG),
            X_REG,
        )
    except ImportError:
        pass
    return cases


FAMILIES = _families()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_every_supported_family_is_served_by_onnx(family: str) -> None:
    import onnxruntime as ort

    model, sample = FAMILIES[family]
    choice = choose_engine(model, sample)
    assert choice.engine == "onnx", choice.reason
    assert choice.parity is not None and choice.parity.passed
    assert choice.parity.rows == len(sample)
    # check it independently: run the bytes, compare with the model
    session = ort.InferenceSession(choice.onnx_bytes, providers=["CPUExecutionProvider"])
    assert choice.inputs is not None
    got = session.run([choice.outputs["label"]], feeds(choice.inputs, sample))[0]
    expected = np.asarray(model.predict(sample))
    if choice.outputs["kind"] == "classifier":
        assert choice.parity.labels_identical
        assert np.asarray(got).ravel().tolist() == expected.tolist()
        assert choice.parity.max_abs_diff <= PROBA_TOLERANCE
    else:
        diff = np.abs(np.asarray(got, dtype=float).ravel() - expected)
        assert np.all(diff <= VALUE_TOLERANCE * np.maximum(1, np.abs(expected)))
    described = choice.describe()
    assert described["engine"] == "onnx" and len(described["onnx_sha256"]) == 64
    assert described["parity"]["tolerance"] in (PROBA_TOLERANCE, VALUE_TOLERANCE)


def test_string_imputer_with_nan_falls_back_with_the_reason() -> None:
    mixed, y = _mixed(string_nan=True)
    model = _ct(LogisticRegression(), impute_strings=True).fit(mixed, y)
    choice = choose_engine(model, mixed)
    assert choice.engine == "sklearn" and choice.onnx_bytes is None
    assert choice.reason.startswith("ONNX not used:"), choice.reason
    with pytest.raises(EngineError, match="--engine onnx"):
        choose_engine(model, mixed, "onnx")


def test_a_sparse_input_is_served_by_scikit_learn_with_the_reason() -> None:
    """A text vectorizer fitted outside a Pipeline hands the model a sparse matrix."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.naive_bayes import MultinomialNB

    texts = ["win cash now", "free prize", "lunch at noon", "see you friday"] * 10
    labels = ["spam", "spam", "ham", "ham"] * 10
    matrix = TfidfVectorizer().fit_transform(texts)
    model = MultinomialNB().fit(matrix, labels)
    choice = choose_engine(model, matrix)
    assert choice.engine == "sklearn" and "sparse matrix" in choice.reason
    with pytest.raises(EngineError, match="--engine onnx: the model's input is a sparse matrix"):
        choose_engine(model, matrix, "onnx")


def test_parity_check_catches_a_different_model() -> None:
    """The check compares labels and probabilities row by row: a graph of another model fails."""
    model, sample = FAMILIES["scaler+logistic"]
    choice = choose_engine(model, sample)
    assert choice.onnx_bytes is not None and choice.inputs is not None
    other = make_pipeline(StandardScaler(), LogisticRegression(C=1e-4)).fit(X_CLS, Y_CLS)
    parity = check_parity(other, sample, choice.onnx_bytes, choice.inputs, choice.outputs)
    assert not parity.passed
    assert "labels differ" in parity.detail or "probabilities differ" in parity.detail


def test_sklearn_requested_and_bad_request() -> None:
    model, sample = FAMILIES["ridge"]
    assert choose_engine(model, sample, "sklearn").engine == "sklearn"
    with pytest.raises(ValueError, match="choose one of"):
        choose_engine(model, sample, "tensorrt")


def test_onnx_requirements_leave_out_the_model_library(tmp_path: Any) -> None:
    probe = {"versions": {"numpy": "2.0"}, "serving_distributions": {"scikit-learn": "1.9.1"}}
    onnx = dict(packaging.requirements(probe, needs_pandas=False, engine="onnx"))
    assert "onnxruntime" in onnx and "scikit-learn" not in onnx and "pandas" not in onnx
    sk = dict(packaging.requirements(probe, needs_pandas=False, engine="sklearn"))
    assert sk["scikit-learn"] == "1.9.1" and "onnxruntime" not in sk
    # feature code: its imports and the modules its pickled state needs
    (tmp_path / "features.py").write_text("import numpy as np\nimport pandas as pd\nimport json\n")
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "features.pkl").write_bytes(pickle.dumps({"mean": 1.0}))
    assert packaging.feature_distributions(tmp_path) == []
    (tmp_path / "model" / "features.pkl").write_bytes(pickle.dumps(StandardScaler().fit([[1.0]])))
    assert packaging.feature_distributions(tmp_path) == ["scikit-learn"]


def test_a_forest_s_tied_votes_go_to_the_first_class_as_in_scikit_learn() -> None:
    # fully grown trees vote; on rows unlike the training rows half of them often disagree, and
    # scikit-learn's argmax gives an exact 0.5/0.5 tie to the first class while ONNX's float32
    # sums break it either way: labels must come from the probabilities with the same rule
    rng = np.random.default_rng(7)
    scale = np.array([1.0, 100.0, 0.01, 1e4])
    X = pd.DataFrame(rng.normal(size=(400, 4)) * scale, columns=list("abcd"))
    y = (X.a + X.b / 100 + rng.normal(size=400) > 0).astype(int)
    model = ExtraTreesClassifier(n_estimators=20, random_state=0).fit(X, y)
    choice = choose_engine(model, X)
    assert choice.engine == "onnx" and choice.outputs["labels_from"] == "probabilities"
    rows = pd.DataFrame(rng.normal(size=(5000, 4)) * scale, columns=list("abcd"))
    tied = int((model.predict_proba(rows)[:, 0] == 0.5).sum())
    assert tied > 50
    assert check_parity(model, rows, choice.onnx_bytes, choice.inputs, choice.outputs).passed
    onnx_labels = {
        k: v for k, v in choice.outputs.items() if k not in ("labels_from", "tie_tolerance")
    }
    differing = check_parity(model, rows, choice.onnx_bytes, choice.inputs, onnx_labels)
    assert not differing.passed and differing.detail.startswith(f"{tied} of 5000 labels differ")


def test_labels_stay_onnx_s_own_when_predict_is_not_the_argmax_of_predict_proba() -> None:
    # SVC(probability=True): predict uses the decision function, predict_proba Platt scaling
    from sklearn.svm import SVC

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # probability=True is deprecated in 1.9
        model = SVC(probability=True, random_state=0).fit(X_CLS, Y_CLS)
    proba_argmax = model.classes_[np.argmax(model.predict_proba(X_CLS), axis=1)]
    assert (proba_argmax != model.predict(X_CLS)).sum() > 0  # the two disagree on some rows
    choice = choose_engine(model, X_CLS)
    assert "labels_from" not in choice.outputs


def test_a_model_without_a_converter_says_why_once_with_the_layouts_tried() -> None:
    from sklearn.compose import TransformedTargetRegressor

    model = TransformedTargetRegressor(regressor=Ridge(), func=np.log1p, inverse_func=np.expm1).fit(
        X_REG.abs(), Y_REG
    )
    choice = choose_engine(model, X_REG.abs())
    assert choice.engine == "sklearn"
    assert choice.reason.count("TransformedTargetRegressor") == 1, choice.reason
    assert "matrix input, float64" in choice.reason and "columns input, float32" in choice.reason


def test_columns_where_the_model_refuses_a_missing_value_are_found() -> None:
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.neighbors import KNeighborsClassifier

    from mlops_nb.productionize.engine import refuses_missing

    X = X_CLS[["mean radius", "mean texture", "mean area"]]
    knn = make_pipeline(StandardScaler(), KNeighborsClassifier()).fit(X, Y_CLS)
    assert refuses_missing(knn, X) == [0, 1, 2]
    assert refuses_missing(HistGradientBoostingClassifier(max_iter=5).fit(X, Y_CLS), X) == []
    imputed_first = make_pipeline(
        ColumnTransformer([("fill", SimpleImputer(), ["mean radius"])], remainder="passthrough"),
        LogisticRegression(max_iter=5000),
    ).fit(X, Y_CLS)
    assert refuses_missing(imputed_first, X) == [1, 2]
    assert refuses_missing(knn, X.to_numpy()) == [0, 1, 2]  # arrays: positions too
    choice = choose_engine(knn, X)
    assert choice.engine == "onnx" and choice.describe()["refuses_missing"] == [0, 1, 2]
