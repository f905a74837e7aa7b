"""``%%track`` through a real kernel (nbclient), against sqlite and a real ``mlflow server``."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
from support import NOTEBOOKS, TEST_NOTEBOOKS, KernelSession, all_runs

pytestmark = pytest.mark.integration


def execute(path: Path, env: dict[str, str] | None = None, timeout: int = 600) -> Any:
    """Execute a notebook in a real kernel, as `mlops-nb run` would (it names the notebook)."""
    nb = nbformat.read(path, as_version=4)
    os.environ["MLOPS_NB_NOTEBOOK_PATH"] = str(path)
    os.environ.update(env or {})
    try:
        NotebookClient(
            nb,
            timeout=timeout,
            kernel_name="python3",
            resources={"metadata": {"path": str(path.parent)}},
        ).execute()
    finally:
        os.environ.pop("MLOPS_NB_NOTEBOOK_PATH", None)
    return nb


def mlops_nb_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_nb.cli", *args], capture_output=True, text=True, timeout=300
    )


def client_for(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(uri)


def test_quickstart_notebook_records_complete_runs(isolated: Path) -> None:
    work = isolated / "project"
    work.mkdir()
    notebook = work / "01_quickstart.ipynb"
    shutil.copy(NOTEBOOKS / "01_quickstart.ipynb", notebook)
    subprocess.run(["git", "init", "-q"], cwd=work, check=True)
    subprocess.run(["git", "add", "."], cwd=work, check=True)
    subprocess.run(
        ["git", "-c", "user.email=t@e", "-c", "user.name=t", "commit", "-qm", "nb"],
        cwd=work,
        check=True,
    )
    (work / "notes.txt").write_text("untracked")
    # dirty the tracked notebook, so the run carries a diff
    nb = nbformat.read(notebook, as_version=4)
    nb.cells.append(
        nbformat.v4.new_code_cell(
            "import numpy as np\nnp.save('forest_proba.npy', forest.predict_proba(X_test))\n"
            "X_test.to_pickle('x_test.pkl')"
        )
    )
    nbformat.write(nb, notebook)
    executed = execute(notebook)
    report = mlops_nb_cli("sync")
    assert report.returncode == 0, report.stdout + report.stderr

    client = client_for(os.environ["MLFLOW_TRACKING_URI"])
    runs = {r.info.run_name: r for r in all_runs(client)}
    assert set(runs) == {"baseline", "RandomForestClassifier"}
    for run in runs.values():
        assert run.info.status == "FINISHED"
        assert client.get_experiment(run.info.experiment_id).name == "01_quickstart"
        tags = run.data.tags
        assert tags["mlops_nb.notebook"] == str(notebook)
        assert tags["mlops_nb.cell_id"] in {c.get("id") for c in nb.cells}
        assert len(tags["mlflow.source.git.commit"]) == 40
        assert tags["mlops_nb.git.dirty"] == "true"
        assert {"accuracy", "f1", "roc_auc"} <= set(run.data.metrics)
        names = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"cell.py", "notebook", "environment", "git"} <= names
        # papermill parameters of the notebook's `parameters` cell
        assert run.data.params["test_size"] == "0.25"
        assert run.data.params["random_state"] == "42"

    forest = runs["RandomForestClassifier"]
    assert forest.data.params["n_estimators"] == "100"
    assert forest.data.params["max_depth"] == "6"
    figures = [a.path for a in client.list_artifacts(forest.info.run_id, "figures")]
    assert figures and figures[0].endswith(".png")
    assert {d.dataset.name for d in forest.inputs.dataset_inputs} == {"X_train", "y_train"}

    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    [model] = client.search_logged_models(
        experiment_ids=[forest.info.experiment_id], filter_string="name = 'forest'"
    )
    loaded = mlflow.sklearn.load_model(model.model_uri)
    import pandas as pd

    x_test = pd.read_pickle(work / "x_test.pkl")
    np.testing.assert_allclose(loaded.predict_proba(x_test), np.load(work / "forest_proba.npy"))
    assert mlflow.models.get_model_info(model.model_uri).signature is not None

    baseline_card = next(
        o for o in executed.cells[8]["outputs"] if o["output_type"] == "display_data"
    )
    assert "application/vnd.jupyter.widget-view+json" in baseline_card["data"]
    assert "baseline" in baseline_card["data"]["text/html"]


def test_failing_cell_fails_the_notebook_and_records_failed_run(isolated: Path) -> None:
    notebook = isolated / "failing.ipynb"
    shutil.copy(TEST_NOTEBOOKS / "tracking" / "failing.ipynb", notebook)
    with pytest.raises(CellExecutionError) as info:
        execute(notebook)
    assert info.value.ename == "ValueError"
    assert info.value.evalue == "threshold 0.5 is not allowed"
    assert mlops_nb_cli("sync").returncode == 0
    client = client_for(os.environ["MLFLOW_TRACKING_URI"])
    [run] = all_runs(client)
    assert run.info.status == "FAILED" and run.info.run_name == "will-fail"
    tb = Path(client.download_artifacts(run.info.run_id, "traceback.txt")).read_text()
    assert "ValueError: threshold 0.5 is not allowed" in tb


def test_server_outage_queues_and_sync_delivers_exactly_once(
    isolated: Path, mlflow_server: Any
) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.uri, "MLOPS_NB_EXPERIMENT": "outage"}
    kernel = KernelSession(isolated, env)
    try:
        kernel.run("%load_ext mlops_nb")
        kernel.run("%%track --name before\nstep = 1\nscore = 0.1")
        out, _ = kernel.run("%mlops flush 60")
        assert "all runs delivered" in out

        mlflow_server.stop()
        timings = []
        outputs = []
        for step in (2, 3, 4):
            out, seconds = kernel.run(
                f"%%track --name during-{step}\nstep = {step}\nscore = {step / 10}"
            )
            timings.append(seconds)
            outputs.append(out)
        # cells keep running at full speed; the user is told, once, that runs are queued
        joined = "".join(outputs) + kernel.run("x = 1")[0]
        assert joined.count("unreachable") == 1, joined
        assert max(timings) < 5, timings
        # the kernel dies before anything could be delivered: the outbox still has the runs
        kernel.kill()
    finally:
        kernel.shutdown() if kernel.km.is_alive() else None

    queued = mlops_nb_cli("outbox")
    assert "3 queued" in queued.stdout, queued.stdout
    mlflow_server.start()
    first = mlops_nb_cli("sync")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "3 delivered" in first.stdout
    again = mlops_nb_cli("sync")
    assert "0 delivered, 0 queued, 0 failed" in again.stdout

    runs = all_runs(client_for(mlflow_server.uri))
    names = sorted(r.info.run_name for r in runs)
    assert names == ["before", "during-2", "during-3", "during-4"]
    assert {r.data.params["step"] for r in runs} == {"1", "2", "3", "4"}
    assert all(r.info.status == "FINISHED" for r in runs)


def test_writer_delivers_by_itself_when_the_server_is_back(
    isolated: Path, mlflow_server: Any
) -> None:
    env = {**os.environ, "MLFLOW_TRACKING_URI": mlflow_server.uri, "MLOPS_NB_EXPERIMENT": "self"}
    kernel = KernelSession(isolated, env)
    try:
        kernel.run("%load_ext mlops_nb")
        kernel.run("x = 0")
        mlflow_server.stop()
        kernel.run("%%track --name queued-run\nalpha = 0.3\nloss = 1.5")
        mlflow_server.start()
        out, _ = kernel.run("%mlops flush 90")
        assert "all runs delivered" in out, out
    finally:
        kernel.shutdown()
    [run] = all_runs(client_for(mlflow_server.uri))
    assert run.info.run_name == "queued-run" and run.data.metrics == {"loss": 1.5}
