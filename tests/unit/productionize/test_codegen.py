"""Feature code detection and the generated train.py / features.py sources."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

from mlops_nb.productionize.codegen import generate
from mlops_nb.productionize.extract import extract
from mlops_nb.productionize.featurize import plan
from mlops_nb.productionize.render import render_template

Notebook = Callable[[str], Path]


def test_helper_functions_and_column_arithmetic_go_to_features_py(notebook: Notebook) -> None:
    ex = extract(notebook("helpers.ipynb"))
    flow = plan(ex)
    assert flow.features is not None
    fp = flow.features
    assert fp.raw_var == "raw"
    assert fp.targets == ["target"]
    assert [s.node.name for s in fp.functions] == ["add_ratios"]  # type: ignore[attr-defined]
    code = generate(ex, flow, render_template)
    assert code.features_py is not None
    features = ast.parse(code.features_py)
    names = {n.name for n in features.body if isinstance(n, ast.FunctionDef)}
    assert {"add_ratios", "derive", "build_features"} <= names
    assert "np.log1p(feats['s5'])" in code.features_py
    # train.py calls the shared code instead of repeating it
    assert "feature_code.derive(raw)" in code.train_py
    assert "def add_ratios" not in code.train_py
    assert "log1p" not in code.train_py


def test_plain_selection_needs_no_feature_code(notebook: Notebook) -> None:
    ex = extract(notebook("untagged_eda.ipynb"))
    flow = plan(ex)
    assert flow.features is None
    assert flow.split is not None and (flow.split.x_eval, flow.split.y_eval) == ("X_test", "y_test")
    code = generate(ex, flow, render_template)
    assert code.features_py is None
    ast.parse(code.train_py)


def test_parameters_become_flags_and_data_paths_arguments(notebook: Notebook) -> None:
    path = notebook("parameters.ipynb")
    ex = extract(path)
    code = generate(ex, plan(ex), render_template)
    train = code.train_py
    assert '"--C", dest="C", type=float, default=0.5' in train
    assert '"--seed", dest="seed", type=int, default=7' in train
    # a string parameter naming an existing file becomes an absolute default
    assert f"default={str(path.parent / 'wine.csv')!r}" in train
    assert "wine.info()" not in train


def test_literal_data_paths_become_arguments(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "houses.csv").write_text("a,b,y\n1,2,3\n")
    nb = new_notebook(
        cells=[
            new_code_cell("import pandas as pd\nfrom sklearn.linear_model import LinearRegression"),
            new_code_cell(
                "df = pd.read_csv('data/houses.csv')\n"
                "m = LinearRegression().fit(df[['a', 'b']], df['y'])"
            ),
        ]
    )
    nbformat.write(nb, tmp_path / "houses.ipynb")
    ex = extract(tmp_path / "houses.ipynb")
    code = generate(ex, plan(ex), render_template)
    assert code.data_args[0].flag == "data"
    assert "pd.read_csv(args.data)" in code.train_py
    assert str((tmp_path / "data" / "houses.csv").resolve()) in code.train_py
