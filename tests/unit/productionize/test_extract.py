"""Extraction: cell tags first, a backward slice from the model otherwise; clear failures."""

from __future__ import annotations

import ast
from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_nb.exceptions import MlopsNbError, NotebookError
from mlops_nb.productionize.extract import ExtractionError, extract

Notebook = Callable[[str], Path]


def _sources(ex) -> str:  # type: ignore[no-untyped-def]
    return "\n".join(s.source for s in ex.statements)


def test_tagged_notebook_keeps_tagged_cells_only(notebook: Notebook) -> None:
    ex = extract(notebook("tagged.ipynb"))
    assert ex.mode == "tags"
    assert ex.model_var == "clf"
    assert ex.cells == [2, 3, 5]
    assert [p.name for p in ex.parameters] == ["n_estimators", "max_depth"]
    reasons = {(d.cell, d.reason) for d in ex.dropped}
    assert (4, "tagged 'skip'") in reasons
    assert (6, "untagged (the notebook uses cell tags)") in reasons
    assert "describe" not in _sources(ex)


def test_untagged_slice_drops_eda_plots_and_evaluation(notebook: Notebook) -> None:
    ex = extract(notebook("untagged_eda.ipynb"))
    assert ex.mode == "slice"
    assert ex.model_var == "model"
    code = _sources(ex)
    for gone in ("plt", "describe", "head()", "corr", "value_counts", "score"):
        assert gone not in code
    assert "train_test_split(X, y" in code and "model.fit(X_train, y_train)" in code
    why = {d.what: d.reason for d in ex.dropped}
    assert why["plt.show()"] == "plot"
    assert why["df.describe()"].startswith("display")
    assert why["accuracy = model.score(X_test, y_test)"].startswith("uses the model after fitting")


def test_magics_and_shell_lines_are_dropped_and_reported(notebook: Notebook) -> None:
    ex = extract(notebook("magics.ipynb"))
    assert ex.model_var == "tree"
    code = _sources(ex)
    assert "%" not in code and "!" not in code
    ast.parse(code)  # what is kept is plain Python
    dropped = {d.what for d in ex.dropped if d.reason == "IPython magic or shell line"}
    assert {
        "%matplotlib inline",
        "!echo hello",
        "files = !ls",
        "%%bash",
        "%time tree.fit(X, y)",
    } <= dropped
    # the body of a %%time cell is kept: the model is trained there
    assert "tree.fit(X, y)" in code


def test_model_var_selects_among_several(notebook: Notebook) -> None:
    path = notebook("two_models.ipynb")
    ex = extract(path)  # the last fitted is served; the other is listed with what to pass
    assert ex.model_var == "dt"
    [note] = [n for n in ex.notes if n.kind == "candidates"]
    assert "`lr` (cell 2, line 2)" in note.message and "--model-var lr" in note.message
    assert extract(path, model_var="lr").model_var == "lr"
    with pytest.raises(ExtractionError, match=r"no fitted model is bound to `rf`.*dt, lr") as err:
        extract(path, model_var="rf")
    assert err.value.exit_code == 2


@pytest.mark.parametrize(
    ("name", "error", "message"),
    [
        ("no_model.ipynb", ExtractionError, "no model found"),
        (
            "unresolved.ipynb",
            ExtractionError,
            "`features_from_elsewhere` is used but never defined",
        ),
        ("syntax_error.ipynb", NotebookError, "cell 2: this cell is not valid Python"),
        ("not_a_notebook.ipynb", NotebookError, "not a readable .ipynb notebook"),
    ],
)
def test_unsupported_notebooks_fail_clearly(
    notebook: Notebook, name: str, error: type[MlopsNbError], message: str
) -> None:
    with pytest.raises(error, match=message):
        extract(notebook(name))


def test_missing_notebook(tmp_path: Path) -> None:
    with pytest.raises(NotebookError, match="no such notebook"):
        extract(tmp_path / "nope.ipynb")
