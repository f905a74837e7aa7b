"""Capture rules, one small cell per behaviour (pure: no kernel, no MLflow)."""

from __future__ import annotations

from typing import Any

import pytest

from mlops_nb.tracking import capture


def run_cell(source: str, ns: dict[str, Any] | None = None, **kwargs: Any) -> capture.Capture:
    ns = {} if ns is None else ns
    before = capture.snapshot(ns)
    exec(compile(source, "<cell>", "exec"), ns)
    return capture.collect(before, ns, capture.analyze_source(source), **kwargs)


@pytest.mark.parametrize(
    "name", ["accuracy", "val_loss", "test_f1", "roc_auc", "r2", "rmse", "cv_score", "valAccuracy"]
)
def test_metric_like_names(name: str) -> None:
    assert capture.looks_like_metric(name)


@pytest.mark.parametrize("name", ["n_estimators", "max_depth", "learning_rate", "seed", "alpha"])
def test_param_names_are_not_metrics(name: str) -> None:
    assert not capture.looks_like_metric(name)


def test_literal_scalars_become_params_and_metric_names_become_metrics() -> None:
    cap = run_cell("lr = 0.1\nn_layers = 3\nname = 'mlp'\nloss = 0.25 * 2\nval_accuracy = 0.9")
    assert cap.params == {"lr": "0.1", "n_layers": "3", "name": "mlp"}
    assert cap.metrics == {"loss": 0.5, "val_accuracy": 0.9}


def test_computed_values_are_not_params() -> None:
    cap = run_cell("import math\nsteps = int(math.sqrt(16))\nwidth = 8")
    assert cap.params == {"width": "8"}


def test_unchanged_names_from_earlier_cells_are_ignored() -> None:
    ns: dict[str, Any] = {"accuracy": 0.5, "lr": 0.3}
    cap = run_cell("epochs = 2", ns)
    assert cap.params == {"epochs": "2"}
    assert cap.metrics == {}


def test_dict_of_metrics_is_flattened() -> None:
    cap = run_cell("results = {'accuracy': 0.8, 'f1': 0.7, 'note': 'x'}")
    assert cap.metrics == {"accuracy": 0.8, "f1": 0.7}


def test_numpy_scalars_count_as_numbers_and_bools_do_not() -> None:
    cap = run_cell("import numpy as np\nauc = np.float64(0.75)\nscore_ok = True")
    assert cap.metrics == {"auc": 0.75}


def test_explicit_params_and_metrics() -> None:
    cap = run_cell(
        "cfg = {'a': 1}\nthroughput = 12.5",
        explicit_params=["cfg"],
        explicit_metrics=["throughput", "missing"],
    )
    assert cap.params["cfg"] == "{'a': 1}"
    assert cap.metrics["throughput"] == 12.5
    assert any("missing" in note for note in cap.notes)


def test_injected_papermill_parameters_are_params() -> None:
    cap = run_cell("x = 1", injected_params={"alpha": 0.5})
    assert cap.params["alpha"] == "0.5"


def test_fit_calls_and_their_data_are_read_from_source() -> None:
    info = capture.analyze_source("model.fit(X_train, y=y_train)\npipe.fit_transform(df[cols])")
    assert [(c.target, c.x_expr, c.y_expr) for c in info.fit_calls] == [
        ("model", "X_train", "y_train"),
        ("pipe", "df[cols]", None),
    ]


def test_fit_data_with_calls_is_not_reevaluated() -> None:
    info = capture.analyze_source("model.fit(load(), y)")
    assert info.fit_calls[0].x_expr is None


def test_syntax_error_is_reported_not_raised() -> None:
    info = capture.analyze_source("def (")
    assert info.parse_error


SKLEARN_SETUP = """
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.tree import DecisionTreeClassifier
X, y = load_iris(return_X_y=True, as_frame=True)
"""


@pytest.fixture
def sk_ns() -> dict[str, Any]:
    ns: dict[str, Any] = {}
    exec(SKLEARN_SETUP, ns)
    return ns


def test_fitted_estimator_gives_params_model_and_data(sk_ns: dict[str, Any]) -> None:
    cap = run_cell("tree = DecisionTreeClassifier(max_depth=3).fit(X, y)", sk_ns)
    # a chained fit: the data expressions are still found
    assert cap.params["max_depth"] == "3"
    assert [m.name for m in cap.models] == ["tree"]
    assert cap.models[0].x is sk_ns["X"]
    assert cap.models[0].y_expr == "y"


def test_several_estimators_are_prefixed(sk_ns: dict[str, Any]) -> None:
    cap = run_cell(
        "a = DecisionTreeClassifier(max_depth=2)\na.fit(X, y)\n"
        "b = LogisticRegression(C=0.5, max_iter=300)\nb.fit(X, y)",
        sk_ns,
    )
    assert cap.params["a.max_depth"] == "2"
    assert cap.params["b.C"] == "0.5"
    assert sorted(m.name for m in cap.models) == ["a", "b"]


def test_pipeline_is_one_model_not_its_steps(sk_ns: dict[str, Any]) -> None:
    cap = run_cell(
        "scaler = StandardScaler()\nclf = LogisticRegression(max_iter=300)\n"
        "pipe = make_pipeline(scaler, clf)\npipe.fit(X, y)",
        sk_ns,
    )
    assert [m.name for m in cap.models] == ["pipe"]
    assert cap.params["logisticregression__max_iter"] == "300"


def test_grid_search_logs_best_params_and_score(sk_ns: dict[str, Any]) -> None:
    cap = run_cell(
        "search = GridSearchCV(\n"
        "    DecisionTreeClassifier(random_state=0), {'max_depth': [1, 3]}, cv=3\n)\n"
        "search.fit(X, y)\nbest = search.best_estimator_",
        sk_ns,
    )
    assert [m.name for m in cap.models] == ["search"]
    assert cap.params["best_params.max_depth"] == "3"
    assert 0.9 < cap.metrics["best_cv_score"] <= 1.0


def test_refit_of_an_existing_estimator_is_detected(sk_ns: dict[str, Any]) -> None:
    exec("tree = DecisionTreeClassifier().fit(X, y)", sk_ns)
    cap = run_cell("tree.set_params(max_depth=1)\ntree.fit(X, y)", sk_ns)
    assert [m.name for m in cap.models] == ["tree"]
    assert cap.params["max_depth"] == "1"


def test_estimators_fitted_earlier_are_not_logged_again(sk_ns: dict[str, Any]) -> None:
    exec("tree = DecisionTreeClassifier().fit(X, y)", sk_ns)
    cap = run_cell("preds = tree.predict(X)", sk_ns)
    assert cap.models == []


def test_no_model_option(sk_ns: dict[str, Any]) -> None:
    cap = run_cell("tree = DecisionTreeClassifier().fit(X, y)", sk_ns, models=False)
    assert cap.models == []
    assert "max_depth" in cap.params


def test_model_requirements_are_pinned_from_this_environment() -> None:
    """A scikit-learn model's pins need no scan of every installed distribution (the cell pays
    for it); a package installed under another name (``yaml`` from PyYAML) is still found."""
    from importlib import metadata

    from mlops_nb.tracking import recorder

    recorder._installed_distributions.cache_clear()
    pins = recorder._requirements(frozenset({"sklearn"}))
    assert f"scikit-learn=={metadata.version('scikit-learn')}" in pins
    assert recorder._installed_distributions.cache_info().misses == 0
    assert f"PyYAML=={metadata.version('PyYAML')}" in recorder._requirements(
        frozenset({"sklearn", "yaml"})
    )
