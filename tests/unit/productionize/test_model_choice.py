"""Model choice: fits in loops and functions are exploration, every alias selects the model, the
slice ends at the chosen fit (a save/reload after it is left out), notes say what to pass."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_nb.productionize.estimators import unseeded
from mlops_nb.productionize.extract import ExtractionError, extract
from mlops_nb.productionize.supported import UnsupportedModelError

Notebook = Callable[[str], Path]


def _code(ex) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(s.source for s in ex.statements)


def test_default_is_the_final_fit_outside_loops(notebook: Notebook) -> None:
    ex = extract(notebook("prod_search_loop.ipynb"))
    assert ex.model_var == "model"
    assert ex.fit.stmt.source == "model = final.fit(X_train, y_train)"
    assert (ex.fit.x_src, ex.fit.y_src) == ("X_train", "y_train")
    assert ex.statements[-1] is ex.fit.stmt  # the slice ends at the chosen fit
    code = _code(ex)
    assert "RandomizedSearchCV" not in code and "joblib" not in code and "pickle" not in code
    assert ex.capture_cell == 4  # the notebook run stops after the model's cell
    assert ex.unseeded == []
    loops = {n.model_var: n for n in ex.notes if n.kind == "loop"}
    assert set(loops) == {"search", "m"}
    assert "hyper-parameter search inside a loop" in loops["search"].message
    assert (loops["search"].cell, loops["search"].line) == (3, 6)
    assert "--model-var search" in str(loops["search"])


@pytest.mark.parametrize("name", ["model", "final", "served"])
def test_every_name_bound_to_the_fitted_model_selects_it(notebook: Notebook, name: str) -> None:
    ex = extract(notebook("prod_search_loop.ipynb"), model_var=name)
    assert ex.model_var == ("final" if name == "final" else "model")
    if name == "served":  # bound after a reload: the same model, served as `model`
        [note] = [n for n in ex.notes if n.kind == "alias"]
        assert "`served` holds the same fitted model as `model`" in note.message
    assert ex.fit.stmt.source == "model = final.fit(X_train, y_train)"
    assert set(ex.aliases) == {"model", "final", "served"}
    assert "joblib.load" not in _code(ex)


def test_a_loop_fit_is_served_only_when_asked(notebook: Notebook) -> None:
    ex = extract(notebook("prod_search_loop.ipynb"), model_var="search")
    assert ex.fit.stmt.cell.number == 3
    assert isinstance(ex.statements[-1].node, ast.For)


def test_best_estimator_alias_and_exploratory_functions(notebook: Notebook) -> None:
    path = notebook("prod_best_estimator.ipynb")
    ex = extract(path)
    assert ex.model_var == "search"  # the last model fitted outside loops and functions
    kinds = {n.kind: n for n in ex.notes}
    assert "`evaluate(...)`" in kinds["function_in_loop"].message
    other = kinds["candidates"]
    assert "`trees` (cell 2, line 7) unseeded" in other.message
    assert other.model_var == "trees"
    best = extract(path, model_var="best")
    assert best.model_var == "best"
    assert best.statements[-1].source == "best = search.best_estimator_"
    with pytest.raises(ExtractionError, match="no fitted model is bound to `clf`") as err:
        extract(path, model_var="clf")  # local to a notebook function
    assert "best, search, trees" in str(err.value)


def test_only_loop_fits_are_served_with_a_warning_and_unseeded_named(notebook: Notebook) -> None:
    ex = extract(notebook("prod_only_loop.ipynb"))
    assert ex.model_var == "tree"
    kinds = [n.kind for n in ex.notes]
    assert kinds == ["only_in_loop", "unseeded"]
    note = ex.notes[1]
    assert (note.cell, note.line) == (2, 3)
    assert "DecisionTreeClassifier(...)" in note.message and "--seed" in note.message
    assert ex.unseeded == [(2, 3, "DecisionTreeClassifier")]


def test_a_notebook_class_without_sklearn_bases_is_refused(notebook: Notebook) -> None:
    with pytest.raises(UnsupportedModelError) as err:
        extract(notebook("prod_unsupported.ipynb"))
    message = str(err.value)
    assert "MajorityModel (defined in cell 2)" in message
    assert "XGBoost, LightGBM and CatBoost" in message and "BaseEstimator" in message
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("call", "random"),
    [
        ("RandomForestClassifier()", True),
        ("RandomForestClassifier(random_state=None)", True),
        ("RandomForestClassifier(random_state=0)", False),
        ("RandomForestClassifier(random_state=SEED)", False),
        ("RandomForestClassifier(**params)", False),
        ("ensemble.ExtraTreesRegressor(n_estimators=5)", True),
        ("LogisticRegression(max_iter=100)", False),
        ("LogisticRegression(solver='saga')", True),
        ("SVC()", False),
        ("SVC(probability=True)", True),
        ("XGBClassifier()", False),
        ("LGBMRegressor()", False),
        ("RandomizedSearchCV(est, grid)", True),
        ("GridSearchCV(est, grid)", False),
    ],
)
def test_unseeded_is_judged_from_the_constructor(call: str, random: bool) -> None:
    node = ast.parse(call).body[0]
    assert isinstance(node, ast.Expr) and isinstance(node.value, ast.Call)
    assert unseeded(node.value) is random


def test_a_fit_only_inside_a_function_is_explained(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("from sklearn.tree import DecisionTreeClassifier\nX, y = [[0]], [0]"),
            new_code_cell(
                "def train(X, y):\n    m = DecisionTreeClassifier(random_state=0)\n"
                "    m.fit(X, y)\n    return m\nmodel = train(X, y)"
            ),
        ]
    )
    nbformat.write(nb, tmp_path / "f.ipynb")
    with pytest.raises(ExtractionError, match=r"only inside notebook function\(s\) train"):
        extract(tmp_path / "f.ipynb")
    with pytest.raises(ExtractionError, match="no fitted model is bound to `m`"):
        extract(tmp_path / "f.ipynb", model_var="m")


@pytest.mark.parametrize(
    ("loop", "pick"),
    [
        ("for name, m in models.items():", "best = models[max(scores, key=scores.get)]"),
        ("for name, m in models.items():", "best = models.get(max(scores, key=scores.get))"),
        ("for name, m in zip(names, models):", "best = models[names.index(max(scores))]"),
        ("for i, m in enumerate(models):", "best = models[0]"),
    ],
)
def test_the_model_picked_from_a_loop_of_fits_is_served(
    tmp_path: Path, loop: str, pick: str
) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [
        "from sklearn.linear_model import LogisticRegression\n"
        "from sklearn.tree import DecisionTreeClassifier\n"
        "X, y = [[0], [1], [2], [3]], [0, 0, 1, 1]",
        "names = ['lr', 'tree']\n"
        "models = {'lr': LogisticRegression(), 'tree': DecisionTreeClassifier(random_state=0)}\n"
        + ("models = list(models.values())\n" if "zip" in loop or "enumerate" in loop else "")
        + f"scores = {{}}\n{loop}\n    m.fit(X, y)\n    scores[str(m)] = m.score(X, y)",
        f"{pick}\nprint(best)",
    ]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path / "m.ipynb")
    ex = extract(tmp_path / "m.ipynb")
    assert ex.model_var == "best"
    assert ex.statements[-1].source == pick
    [note] = [n for n in ex.notes if n.kind == "picked"]
    assert "picked from the models the loop in cell 2 fits" in note.message
    assert extract(tmp_path / "m.ipynb", model_var="m").model_var == "m"  # the loop's own name
    if "zip" in loop:  # an element of the other zipped list is a name, not a model
        with pytest.raises(ExtractionError, match="no fitted model is bound to `first`"):
            path = tmp_path / "n.ipynb"
            more = [*cells, "first = names[0]"]
            nbformat.write(new_notebook(cells=[new_code_cell(c) for c in more]), path)
            extract(path, model_var="first")


def test_a_native_boosting_api_is_named_with_the_estimator_to_use(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = [
        "import xgboost as xgb\nX, y = [[0], [1]], [0, 1]",
        "booster = xgb.train({'max_depth': 2}, xgb.DMatrix(X, label=y), num_boost_round=3)",
    ]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path / "x.ipynb")
    with pytest.raises(ExtractionError, match=r"`xgb.train\(...\)` in cell 2 is xgboost's native"):
        extract(tmp_path / "x.ipynb")


@pytest.mark.parametrize(
    "fit",
    ["km = KMeans(n_clusters=3)\nkm.fit(X)", "labels = KMeans(n_clusters=3).fit_predict(X)"],
)
def test_a_model_fitted_without_a_target_is_named_as_unsupported(tmp_path: Path, fit: str) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cells = ["from sklearn.cluster import KMeans\nX = [[0.0], [1.0], [5.0], [6.0]]", fit]
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in cells]), tmp_path / "k.ipynb")
    with pytest.raises(ExtractionError, match="in cell 2 fits KMeans without a target"):
        extract(tmp_path / "k.ipynb")
    if fit.startswith("km"):
        with pytest.raises(ExtractionError, match="fits KMeans without a target"):
            extract(tmp_path / "k.ipynb", model_var="km")
