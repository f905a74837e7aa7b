"""The generated features.py at work: fitted on the training rows, then answering request rows the
way the notebook computed them (no kernel: the notebook's code cells are turned into features.py
and imported)."""

from __future__ import annotations

import importlib.util
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import nbformat
import numpy as np
import pandas as pd
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from sklearn.linear_model import LogisticRegression

from mlops_nb.productionize.codegen import RUNTIME_MODULE, generate
from mlops_nb.productionize.dataflow import plan
from mlops_nb.productionize.extract import extract
from mlops_nb.productionize.render import render_template

IMPORTS = (
    "import numpy as np\nimport pandas as pd\n"
    "from sklearn.linear_model import LinearRegression, LogisticRegression\n"
    "from sklearn.model_selection import train_test_split\n"
    "from sklearn.preprocessing import LabelEncoder, StandardScaler"
)


def _frame(n: int = 120) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "id": np.arange(n),
            "a": rng.normal(10, 3, n).round(2),
            "b": rng.normal(0, 1, n).round(3),
            "g": rng.choice(["red", "green", "blue"], n),
            "y": rng.integers(0, 2, n),
        }
    )
    frame.loc[::7, "a"] = np.nan
    return frame


@pytest.fixture
def features(tmp_path: Path) -> Iterator[Any]:
    """features(cell) -> (module, fitted): the cell becomes features.py, fitted on data.csv."""
    loaded: list[str] = []

    def make(source: str, frame: pd.DataFrame | None = None) -> tuple[ModuleType, Any]:
        folder = tmp_path / f"nb{len(loaded)}"
        folder.mkdir()
        (frame if frame is not None else _frame()).to_csv(folder / "data.csv", index=False)
        nb = new_notebook(cells=[new_code_cell(IMPORTS), new_code_cell(source)])
        nbformat.write(nb, folder / "nb.ipynb")
        ex = extract(folder / "nb.ipynb")
        flow = plan(ex)
        assert flow.features is not None, flow.notes
        code = generate(ex, flow, render_template, folder)
        name = f"features_{len(loaded)}"
        (folder / f"{name}.py").write_text(code.features_py)
        shutil.copyfile(RUNTIME_MODULE, folder / "feature_runtime.py")
        sys.path.insert(0, str(folder))
        spec = importlib.util.spec_from_file_location(name, folder / f"{name}.py")
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
        loaded.append(name)
        fitted = module.fit_features({"data": str(folder / "data.csv")})
        _settle(module, fitted, None)
        return module, fitted

    yield make
    for name in loaded:
        sys.modules.pop(name, None)
    sys.path[:] = [p for p in sys.path if not p.startswith(str(tmp_path))]


def _settle(module: ModuleType, fitted: Any, model: Any) -> None:
    import feature_runtime

    feature_runtime.settle_inputs(module.program, fitted, model)


def test_statistics_come_from_training_rows(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv')\ndf['a'] = df['a'].fillna(df['a'].mean())\n"
        "X = df[['a', 'b']]\ny = df['y']\nm = LogisticRegression().fit(X, y)"
    )
    mean = _frame()["a"].mean()
    one = module.transform(pd.DataFrame({"a": [None], "b": [0.5]}), fitted.state)
    assert one["a"].iloc[0] == pytest.approx(mean)  # not the mean of one missing value


def test_get_dummies_keeps_training_columns_for_one_row(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv')\ndf = pd.get_dummies(df, columns=['g'], drop_first=True)\n"
        "X = df.drop(columns=['y', 'id'])\ny = df['y']\n"
        "m = LogisticRegression().fit(X.fillna(0), y)"
    )
    x = fitted.names["_X"]
    assert list(x.columns) == ["a", "b", "g_green", "g_red"]
    one = module.transform(pd.DataFrame({"a": [1.0], "b": [2.0], "g": ["red"]}), fitted.state)
    assert list(one.columns) == list(x.columns)
    assert bool(one["g_red"].iloc[0]) and not bool(one["g_green"].iloc[0])
    unseen = module.transform(pd.DataFrame({"a": [1.0], "b": [2.0], "g": ["purple"]}), fitted.state)
    assert not unseen[["g_green", "g_red"]].any(axis=None)


def test_a_scaler_fitted_outside_a_pipeline_is_replayed(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv').dropna()\nsc = StandardScaler()\n"
        "X = sc.fit_transform(df[['a', 'b']])\ny = df['y']\nm = LogisticRegression().fit(X, y)"
    )
    training = _frame().dropna()
    expected = (training[["a", "b"]].iloc[:1] - training[["a", "b"]].mean()) / training[
        ["a", "b"]
    ].std(ddof=0)
    one = module.transform(training.iloc[:1][["a", "b"]].reset_index(drop=True), fitted.state)
    assert np.allclose(one, expected.to_numpy())


def test_row_filters_and_the_split_apply_at_training_only(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv')\ndf = df.dropna()\ndf = df[df['b'] > -1]\n"
        "X = df[['a', 'b']]\ny = df['y']\n"
        "X_tr, X_te, y_tr, y_te = train_test_split(X, y, random_state=0)\n"
        "m = LogisticRegression().fit(X_tr, y_tr)"
    )
    training = _frame()
    kept = training.dropna()
    kept = kept[kept["b"] > -1]
    assert len(fitted.names["_X"]) + len(fitted.names["_X_eval"]) == len(kept)
    assert fitted.heldout == list(fitted.names["_X_eval"].index)
    rows = training.iloc[:10][["a", "b"]].reset_index(drop=True)  # NaNs and b < -1 included
    assert len(module.transform(rows, fitted.state)) == 10


def test_inputs_are_the_columns_the_features_depend_on(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv')\ndf['a'] = df['a'].fillna(0)\ndf['ab'] = df['a'] * df['b']\n"
        "X = df.drop(columns=['y', 'id', 'g'])\ny = df['y']\nm = LogisticRegression().fit(X, y)"
    )
    model = LogisticRegression().fit(fitted.names["_X"], fitted.names["_y"])
    _settle(module, fitted, model)
    assert fitted.state.inputs == ["a", "b"]
    assert set(fitted.state.placeholders) == {"id", "g", "y"}
    with pytest.raises(ValueError, match="missing input column"):
        module.transform(pd.DataFrame({"a": [1.0]}), fitted.state)


def test_label_encoders_refit_in_a_loop_keep_one_state_per_column(features: Any) -> None:
    frame = _frame()
    frame["h"] = np.where(frame["b"] > 0, "yes", "no")
    module, fitted = features(
        "df = pd.read_csv('data.csv')\nle = LabelEncoder()\nfor col in ['g', 'h']:\n"
        "    df[col] = le.fit_transform(df[col])\nX = df[['g', 'h']]\ny = df['y']\n"
        "m = LogisticRegression().fit(X, y)",
        frame,
    )
    one = module.transform(pd.DataFrame({"g": ["red"], "h": ["yes"]}), fitted.state)
    assert one.to_dict("records") == [{"g": 2, "h": 1}]  # blue, green, red / no, yes


def test_quantile_bins_use_the_training_edges(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv').dropna()\ndf['band'] = pd.qcut(df['a'], 4, labels=False)\n"
        "X = df[['band', 'b']]\ny = df['y']\nm = LogisticRegression().fit(X, y)"
    )
    x = fitted.names["_X"]
    rows = _frame().dropna()[["a", "b"]].iloc[:30].reset_index(drop=True)
    served = module.transform(rows, fitted.state)
    assert served["band"].tolist() == x["band"].iloc[:30].tolist()
    assert module.transform(rows.iloc[[3]], fitted.state)["band"].tolist() == [x["band"].iloc[3]]


def test_group_statistics_per_row_come_from_the_training_groups(features: Any) -> None:
    module, fitted = features(
        "df = pd.read_csv('data.csv')\n"
        "df['a'] = df['a'].fillna(df.groupby('g')['a'].transform('median'))\n"
        "df['b_vs_g'] = df['b'] - df.groupby(['g'])['b'].transform('mean')\n"
        "df['n_g'] = df.groupby('g').a.transform('count')\n"
        "X = df[['a', 'b_vs_g', 'n_g']]\ny = df['y']\nm = LogisticRegression().fit(X, y)"
    )
    training = _frame()
    medians = training.groupby("g")["a"].median()
    means = training.groupby("g")["b"].mean()
    counts = training.groupby("g").size()  # `a` is filled by then: every row counts
    request = pd.DataFrame({"a": [None, 4.0], "b": [0.5, 0.5], "g": ["red", "purple"]})
    one = module.transform(request.iloc[:1], fitted.state)
    # a lone request row gets its training group's statistics, not its own
    assert one["a"].iloc[0] == pytest.approx(medians["red"])
    assert one["b_vs_g"].iloc[0] == pytest.approx(0.5 - means["red"])
    assert one["n_g"].iloc[0] == counts["red"] and one["n_g"].dtype == np.int64
    both = module.transform(request, fitted.state)
    assert both["a"].iloc[1] == 4.0  # nothing to fill
    assert np.isnan(both["b_vs_g"].iloc[1]) and np.isnan(both["n_g"].iloc[1])  # a group never seen
    assert both.iloc[0].equals(one.iloc[0])
    # at training the notebook's own values
    assert fitted.names["df"]["n_g"].tolist() == training["g"].map(counts).tolist()


@pytest.mark.filterwarnings("ignore:The provided callable")  # pandas on np.max, as in the notebook
@pytest.mark.filterwarnings("ignore:Mean of empty slice")  # the median of a group never seen
def test_a_function_per_group_runs_on_the_request_rows_training_group(features: Any) -> None:
    """``groupby(...)[col].transform(lambda s: s.fillna(s.median()))``, the classic Titanic age
    fill: a request row joins its training group alone, so it gets the training median, and
    never depends on the other request rows."""
    module, fitted = features(
        "df = pd.read_csv('data.csv')\n"
        "df['a'] = df.groupby('g')['a'].transform(lambda s: s.fillna(s.median()))\n"
        "df['rank_in_g'] = df.groupby(['g'])['b'].transform(np.max)\n"
        "X = df[['a', 'b', 'rank_in_g']]\ny = df['y']\nm = LogisticRegression().fit(X, y)"
    )
    training = _frame()
    medians = training.groupby("g")["a"].median()
    highest = training.groupby("g")["b"].max()
    request = pd.DataFrame(
        {"a": [None, 4.0, None], "b": [0.5, 99.0, 0.1], "g": ["red", "red", "purple"]}
    )
    rows = module.transform(request, fitted.state)
    assert rows["a"].iloc[0] == pytest.approx(medians["red"])  # the training group's median
    assert rows["a"].iloc[1] == 4.0  # nothing to fill
    assert np.isnan(rows["a"].iloc[2])  # a group training never saw: nothing to fill from
    assert rows["rank_in_g"].iloc[0] == pytest.approx(highest["red"])
    assert rows["rank_in_g"].iloc[1] == 99.0  # its own value joins its group
    # each row alone gives the same answer as in the batch (no row depends on the others)
    for i in range(len(request)):
        alone = module.transform(request.iloc[[i]], fitted.state)
        assert alone.iloc[0].equals(rows.iloc[i])
    # the function is called on each group's values directly (checked at training to answer as
    # the groupby does); through the groupby itself the answers are the same
    direct = [k for k in fitted.state.learned if k.endswith(":direct")]
    assert len(direct) == 2 and all(fitted.state.learned[k] for k in direct)
    for k in direct:
        fitted.state.learned[k] = False
    pd.testing.assert_frame_equal(module.transform(request, fitted.state), rows)
    # at training the notebook's own values
    expected = training.groupby("g")["a"].transform(lambda s: s.fillna(s.median()))
    assert fitted.names["df"]["a"].tolist() == expected.tolist()
