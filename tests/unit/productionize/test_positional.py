"""Rows held out by position (``X[:600]`` to fit, ``X[600:]`` to score): the notebook's own
evaluation rows are found, so metrics are held-out metrics, not training ones; anything that
might overlap the fitted rows is not taken for a hold-out."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mlops_nb.productionize.dataflow import plan
from mlops_nb.productionize.extract import extract

LOAD = (
    "import pandas as pd\nfrom sklearn.linear_model import LogisticRegression\n"
    "df = pd.read_csv('data.csv')\nX = df[['a', 'b']]\ny = df['t']"
)


def _evaluation(tmp_path: Path, *cells: str) -> tuple[str, str | None, str] | None:
    nb = new_notebook(cells=[new_code_cell(LOAD), *(new_code_cell(c) for c in cells)])
    path = tmp_path / "nb.ipynb"
    nbformat.write(nb, path)
    flow = plan(extract(path))
    assert flow.features is not None
    found = flow.features.evaluation
    return (found.x, found.y, found.how) if found else None


@pytest.mark.parametrize(
    ("cells", "x", "y"),
    [
        (
            [
                "X_train, X_test = X[:600], X[600:]\ny_train, y_test = y[:600], y[600:]",
                "m = LogisticRegression().fit(X_train, y_train)\nm.score(X_test, y_test)",
            ],
            "X_test",
            "y_test",
        ),
        (
            [
                "X_tr = X.iloc[:-100]\nX_te = X.iloc[-100:]\ny_tr = y.iloc[:-100]",
                "m = LogisticRegression()\nm.fit(X_tr, y_tr)\npred = m.predict(X_te)",
            ],
            "X_te",
            "y.iloc[-100:]",  # no target given to predict: the same rows of the fit's target
        ),
        (
            ["m = LogisticRegression()\nm.fit(X[:500], y[:500])\nm.score(X[500:], y[500:])"],
            "X[500:]",
            "y[500:]",
        ),
        (  # the frame split first, then its columns taken
            [
                "train = df.iloc[:-80]\ntest = df.iloc[-80:]\ncols = ['a', 'b']",
                "m = LogisticRegression().fit(train[cols].dropna(), train['t'])\n"
                "m.score(test[cols], test['t'])",
            ],
            "test[cols]",
            "test['t']",
        ),
    ],
)
def test_rows_held_out_by_position_are_the_evaluation(
    tmp_path: Path, cells: list[str], x: str, y: str
) -> None:
    found = _evaluation(tmp_path, *cells)
    assert found is not None
    assert found[:2] == (x, y)
    assert "rows held out by position" in found[2]


@pytest.mark.parametrize(
    "cells",
    [
        # overlapping rows
        ["m = LogisticRegression()\nm.fit(X[:600], y[:600])\nm.score(X[500:], y[500:])"],
        # counted from different ends: depends on the table's length
        ["m = LogisticRegression()\nm.fit(X[:600], y[:600])\nm.score(X[-100:], y[-100:])"],
        # another table
        [
            "Z = X.copy()\nm = LogisticRegression()\n"
            "m.fit(X[:600], y[:600])\nm.score(Z[600:], y[600:])"
        ],
        # a bound that is not a literal
        ["k = 600\nm = LogisticRegression()\nm.fit(X[:k], y[:k])\nm.score(X[k:], y[k:])"],
        # a step
        ["m = LogisticRegression()\nm.fit(X[::2], y[::2])\nm.score(X[1::2], y[1::2])"],
        # rows appended to the held-out side
        [
            "train, test = df[:600], df[600:]\nextra = pd.concat([test, train])",
            "m = LogisticRegression().fit(train[['a']], train['t'])\n"
            "m.score(extra[['a']], extra['t'])",
        ],
        # scored on the fitted rows
        ["m = LogisticRegression()\nm.fit(X[:600], y[:600])\nm.score(X[:600], y[:600])"],
    ],
)
def test_what_might_overlap_is_not_a_hold_out(tmp_path: Path, cells: list[str]) -> None:
    assert _evaluation(tmp_path, *cells) is None
