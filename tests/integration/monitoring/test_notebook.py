"""``notebooks/03_drift.ipynb`` runs top to bottom in a real kernel (a copy, in a temp dir), and its
widgets show what the text says: no drift, then drift, on frames and on live traffic."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest
from support import NOTEBOOKS

pytestmark = pytest.mark.integration

WIDGET = "application/vnd.jupyter.widget-view+json"


def _outputs(nb, fragment: str) -> list[dict]:
    cells = [c for c in nb.cells if c.cell_type == "code" and fragment in c.source]
    assert cells, fragment
    return cells[0].get("outputs", [])


def _display(nb, fragment: str) -> dict:
    data = [o["data"] for o in _outputs(nb, fragment) if "data" in o and WIDGET in o["data"]]
    assert data, f"no widget displayed by the cell with {fragment!r}"
    return data[0]


def _text(nb, fragment: str) -> str:
    outputs = _outputs(nb, fragment)
    return "".join(o.get("text", "") for o in outputs if o["output_type"] == "stream")


def test_drift_notebook_runs_and_its_widgets_flip(isolated: Path, tmp_path: Path) -> None:
    from nbclient import NotebookClient

    pytest.importorskip("sklearn")
    path = tmp_path / "03_drift.ipynb"
    shutil.copyfile(NOTEBOOKS / "03_drift.ipynb", path)
    nb = nbformat.read(path, as_version=4)

    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    assert "No dataset drift" in _display(nb, "calm = mlops_nb.drift")["text/html"]
    shifted = _display(nb, "shifted = mlops_nb.drift")
    assert "Dataset drift detected" in shifted["text/html"]
    assert shifted["text/plain"].startswith("DriftResult(dataset_drift=True")
    assert "exit code: 1" in _text(nb, '"--html"')
    assert (tmp_path / "out" / "drift-report.html").stat().st_size > 1_000_000
    live_calm = _display(nb, "send(applicants(1000")
    assert "No dataset drift" in live_calm["text/html"]
    live = _display(nb, "live = mlops_nb.drift(service=URL)")
    assert "Dataset drift detected" in live["text/html"]
    assert "exit code: 1" in _text(nb, '"--service", URL')
    import mlflow

    run = mlflow.search_runs(experiment_names=["drift-checks"], output_format="list")[0]
    assert run.data.metrics["drift_share"] == 0.5  # age, income, plan of 6 columns
