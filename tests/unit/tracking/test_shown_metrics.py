"""Printed and displayed metrics: one small cell per form (the cell is instrumented and run as
``%%track`` runs it; the values are the ones the cell printed or showed)."""

from __future__ import annotations

import ast
import contextlib
import io
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, mean_squared_error
from sklearn.model_selection import cross_val_score

from mlops_nb.tracking import capture
from mlops_nb.tracking.recorder import digest

rng = np.random.default_rng(0)
X = rng.normal(size=(60, 3))
Y_REG = X @ [1.0, 2.0, -1.0] + rng.normal(scale=0.1, size=60)
Y_CLS = (X[:, 0] > 0).astype(int)


def shown(source: str, **ns: Any) -> tuple[dict[str, float], str]:
    """Run ``source`` instrumented; return (metrics captured, what it printed)."""
    tree = capture.instrument_shown_metrics(ast.parse(source))
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    collected = capture.ShownMetrics()
    glob: dict[str, Any] = {capture.HOOK: collected.observe, "np": np, **ns}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(tree, "<cell>", "exec"), glob)
        if last is not None:
            value = eval(compile(last, "<cell>", "eval"), glob)
            if value is not None:
                print(repr(value))
    return collected.values, out.getvalue()


def test_print_of_a_metric_variable() -> None:
    metrics, out = shown("rmse = 0.25\nprint(rmse)")
    assert metrics == {"rmse": 0.25} and out == "0.25\n"


def test_print_of_a_labelled_metric_function() -> None:
    model = LinearRegression().fit(X, Y_REG)
    expected = float(np.sqrt(mean_squared_error(Y_REG, model.predict(X))))
    metrics, out = shown(
        'print("RMSE:", np.sqrt(mean_squared_error(y, model.predict(X))))',
        mean_squared_error=mean_squared_error,
        model=model,
        X=X,
        y=Y_REG,
    )
    assert metrics == {"rmse": pytest.approx(expected)}
    assert out.startswith("RMSE: ")


def test_unlabelled_metric_functions_are_named_after_the_function() -> None:
    model = LogisticRegression().fit(X, Y_CLS)
    metrics, _ = shown(
        "print(accuracy_score(y, model.predict(X)))\n"
        "print(np.sqrt(mean_squared_error(y, model.predict(X))))",
        accuracy_score=accuracy_score,
        mean_squared_error=mean_squared_error,
        model=model,
        X=X,
        y=Y_CLS,
    )
    assert set(metrics) == {"accuracy_score", "root_mean_squared_error"}


def test_score_as_the_last_expression() -> None:
    model = LogisticRegression().fit(X, Y_CLS)
    metrics, out = shown("model.score(X, y)", model=model, X=X, y=Y_CLS)
    assert metrics == {"score": model.score(X, Y_CLS)}
    assert out.strip() == repr(model.score(X, Y_CLS))  # the cell still shows its value


def test_cross_val_score_mean() -> None:
    metrics, _ = shown(
        "print(cross_val_score(LogisticRegression(), X, y, cv=3).mean())",
        cross_val_score=cross_val_score,
        LogisticRegression=LogisticRegression,
        X=X,
        y=Y_CLS,
    )
    assert set(metrics) == {"cross_val_score_mean"} and 0.5 < metrics["cross_val_score_mean"] <= 1


def test_f_string_and_percent_labels() -> None:
    metrics, out = shown(
        'acc = 0.9\nx = 0.3\nprint(f"Accuracy: {acc:.2f}, F1: {x:.2f}")\nprint("MAE: %.1f" % 1.5)'
    )
    assert metrics == {"acc": 0.9, "f1": 0.3, "mae": 1.5}
    assert out == "Accuracy: 0.90, F1: 0.30\nMAE: 1.5\n"


def test_what_is_not_a_metric_is_left_alone() -> None:
    metrics, _ = shown(
        'n_rows = 5\nprint(n_rows)\nprint("rows:", n_rows)\nprint(len([1, 2]))\n'
        'for rmse in [1.0, 2.0]:\n    print(rmse)\nprint("loss:", "high")\n"text"'
    )
    assert metrics == {}


def test_series_digests_are_by_value() -> None:
    a, b = pd.Series(range(100), name="y"), pd.Series(range(1, 101), name="y")
    da, pa = digest(a)
    db, _ = digest(b)
    assert da != db and "digest_error" not in pa
    assert digest(pd.Series(range(100), name="y"))[0] == da
    assert digest(a.rename("target"))[0] != da  # the name is part of it


def test_frame_and_array_digests() -> None:
    frame = pd.DataFrame({"a": [1, 2, 3], "b": ["x", "y", "z"]})
    d1, profile = digest(frame)
    assert "digest_error" not in profile and profile["shape"] == [3, 2]
    assert digest(frame.assign(a=[1, 2, 4]))[0] != d1
    arr = np.arange(12.0).reshape(4, 3)
    assert digest(arr)[0] == digest(arr.copy())[0] != digest(arr + 1)[0]
    objects = np.array(["a", "b", None], dtype=object)
    d_obj, p_obj = digest(objects)
    assert "digest_error" not in p_obj and d_obj == digest(objects.copy())[0]
