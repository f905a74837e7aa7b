"""`mlops-nb pipeline export --to airflow` run by a real Airflow 3 (its own virtualenv, sqlite,
``airflow dags test``): the DAG imports cleanly, its tasks run the steps as
``mlops-nb pipeline run --only STEP`` does, and a second DAG run skips the cached steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from integration.pipeline.helpers import children, runs

from mlops_nb.config import get_settings
from mlops_nb.pipeline import export
from mlops_nb.tracking.outbox import Outbox

pytestmark = pytest.mark.integration

DAG_ID = "mlops_nb__wine-pipeline"


def _airflow_env(home: Path, dags: Path, venv: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW")}
    env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:1/execution/",  # never dialled
        # the tasks find `mlops-nb` where a worker would: on PATH (here, the test's virtualenv)
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        NO_PROXY="*",
    )
    return env


def _airflow(venv: Path, env: dict[str, str], *args: str, timeout: float = 300) -> str:
    proc = subprocess.run(
        [str(venv / "bin" / "airflow"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    return proc.stdout + proc.stderr


def _dagbag(venv: Path, env: dict[str, str], dags: Path) -> dict[str, object]:
    code = (
        "import json, sys, time\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "t0 = time.perf_counter()\n"
        "bag = DagBag(dag_folder=sys.argv[1])\n"
        "took = time.perf_counter() - t0\n"
        "dag = bag.dags.get(sys.argv[2])\n"
        "print(json.dumps({'errors': {k: str(v) for k, v in bag.import_errors.items()},\n"
        "  'dags': sorted(bag.dag_ids), 'seconds': took,\n"
        "  'tasks': {t.task_id: sorted(t.upstream_task_ids) for t in dag.tasks} if dag else {},\n"
        "  'schedule': str(dag.schedule) if dag else None,\n"
        "  'retries': [t.retries for t in dag.tasks] if dag else [],\n"
        "  'mlops_nb_imported': 'mlops_nb' in sys.modules}))\n"
    )
    proc = subprocess.run(
        [str(venv / "bin" / "python"), "-c", code, str(dags), DAG_ID],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _delivered() -> None:
    """The runs a cached task queued in the tracking outbox, delivered (by the detached worker)."""
    outbox = Outbox(get_settings().spool_dir)
    deadline = time.monotonic() + 90
    while outbox.pending() and time.monotonic() < deadline:
        time.sleep(0.3)
    assert outbox.pending() == [], "the queued runs were not delivered"


def test_exported_dag_runs_in_airflow_and_a_second_run_is_cached(
    example_pipeline: Path, orchestrators: Path, tmp_path: Path
) -> None:
    root = example_pipeline.parent
    dags = tmp_path / "dags"
    result = export(example_pipeline, to="airflow", out=dags, schedule="0 3 * * *", retries=2)
    assert result.main_file == dags / f"{DAG_ID}.py"
    env = _airflow_env(tmp_path / "airflow-home", dags, orchestrators)

    # DagBag: no import errors, the DAG's shape, schedule and retries; parsing imports only Airflow
    bag = _dagbag(orchestrators, env, dags)
    assert bag["errors"] == {}
    assert bag["dags"] == [DAG_ID]
    assert bag["tasks"] == {"prepare": [], "train": ["prepare"], "evaluate": ["prepare", "train"]}
    assert bag["schedule"] == "0 3 * * *"
    assert bag["retries"] == [2, 2, 2]
    assert bag["mlops_nb_imported"] is False

    _airflow(orchestrators, env, "db", "migrate")
    out = _airflow(orchestrators, env, "dags", "test", DAG_ID)
    assert "state=success" in out, out[-3000:]

    # the notebooks ran: outputs written, executed notebooks kept
    for rel in ("data/train.csv", "data/test.csv", "models/model.pkl", "reports/metrics.json"):
        assert (root / rel).is_file(), rel
    for step in ("prepare", "train", "evaluate"):
        executed = json.loads((root / "out" / f"{step}.ipynb").read_text())
        assert executed["metadata"]["papermill"]["parameters"] is not None
    accuracy = json.loads((root / "reports" / "metrics.json").read_text())
    assert set(accuracy) & {"accuracy", "f1_macro"}
    produced = {s: (root / "out" / f"{s}.ipynb").stat().st_mtime_ns for s in ("prepare", "train")}

    # MLflow: one pipeline run for the DAG run, a FINISHED child run per step with its notebook
    pipeline_runs = [
        r for r in runs("wine-pipeline") if r.data.tags.get("mlops_nb.kind") == "pipeline"
    ]
    assert len(pipeline_runs) == 1
    first = pipeline_runs[0]
    assert first.info.status == "FINISHED"
    assert first.data.tags["mlops_nb.orchestrator_run"].startswith(f"{DAG_ID}:manual__")
    steps = children("wine-pipeline", first.info.run_id)
    assert sorted(steps) == ["evaluate", "prepare", "train"]
    assert {r.info.status for r in steps.values()} == {"FINISHED"}
    assert steps["train"].data.params["n_estimators"] == "100"

    # a second DAG run: every step cached (no notebook executed), recorded under a new run
    out = _airflow(orchestrators, env, "dags", "test", DAG_ID)
    assert "state=success" in out
    assert out.count("unchanged, outputs present") == 3
    assert {s: (root / "out" / f"{s}.ipynb").stat().st_mtime_ns for s in produced} == produced
    _delivered()
    pipeline_runs = [
        r for r in runs("wine-pipeline") if r.data.tags.get("mlops_nb.kind") == "pipeline"
    ]
    assert len(pipeline_runs) == 2
    second = next(r for r in pipeline_runs if r.info.run_id != first.info.run_id)
    cached = children("wine-pipeline", second.info.run_id)
    assert sorted(cached) == ["evaluate", "prepare", "train"]
    assert {n: r.data.tags.get("mlops_nb.cached_from") for n, r in cached.items()} == {
        n: r.info.run_id for n, r in steps.items()
    }
