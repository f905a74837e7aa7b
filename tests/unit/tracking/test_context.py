"""Where a cell runs: notebook path detection and papermill parameter names."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from mlops_nb.tracking import context


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MLOPS_NB_NOTEBOOK_PATH", "JPY_SESSION_NAME"):
        monkeypatch.delenv(name, raising=False)


def test_unknown_when_nothing_names_the_notebook() -> None:
    found = context.detect_notebook({})
    assert (found.path, found.source, found.name) == (None, "unknown", "unknown")


def test_mlops_nb_runner_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MLOPS_NB_NOTEBOOK_PATH", str(tmp_path / "a.ipynb"))
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "b.ipynb"))
    found = context.detect_notebook({"__vsc_ipynb_file__": str(tmp_path / "c.ipynb")})
    assert found.path == str(tmp_path / "a.ipynb") and found.source == "mlops-nb"


def test_vscode(tmp_path: Path) -> None:
    found = context.detect_notebook({"__vsc_ipynb_file__": str(tmp_path / "v.ipynb")})
    assert found.path == str(tmp_path / "v.ipynb") and found.source == "vscode"
    assert found.stem == "v"


def test_jupyterlab_session(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JPY_SESSION_NAME", str(tmp_path / "lab.ipynb"))
    found = context.detect_notebook({})
    assert found.path == str(tmp_path / "lab.ipynb") and found.source == "jupyter"


def test_parameter_names_come_from_tagged_cells(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "alpha = 0.5\nepochs: int = 3", metadata={"tags": ["parameters"]}
        ),
        nbformat.v4.new_code_cell("alpha = 0.9", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("beta = 1"),
    ]
    path = tmp_path / "p.ipynb"
    nbformat.write(nb, path)
    assert context.notebook_parameter_names(str(path)) == ["alpha", "epochs"]


def test_cell_id_is_found_by_source(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("%%track --name x\nvalue = 1")
    nb.cells = [nbformat.v4.new_code_cell("other = 2"), cell]
    path = tmp_path / "ids.ipynb"
    nbformat.write(nb, path)
    assert context.notebook_cell_id(str(path), "value = 1") == cell.id


def test_git_state_outside_a_repository(tmp_path: Path) -> None:
    assert context.git_state(tmp_path) is None
