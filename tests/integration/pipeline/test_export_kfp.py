"""`mlops-nb pipeline export --to kfp`: compiled by the real kfp SDK, the IR loaded back."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from integration.pipeline.helpers import children, runs

from mlops_nb.cli import main
from mlops_nb.pipeline import export

pytestmark = pytest.mark.integration


def test_kfp_export_compiles_to_ir_with_components_parameters_and_dependencies(
    example_pipeline: Path,
    orchestrators: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("MLOPS_NB_KFP_PYTHON", str(orchestrators / "bin" / "python"))
    result = export(example_pipeline, to="kfp", out=tmp_path / "kfp", image="registry.local/wine:1")
    ir = yaml.safe_load(result.main_file.read_text())
    assert result.main_file.name == "wine_pipeline.kfp.yaml"

    # one container component per step, all on the given image, running the step's task
    executors = ir["deploymentSpec"]["executors"]
    assert len(executors) == 3
    for spec in executors.values():
        container = spec["container"]
        assert container["image"] == "registry.local/wine:1"
        assert container["command"] == ["python", "-m", "mlops_nb.pipeline.orchestrators.kfp_task"]
    tasks = ir["root"]["dag"]["tasks"]
    by_name = {t["taskInfo"]["name"]: (key, t) for key, t in tasks.items()}
    assert set(by_name) == {"prepare", "train", "evaluate"}

    # typed pipeline parameters, defaulting to pipeline.yaml's values, wired to their steps
    params = ir["root"]["inputDefinitions"]["parameters"]
    assert {k: (v["parameterType"], v["defaultValue"]) for k, v in params.items()} == {
        "prepare__test_size": ("NUMBER_DOUBLE", 0.25),
        "prepare__seed": ("NUMBER_INTEGER", 0),
        "train__n_estimators": ("NUMBER_INTEGER", 100),
        "train__max_depth": ("NUMBER_INTEGER", 5),
    }
    train_key, train = by_name["train"]
    assert train["inputs"]["parameters"]["n_estimators"]["componentInputParameter"] == (
        "train__n_estimators"
    )
    train_component = ir["components"][train["componentRef"]["name"]]
    assert train_component["inputDefinitions"]["parameters"]["n_estimators"]["parameterType"] == (
        "NUMBER_INTEGER"
    )

    # outputs are artifacts passed to the steps that read them; dependencies as in the DAG
    prepare_key, _ = by_name["prepare"]
    _, evaluate = by_name["evaluate"]
    assert train["dependentTasks"] == [prepare_key]
    assert sorted(evaluate["dependentTasks"]) == sorted([prepare_key, train_key])
    artifacts = evaluate["inputs"]["artifacts"]
    assert {
        (a["taskOutputArtifact"]["producerTask"], a["taskOutputArtifact"]["outputArtifactKey"])
        for a in artifacts.values()
    } == {(prepare_key, "out_data_test_csv"), (train_key, "out_models_model_pkl")}
    outputs = ir["components"][train["componentRef"]["name"]]["outputDefinitions"]["artifacts"]
    assert set(outputs) == {"out_models_model_pkl", "executed_notebook"}
    assert train["retryPolicy"]["maxRetryCount"] == 1

    # what KFP cannot express is said
    notes = " ".join(result.notes)
    assert "content-hash cache does not carry over" in notes
    assert "local file that pods cannot reach" in notes


def test_kfp_export_writes_the_default_image_and_says_what_is_lost(
    example_pipeline: Path,
    orchestrators: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLOPS_NB_KFP_PYTHON", str(orchestrators / "bin" / "python"))
    out = tmp_path / "kfp"
    args = ["pipeline", "export", str(example_pipeline), "--to", "kfp", "--out", str(out)]
    assert main([*args, "--schedule", "0 3 * * *", "--executor", "dask"]) == 0
    printed = capsys.readouterr().out
    assert "not expressed: the Dask executor is not expressed" in printed
    assert "create a recurring run" in printed
    dockerfile = (out / "Dockerfile").read_text()
    assert "COPY . /pipeline" in dockerfile and "pip install --no-cache-dir -r" in dockerfile
    requirements = (out / "requirements.txt").read_text().splitlines()
    assert requirements[-1].startswith("mlops-nb==")
    assert any(r.startswith("scikit-learn==") for r in requirements)  # train.ipynb imports sklearn
    ir = yaml.safe_load((out / "wine_pipeline.kfp.yaml").read_text())
    images = {e["container"]["image"] for e in ir["deploymentSpec"]["executors"].values()}
    assert images == {"mlops-nb-wine-pipeline:" + __import__("mlops_nb").__version__}


def test_a_kfp_step_runs_in_its_pod_as_the_component_calls_it(
    example_pipeline: Path, tmp_path: Path
) -> None:
    """What each container runs (``python -m mlops_nb.pipeline.orchestrators.kfp_task``), with
    artifacts in folders of their own as KFP mounts them: typed parameters from text, inputs
    copied in, outputs and the executed notebook copied out."""
    import subprocess
    import sys

    artifacts = tmp_path / "artifacts"
    task = [sys.executable, "-m", "mlops_nb.pipeline.orchestrators.kfp_task"]
    common = ["--pipeline", str(example_pipeline), "--orchestrator-run", "job-1"]
    prepare = subprocess.run(
        [
            *task, *common, "--step", "prepare",
            "--param", "test_size", "float", "0.5",
            "--param", "seed", "int", "3",
            "--output", "data/train.csv", str(artifacts / "prepare" / "train"),
            "--output", "data/test.csv", str(artifacts / "prepare" / "test"),
            "--notebook-out", str(artifacts / "prepare" / "notebook"),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert prepare.returncode == 0, prepare.stdout + prepare.stderr
    assert "step prepare: finished" in prepare.stdout
    train_rows = (artifacts / "prepare" / "train").read_text().splitlines()
    test_rows = (artifacts / "prepare" / "test").read_text().splitlines()
    assert abs(len(train_rows) - len(test_rows)) <= 1  # test_size 0.5 reached the notebook
    executed = json.loads((artifacts / "prepare" / "notebook").read_text())
    assert executed["metadata"]["papermill"]["parameters"] == {"test_size": 0.5, "seed": 3}

    # the next pod starts from the image's files: its input arrives as an artifact
    (example_pipeline.parent / "data" / "train.csv").unlink()
    train = subprocess.run(
        [
            *task, *common, "--step", "train",
            "--param", "n_estimators", "int", "7",
            "--input", "data/train.csv", str(artifacts / "prepare" / "train"),
            "--output", "models/model.pkl", str(artifacts / "train" / "model"),
        ],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert train.returncode == 0, train.stdout + train.stderr
    assert (artifacts / "train" / "model").stat().st_size > 0
    assert (example_pipeline.parent / "data" / "train.csv").read_text().splitlines() == train_rows

    # both pods' steps are children of one pipeline run (the KFP job id)
    pipeline_runs = [
        r for r in runs("wine-pipeline") if r.data.tags.get("mlops_nb.kind") == "pipeline"
    ]
    assert len(pipeline_runs) == 1
    steps = children("wine-pipeline", pipeline_runs[0].info.run_id)
    assert sorted(steps) == ["prepare", "train"]
    assert steps["train"].data.params["n_estimators"] == "7"
    assert pipeline_runs[0].info.status == "FINISHED"
