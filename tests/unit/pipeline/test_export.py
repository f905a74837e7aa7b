"""The Airflow export as text (no Airflow needed here; tests/integration runs it in Airflow)."""

from __future__ import annotations

import ast
import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from mlops_nb.cli import main
from mlops_nb.pipeline import export
from mlops_nb.pipeline.errors import PipelineError

Make = Callable[..., Path]

CHAIN = """
name: my pipe
steps:
  - {name: a, notebook: a.ipynb, outputs: [a.txt]}
  - {name: b-2, notebook: a.ipynb, inputs: [a.txt]}
  - {name: c, notebook: a.ipynb, needs: [a]}
"""


def _constants(source: str) -> dict[str, object]:
    tree = ast.parse(source)
    return {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in tree.body
        if isinstance(node, ast.Assign)
        and isinstance(node.targets[0], ast.Name)
        and node.targets[0].id in ("PIPELINE", "FOLDER", "STEPS", "COMMANDS")
    }


def test_airflow_dag_file_has_a_task_per_step_running_pipeline_run_only(
    workdir: Make, tmp_path: Path
) -> None:
    path = workdir(CHAIN, notebooks=("a.ipynb",))
    result = export(path, to="airflow", out=tmp_path / "dags", schedule="@daily", retries=3,
                    tracking_uri="http://tracking:5000")  # fmt: skip
    assert result.files == [tmp_path / "dags" / "mlops_nb__my_pipe.py"]
    source = result.main_file.read_text()
    values = _constants(source)
    assert values["STEPS"] == {"a": [], "b-2": ["a"], "c": ["a"]}
    assert values["FOLDER"] == str(path.parent)
    for step, command in values["COMMANDS"].items():  # type: ignore[union-attr]
        words = shlex.split(command)
        assert words[0] == "MLFLOW_TRACKING_URI=${MLFLOW_TRACKING_URI:-http://tracking:5000}"
        assert words[1:7] == ["mlops-nb", "pipeline", "run", str(path), "--only", step]
        assert words[7:] == ["--orchestrator-run", "{{ dag.dag_id }}:{{ run_id }}"]
    assert "schedule='@daily'" in source and '"retries": 3' in source
    # parsing the DAG file does no work: it imports only Airflow and the standard library
    imports = {
        (n.module if isinstance(n, ast.ImportFrom) else n.names[0].name)
        for n in ast.parse(source).body
        if isinstance(n, ast.Import | ast.ImportFrom)
    }
    assert imports == {
        "__future__",
        "datetime",
        "airflow.providers.standard.operators.bash",
        "airflow.sdk",
    }


def test_paths_and_stores_with_shell_characters_reach_the_command_intact(
    workdir: Make, tmp_path: Path
) -> None:
    """Run each task's command with bash, as Airflow does, with an `mlops-nb` that prints what
    it was given."""
    import os
    import subprocess

    path = workdir(CHAIN, notebooks=("a.ipynb",))
    odd = path.parent.parent / "it's $HOME `x`"
    path.parent.rename(odd)
    printer = tmp_path / "printer"
    printer.write_text('#!/bin/sh\nprintf "%s\\n" "$MLFLOW_TRACKING_URI" "$@"\n')
    printer.chmod(0o755)
    store = 'sqlite:////tmp/a "b" $c `d`.db'
    result = export(odd / "pipeline.yaml", to="airflow", out=tmp_path / "dags",
                    tracking_uri=store, command=str(printer))  # fmt: skip
    command = _constants(result.main_file.read_text())["COMMANDS"]["b-2"]  # type: ignore[index]
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
    assert out.stdout.splitlines() == [
        store, "pipeline", "run", str(odd / "pipeline.yaml"), "--only", "b-2",
        "--orchestrator-run", "{{ dag.dag_id }}:{{ run_id }}",
    ]  # fmt: skip
    # a worker's own MLFLOW_TRACKING_URI wins over the exported one
    env["MLFLOW_TRACKING_URI"] = "http://worker-store:5000"
    out = subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True)
    assert out.stdout.splitlines()[0] == "http://worker-store:5000"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--to", "argo"], "--to 'argo': export to one of: airflow, kfp"),
        (["--to", "airflow", "--schedule", "every day"], "is not a cron expression"),
        (["--to", "airflow", "--retries", "-1"], "--retries must be 0 or more"),
    ],
)
def test_bad_export_arguments_exit_2(
    workdir: Make, tmp_path: Path, args: list[str], message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    path = workdir(CHAIN, notebooks=("a.ipynb",))
    assert main(["pipeline", "export", str(path), "--out", str(tmp_path / "o"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_what_airflow_cannot_express_is_said(
    workdir: Make, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = workdir(CHAIN, notebooks=("a.ipynb",))
    monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", "tcp://dask:8786")
    result = export(path, to="airflow", out=tmp_path / "dags", tracking_uri="sqlite:///x.db")
    notes = "\n".join(result.notes)
    assert "the Dask executor is not expressed" in notes
    assert "must be at the same path on every Airflow worker" in notes
    assert "is a local file" in notes
    with pytest.raises(PipelineError, match="is a file; give a folder"):
        export(path, to="airflow", out=path)


def test_kfp_export_needs_no_kfp_sdk(
    workdir: Make, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The IR is written by mlops-nb (tests/integration compares it with the SDK's): exporting
    works where kfp is not installed, and never imports it where it is."""
    import sys

    import yaml

    path = workdir(CHAIN, notebooks=("a.ipynb",))
    out = tmp_path / "kfp"
    assert main(["pipeline", "export", str(path), "--to", "kfp", "--out", str(out)]) == 0
    assert "kfp" not in sys.modules
    ir = yaml.safe_load((out / "my_pipe.kfp.yaml").read_text())
    assert ir["schemaVersion"] == "2.1.0"
    assert sorted(ir["root"]["dag"]["tasks"]) == ["step-a", "step-b-2", "step-c"]
    assert "wrote " + str(out / "my_pipe_kfp.py") in capsys.readouterr().out.replace("\n", "")
