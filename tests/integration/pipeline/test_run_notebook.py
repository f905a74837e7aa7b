"""`mlops-nb run` / run_notebook with real kernels and a real MLflow store."""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest
from integration.pipeline.helpers import runs

from mlops_nb.cli import main
from mlops_nb.pipeline.api import run_notebook

pytestmark = pytest.mark.integration


def _artifacts(run_id: str) -> set[str]:
    from mlflow.tracking import MlflowClient

    from mlops_nb.config import get_settings

    client = MlflowClient(get_settings().tracking_uri)
    return {
        f.path
        for folder in client.list_artifacts(run_id)
        for f in client.list_artifacts(run_id, folder.path)
    }


def test_run_injects_typed_parameters_and_records_one_run(
    notebook: Callable[..., Path], isolated: Path
) -> None:
    source = notebook("params.ipynb")
    result = run_notebook(
        source, {"alpha": 0.5, "n": 3, "name": "x", "flag": True, "values": [1, 2]}
    )
    assert result.ok, result.error
    seen = json.loads((isolated / "result.json").read_text())
    assert seen == {
        "alpha": ["float", 0.5],
        "n": ["int", 3],
        "name": ["str", "x"],
        "flag": ["bool", True],
        "values": ["list", [1, 2]],
    }
    assert result.output_path == isolated / "out" / "params.ipynb"
    executed = nbformat.read(result.output_path, as_version=4)
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in executed.cells)

    [run] = runs("params")
    assert run.info.run_id == result.run_id
    assert run.info.status == "FINISHED"
    assert run.data.params == {
        "alpha": "0.5",
        "n": "3",
        "name": "x",
        "flag": "true",
        "values": "[1, 2]",
    }
    assert run.data.tags["mlops_nb.kind"] == "notebook"
    assert run.data.tags["mlops_nb.notebook"] == str(source)
    assert run.data.metrics["duration_s"] > 0
    assert _artifacts(result.run_id) == {"notebook/params.ipynb", "html/params.html"}


def test_cli_types_values_like_papermill(notebook: Callable[..., Path], isolated: Path) -> None:
    source = notebook("params.ipynb")
    (isolated / "p.yaml").write_text("name: from-file\nn: 1\n")
    code = main(
        [
            "run",
            str(source),
            "-f",
            "p.yaml",
            "-p",
            "n",
            "4",
            "-p",
            "alpha",
            "1e-3",
            "-p",
            "flag",
            "true",
            "--out",
            "executed",
            "--experiment",
            "cli",
        ]
    )
    assert code == 0
    seen = json.loads((isolated / "result.json").read_text())
    assert seen["n"] == ["int", 4]
    assert seen["alpha"] == ["float", 0.001]
    assert seen["flag"] == ["bool", True]
    assert seen["name"] == ["str", "from-file"]
    assert (isolated / "executed" / "params.ipynb").exists()
    assert [r.info.status for r in runs("cli")] == ["FINISHED"]


def test_failing_notebook_exits_1_names_the_cell_and_keeps_the_output(
    notebook: Callable[..., Path], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = notebook("broken.ipynb")
    code = main(["run", str(source), "-p", "x", "7"])
    assert code == 1
    err = capsys.readouterr().err
    # names the failing cell (1-based, with its prompt and first line) and its error
    assert "error: " in err and 'cell #3 (In [4], "raise ValueError(f"boom {x}")")' in err
    assert "raised ValueError: boom 7" in err
    assert str(isolated / "out" / "broken.ipynb") in err

    executed = nbformat.read(isolated / "out" / "broken.ipynb", as_version=4)
    text = json.dumps([c.get("outputs", []) for c in executed.cells])
    assert "before the failure" in text
    assert "boom 7" in text
    assert "never reached" not in text

    [run] = runs("broken")
    assert run.info.status == "FAILED"
    assert run.data.tags["mlops_nb.error"].endswith("raised ValueError: boom 7")
    assert run.data.tags["mlops_nb.failed_cell"] == "2"


def test_parameters_without_a_parameters_cell_is_a_usage_error(
    notebook: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source = notebook("noparams.ipynb")
    assert main(["run", str(source), "-p", "alpha", "1"]) == 2
    assert "no cell is tagged 'parameters'" in capsys.readouterr().err
    assert runs("noparams") == []


def test_concurrent_kernels_do_not_collide(notebook: Callable[..., Path], isolated: Path) -> None:
    """papermill issue #511: kernels started at the same moment raced for TCP ports."""
    source = notebook("kernel_info.ipynb")
    labels = [f"k{i}" for i in range(4)]
    with ThreadPoolExecutor(len(labels)) as pool:
        results = list(
            pool.map(
                lambda label: run_notebook(
                    source,
                    {"delay": 0.5, "label": label},
                    output_path=isolated / "out" / f"{label}.ipynb",
                    html=False,
                ),
                labels,
            )
        )
    assert [r.status for r in results] == ["FINISHED"] * 4, [r.error for r in results]
    seen = [json.loads((isolated / f"kernel-{label}.json").read_text()) for label in labels]
    assert {s["transport"] for s in seen} == {"ipc"}
    assert len({s["pid"] for s in seen}) == 4
    # each kernel saw its own run as the parent of its tracked cells, and the source notebook
    assert [s["parent"] for s in seen] == [r.run_id for r in results]
    assert {s["notebook"] for s in seen} == {str(source)}
