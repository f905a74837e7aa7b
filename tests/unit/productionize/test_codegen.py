"""Where the data code goes (features.py) and what train.py keeps, from the notebooks' text."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from mlops_nb.productionize.codegen import generate
from mlops_nb.productionize.dataflow import DataFlowError, plan
from mlops_nb.productionize.extract import extract
from mlops_nb.productionize.render import render_template

Notebook = Callable[[str], Path]


def _write(folder: Path, *cells: str) -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    path = folder / "nb.ipynb"
    nbformat.write(nb, path)
    return path


def test_helper_functions_and_column_arithmetic_go_to_features_py(notebook: Notebook) -> None:
    path = notebook("helpers.ipynb")
    ex = extract(path)
    flow = plan(ex)
    fp = flow.features
    assert fp is not None
    assert [s.node.name for s in fp.functions] == ["add_ratios"]  # type: ignore[attr-defined]
    assert fp.evaluation is not None and fp.evaluation.x == "X_test"
    code = generate(ex, flow, render_template, path.parent / "svc")
    features = ast.parse(code.features_py)
    names = {n.name for n in features.body if isinstance(n, ast.FunctionDef)}
    assert {"add_ratios", "program", "fit_features", "transform", "load_state"} <= names
    assert "np.log1p(feats['s5'])" in code.features_py
    # the data source is the request at serving; the target's path runs at training only
    assert "_S.source(" in code.features_py
    assert "if _S.fitting:\n        y = feats['target']" in code.features_py
    # train.py calls the shared code instead of repeating it
    assert "feature_code.fit_features(params)" in code.train_py
    assert "def add_ratios" not in code.train_py and "log1p" not in code.train_py
    ast.parse(code.train_py)


def test_plain_selection_still_takes_raw_columns(notebook: Notebook) -> None:
    path = notebook("untagged_eda.ipynb")
    ex = extract(path)
    flow = plan(ex)
    assert flow.features is not None and flow.split is not None
    assert flow.split.twin("X_train") == "X_test"
    code = generate(ex, flow, render_template, path.parent / "svc")
    assert "X = df.drop(columns=['target'])" in code.features_py
    assert "df.describe()" not in code.features_py + code.train_py


def test_parameters_become_flags_and_data_paths_relative_to_the_service(notebook: Notebook) -> None:
    path = notebook("parameters.ipynb")
    ex = extract(path)
    code = generate(ex, plan(ex), render_template, path.parent / "svc")
    train = code.train_py
    assert '"--C", dest="C", type=float' in train
    assert '"--seed", dest="seed", type=int' in train
    # a string parameter naming an existing file becomes a data flag relative to the service
    assert '"--data-path", dest="data_path"' in train
    assert "'data_path': '../wine.csv'" in code.features_py
    assert str(path.parent) not in train + code.features_py
    assert "wine.info()" not in train + code.features_py


def test_literal_data_paths_become_a_data_flag(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "houses.csv").write_text("a,b,y\n1,2,3\n")
    path = _write(
        tmp_path,
        "import pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        "df = pd.read_csv('data/houses.csv')\nm = LinearRegression().fit(df[['a', 'b']], df['y'])",
    )
    ex = extract(path)
    code = generate(ex, plan(ex), render_template, tmp_path / "houses-service")
    assert code.data_args[0].flag == "data"
    assert code.data_args[0].default == "../data/houses.csv"
    assert "pd.read_csv(P['data'])" in code.features_py
    assert '(HERE / params["data"])' in code.train_py


def test_statistics_fits_and_row_filters_are_rewritten(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "import pandas as pd\nfrom sklearn.preprocessing import StandardScaler\n"
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.model_selection import train_test_split",
        "df = pd.read_csv('x.csv')\ndf = df.dropna(subset=['a'])\ndf = df[df['a'] < 100]\n"
        "df['b'] = df['b'].fillna(df['b'].median())\ndf = pd.get_dummies(df, columns=['g'])\n"
        "sc = StandardScaler()\ndf[['a', 'b']] = sc.fit_transform(df[['a', 'b']])",
        "X = df.drop(columns='y')\ny = df['y']\n"
        "Xtr, Xte, ytr, yte = train_test_split(X, y, random_state=0)\n"
        "clf = LogisticRegression().fit(Xtr, ytr)",
    )
    (tmp_path / "x.csv").write_text("a,b,g,y\n1,2,u,0\n")
    ex = extract(path)
    code = generate(ex, plan(ex), render_template, tmp_path / "svc").features_py
    assert "_S.rows(df, lambda _r: _r.dropna(subset=['a']))" in code
    assert "_S.index(df, df['a'] < 100)" in code
    assert "_S.value('cell2:4:" in code and "df['b'].median()" in code
    assert "_S.dummies('cell2:5:" in code
    assert "_S.fit_transform('cell2:7:" in code and "sc = _S.fitted(" in code
    assert "_S.split(" in code and "Xtr = Xte = X" in code


def test_a_lag_feature_cannot_move_and_names_its_line(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "import pandas as pd\nfrom sklearn.linear_model import LinearRegression",
        "sales = pd.read_csv('s.csv')\nsales['prev'] = sales['units'].shift(1)\n"
        "m = LinearRegression().fit(sales[['prev']], sales['units'])",
    )
    with pytest.raises(
        DataFlowError, match=r"cell 2, line 2: `\.shift\(\.\.\.\)`.*--engineered-input"
    ):
        plan(extract(path))


def test_no_data_source_leaves_no_feature_plan(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "import numpy as np\nfrom sklearn.linear_model import LinearRegression",
        "X = np.arange(20.0).reshape(10, 2)\ny = X.sum(axis=1)\nm = LinearRegression().fit(X, y)",
    )
    flow = plan(extract(path))
    assert flow.features is None
    assert any("no data source" in note for note in flow.notes)
