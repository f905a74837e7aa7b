"""Which fitted models are served (judged on the object); how boosting libraries are packaged."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlops_nb.productionize import packaging
from mlops_nb.productionize.supported import (
    UnsupportedModelError,
    check,
    describe,
    problems,
)

xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")

X = np.random.RandomState(0).rand(60, 3)
y = (X[:, 0] > 0.5).astype(int)


class ResultsWrapper:
    """Shaped like a statsmodels result: it predicts, but is no estimator."""

    def predict(self, exog: object) -> list[float]:
        return [0.0]


class OwnClassifier:
    def fit(self, X: object, y: object) -> OwnClassifier:
        return self

    def predict(self, X: object) -> list[int]:
        return [0]


@pytest.mark.parametrize(
    "model",
    [
        make_pipeline(StandardScaler(), xgboost.XGBClassifier(n_estimators=3)).fit(X, y),
        xgboost.XGBRegressor(n_estimators=3).fit(X, X[:, 1]),
        GridSearchCV(
            lightgbm.LGBMClassifier(n_estimators=3, verbose=-1), {"num_leaves": [4, 8]}, cv=2
        ).fit(X, y),
        make_pipeline(
            ColumnTransformer([("s", StandardScaler(), [0, 1])], remainder="passthrough"),
            lightgbm.LGBMRegressor(n_estimators=3, verbose=-1),
        ).fit(X, X[:, 2]),
    ],
    ids=["xgb-pipeline", "xgb-regressor", "lgbm-search", "lgbm-column-transformer"],
)
def test_sklearn_api_boosting_is_supported(model: object) -> None:
    described = describe(model)
    classes = [node["class"] for node in described]
    assert any(c.startswith(("xgboost.", "lightgbm.")) for c in classes), classes
    assert problems(described) == []
    check(described, "model")


def test_anything_else_with_predict_is_refused_naming_what_is_supported() -> None:
    booster = xgboost.train({}, xgboost.DMatrix(X, y), 2)
    with pytest.raises(UnsupportedModelError) as err:
        check(describe(booster), "bst")
    message = str(err.value)
    assert "`bst`" in message and "xgboost.core.Booster" in message
    assert "XGBClassifier/XGBRegressor instead of xgboost.train" in message
    assert "Supported: scikit-learn estimators and pipelines" in message
    assert problems(describe(ResultsWrapper())) == [
        f"it is a {__name__}.ResultsWrapper, which is not scikit-learn-compatible"
    ]
    inner = make_pipeline(StandardScaler(), OwnClassifier())
    [problem] = problems(describe(inner))
    assert problem.startswith("`model.steps[1]` is a ") and "OwnClassifier" in problem
    assert "has no predict()" in problems(describe(StandardScaler()))[0]


def test_requirements_pin_the_library_and_what_its_sklearn_api_imports() -> None:
    probe = {
        "versions": {"numpy": "2.0.0", "scipy": "1.14.0", "fastapi": "0.1", "uvicorn": "0.1"},
        "serving_distributions": {"lightgbm": "4.7.0", "xgboost-cpu": "3.2.0"},
    }
    pins = dict(packaging.requirements(probe, needs_pandas=False))
    assert pins["lightgbm"] == "4.7.0" and pins["xgboost-cpu"] == "3.2.0"
    assert "scikit-learn" in pins  # lightgbm.sklearn / xgboost.sklearn import it
    assert packaging.system_packages(sorted(pins.items())) == ["libgomp1"]
    assert packaging.system_packages([("xgboost-cpu", "3.2.0")]) == []  # bundles its OpenMP


def test_an_offline_build_gets_this_machines_openmp(tmp_path: Path) -> None:
    native = tmp_path / "wheels" / "native"
    assert packaging.copy_system_libraries(["numpy", "lightgbm"], native) == ["libgomp.so.1"]
    assert (native / "libgomp.so.1").read_bytes()[:4] == b"\x7fELF"
    assert packaging.copy_system_libraries(["xgboost-cpu"], tmp_path / "none") == []
    assert not (tmp_path / "none").exists()
