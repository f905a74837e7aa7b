"""`mlops-nb pipeline export --to kfp`: the IR mlops-nb writes equals what the real kfp SDK
compiles from the exported DSL module, kfp loads it back, and a step runs as its pod runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from integration.pipeline.helpers import PIPELINE_NOTEBOOKS, children, runs

from mlops_nb.cli import main
from mlops_nb.pipeline import export

pytestmark = pytest.mark.integration

# names that collide once KFP lower-cases them, parameters of every type (None: passed as JSON),
# a step with no parameters, and an order-only dependency
ODD = """
name: Odd Names
steps:
  - name: Load-Data
    notebook: a.ipynb
    parameters: {flag: true, ratio: 0.5, label: x, sizes: [1, 2], opts: {k: 3}, none: null}
    outputs: [out/A b.csv]
  - {name: load_data, notebook: a.ipynb, parameters: {class: 1, 2nd: 2}}
  - {name: report, notebook: a.ipynb, inputs: [out/A b.csv], needs: [load_data]}
"""

# in the kfp SDK's environment, one process: compile each exported DSL module (MODULE OUT ...) as
# `python MODULE OUT` does, then load each IR mlops-nb wrote (after --load) back with kfp
KFP_CHECK = """
import json, runpy, sys
from kfp import compiler, components
args = sys.argv[1:]
split = args.index("--load")
pairs, written = args[:split], args[split + 1:]
for module, out in zip(pairs[::2], pairs[1::2]):
    compiler.Compiler().compile(runpy.run_path(module)["pipeline"], out)
print(json.dumps([
    {"name": c.name, "inputs": sorted(c.component_spec.inputs or {})}
    for c in map(components.load_component_from_file, written)
]))
"""


def _sdk(orchestrators: Path, *args: str) -> str:
    command = [str(orchestrators / "bin" / "python"), "-c", KFP_CHECK, *args]
    proc = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def _without_sdk_version(ir: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in ir.items() if k != "sdkVersion"}


def test_kfp_export_is_the_ir_the_kfp_sdk_compiles(
    example_pipeline: Path, orchestrators: Path, tmp_path: Path
) -> None:
    """The export writes the IR itself (no kfp import); the kfp SDK, compiling the exported DSL
    module of the same pipeline, produces the same IR, and loads the written one back."""
    odd = tmp_path / "odd"
    odd.mkdir()
    shutil.copy(PIPELINE_NOTEBOOKS / "step.ipynb", odd / "a.ipynb")
    (odd / "pipeline.yaml").write_text(ODD)
    results = [
        export(example_pipeline, to="kfp", out=tmp_path / "kfp", image="registry.local/wine:1"),
        export(odd / "pipeline.yaml", to="kfp", out=tmp_path / "odd-kfp", retries=0,
               tracking_uri="http://tracking:5000"),
    ]  # fmt: skip
    compiled = [tmp_path / "sdk-wine.yaml", tmp_path / "sdk-odd.yaml"]
    modules = [
        str(path) for r, c in zip(results, compiled, strict=True) for path in (r.files[1], c)
    ]
    loaded = json.loads(
        _sdk(orchestrators, *modules, "--load", *(str(r.main_file) for r in results))
        .strip()
        .splitlines()[-1]
    )
    for result, target in zip(results, compiled, strict=True):
        ours = yaml.safe_load(result.main_file.read_text())
        assert ours["sdkVersion"].startswith("mlops-nb-")
        assert _without_sdk_version(ours) == _without_sdk_version(
            yaml.safe_load(target.read_text())
        ), result.main_file
    assert [p["name"] for p in loaded] == ["wine-pipeline", "odd-names"]
    assert loaded[0]["inputs"] == [
        "prepare__seed", "prepare__test_size", "train__max_depth", "train__n_estimators",
    ]  # fmt: skip

    ir = yaml.safe_load(results[0].main_file.read_text())
    assert results[0].main_file.name == "wine_pipeline.kfp.yaml"

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
    notes = " ".join(results[0].notes)
    assert "content-hash cache does not carry over" in notes
    assert "local file that pods cannot reach" in notes

    # the odd pipeline: unique names, every parameter type, None passed as fixed JSON
    odd_ir = yaml.safe_load(results[1].main_file.read_text())
    tasks = odd_ir["root"]["dag"]["tasks"]
    assert {k: t["taskInfo"]["name"] for k, t in tasks.items()} == {
        "step-load-data": "Load-Data", "step-load-data-2": "load_data", "step-report": "report",
    }  # fmt: skip
    assert tasks["step-report"]["dependentTasks"] == ["step-load-data", "step-load-data-2"]
    assert "retryPolicy" not in tasks["step-report"]
    types = {
        k: v["parameterType"] for k, v in odd_ir["root"]["inputDefinitions"]["parameters"].items()
    }
    assert types == {
        "load_data__flag": "BOOLEAN", "load_data__ratio": "NUMBER_DOUBLE",
        "load_data__label": "STRING", "load_data__sizes": "LIST", "load_data__opts": "STRUCT",
        "load_data__class": "NUMBER_INTEGER", "load_data__2nd": "NUMBER_INTEGER",
    }  # fmt: skip
    args = odd_ir["deploymentSpec"]["executors"]["exec-step-load-data"]["container"]["args"]
    assert args[args.index("none") - 1 : args.index("none") + 3] == [
        "--param", "none", "json", "null",
    ]  # fmt: skip
    assert args[args.index("--tracking-uri") + 1] == "http://tracking:5000"


def test_kfp_export_writes_the_default_image_and_says_what_is_lost(
    example_pipeline: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
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
