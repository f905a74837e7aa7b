"""Pipelines benchmark: cached rerun, per-step overhead vs papermill, Dask sweep vs serial.

Run it on its own (not part of the test suite)::

    .venv/bin/python benchmarks/bench_pipeline.py [--quick] [--json results.json]

Every figure is a median of several runs made here, in the same session as its peer:

1. a fully cached rerun of the 3-step example pipeline (``mlops-nb pipeline run`` end to end, CLI
   start included; the detached recording of the cached runs is timed separately);
2. the time of one pipeline step against a bare ``papermill`` CLI call of the same notebook
   (and, stricter, against papermill's Python API in a warm process), plus ``mlops-nb run``
   end to end against the papermill CLI;
3. an 8-run sweep of a CPU-bound notebook on a Dask LocalCluster with 2 workers against the same
   sweep run serially (``--executor local -j 1``);
4. ``--only export``: ``mlops-nb pipeline export`` to Airflow and to KFP (CLI start included;
   mlops-nb writes the KFP IR itself), beside the kfp SDK compiling the same pipeline (the
   exported DSL module, in ``.venv-orchestrators``); and the exported DAG run by Airflow 3
   (``airflow dags test``, sqlite): each task's duration (Airflow's start/end) against
   ``mlops-nb pipeline run --only STEP`` from a shell, executing and cached (the difference is
   the task's own overhead), and a ``true`` BashOperator task as Airflow's own floor.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
MLOPS_NB = str(BIN / "mlops-nb")
PAPERMILL = str(BIN / "papermill")


def _notebook(path: Path, params: str, body: str) -> Path:
    nb = new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cell = new_code_cell(params)
    cell.metadata["tags"] = ["parameters"]
    nb.cells = [cell, new_code_cell(body)]
    nbformat.write(nb, path)
    return path


def _busy(seconds: float) -> str:
    """Notebook code that keeps one core busy for ``seconds`` of CPU time."""
    return (
        "import time\n"
        "t0 = time.process_time()\n"
        f"while time.process_time() - t0 < {seconds}:\n"
        "    pass"
    )


def _timed(cmd: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True)
    took = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{proc.stdout}\n{proc.stderr}")
    return took


def _wait_outbox(home: Path, timeout: float = 60.0) -> float:
    """Seconds until the detached worker has delivered every queued record."""
    t0 = time.perf_counter()
    folder = home / "outbox"
    while time.perf_counter() - t0 < timeout:
        if not folder.is_dir() or not any(p.name[0].isdigit() for p in folder.iterdir()):
            return time.perf_counter() - t0
        time.sleep(0.05)
    raise TimeoutError("cached runs were not recorded within 60 s")


def _median(values: list[float]) -> float:
    return statistics.median(values)


def bench_cached(work: Path, env: dict[str, str], repeats: int) -> dict[str, float]:
    example = work / "example"
    shutil.copytree(
        REPO / "notebooks" / "pipeline",
        example,
        ignore=shutil.ignore_patterns("out", "data", "models", "reports", ".mlops-nb", "*.db"),
    )
    _timed([MLOPS_NB, "pipeline", "run"], env, example)  # executes the 3 steps once
    home = Path(env["MLOPS_NB_HOME"])
    _wait_outbox(home)
    walls, deliveries = [], []
    for _ in range(repeats):
        walls.append(_timed([MLOPS_NB, "pipeline", "run"], env, example))
        deliveries.append(_wait_outbox(home))
        time.sleep(0.5)  # let the detached recorder exit before the next timing
    version = [_timed([MLOPS_NB, "--version"], env, example) for _ in range(repeats)]
    return {
        "cached_rerun_s": _median(walls),
        "cached_rerun_max_s": max(walls),
        "cli_version_s": _median(version),
        "recorded_after_s": _median(deliveries),
    }


def bench_step(work: Path, env: dict[str, str], repeats: int, seconds: float) -> dict[str, float]:
    folder = work / "step"
    folder.mkdir()
    body = _busy(seconds)
    _notebook(folder / "nb.ipynb", "x = 1", body)
    (folder / "pipeline.yaml").write_text(
        "name: bench\nsteps:\n"
        + "".join(
            f"  - {{name: s{i}, notebook: nb.ipynb, parameters: {{x: {i}}}}}\n" for i in range(3)
        )
    )
    bare = []
    for i in range(repeats):
        bare.append(
            _timed(
                [PAPERMILL, "nb.ipynb", f"out-{i}.ipynb", "-p", "x", "2", "--no-progress-bar"],
                env,
                folder,
            )
        )
    run_cli = [
        _timed(
            [MLOPS_NB, "run", "nb.ipynb", "-p", "x", "2", "--experiment", "bench-run"], env, folder
        )
        for _ in range(repeats)
    ]
    # steps inside a pipeline, measured in a process that already ran one (a warm pool)
    code = f"""
import json, os, sys, time
os.chdir({str(folder)!r})
import papermill
from mlops_nb.pipeline.api import run_pipeline
steps, api = [], []
for i in range({repeats + 1}):
    events = {{}}
    def record(e):
        if e.duration is not None:
            events[e.step] = e.duration
    r = run_pipeline("pipeline.yaml", force=True, jobs=1, progress=record)
    assert r.ok, r.failed_steps
    if i:
        steps.extend(events.values())
for i in range({repeats}):
    t0 = time.perf_counter()
    papermill.execute_notebook("nb.ipynb", "api.ipynb", parameters={{"x": 2}}, progress_bar=False)
    api.append(time.perf_counter() - t0)
print(json.dumps({{"steps": steps, "api": api}}))
"""
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr)
    inner = json.loads(proc.stdout.strip().splitlines()[-1])
    step, api, cli = _median(inner["steps"]), _median(inner["api"]), _median(bare)
    return {
        "notebook_cpu_s": seconds,
        "papermill_cli_s": cli,
        "papermill_api_warm_s": api,
        "pipeline_step_s": step,
        "step_overhead_vs_papermill_cli_pct": 100 * (step - cli) / cli,
        "step_overhead_vs_papermill_api_pct": 100 * (step - api) / api,
        "mlops_nb_run_cli_s": _median(run_cli),
        "run_cli_overhead_vs_papermill_cli_pct": 100 * (_median(run_cli) - cli) / cli,
    }


def bench_sweep(work: Path, env: dict[str, str], repeats: int, seconds: float) -> dict[str, float]:
    folder = work / "sweep"
    folder.mkdir()
    body = _busy(seconds)
    _notebook(folder / "cpu.ipynb", "a = 1\nb = 1", body)
    grid = ["-p", "a", "1,2,3,4", "-p", "b", "1,2"]
    serial, dask = [], []
    for _ in range(repeats):
        serial.append(_timed([MLOPS_NB, "sweep", "cpu.ipynb", *grid, "-j", "1"], env, folder))
        dask.append(
            _timed(
                [MLOPS_NB, "sweep", "cpu.ipynb", *grid, "--executor", "dask", "-j", "2"],
                env,
                folder,
            )
        )
    return {
        "trial_cpu_s": seconds,
        "serial_s": _median(serial),
        "dask_2_workers_s": _median(dask),
        "speedup": _median(serial) / _median(dask),
    }


ORCH = REPO / ".venv-orchestrators"
FLOOR_DAG = """
import datetime
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import DAG
with DAG(dag_id="floor", schedule=None,
         start_date=datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)) as dag:
    BashOperator(task_id="a", bash_command="true") >> BashOperator(task_id="b", bash_command="true")
"""


def _task_durations(db: Path, dag_id: str) -> list[dict[str, float]]:
    """Per DAG run (oldest first): task -> seconds between Airflow's start and end."""
    import sqlite3
    from datetime import datetime

    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT run_id, task_id, start_date, end_date FROM task_instance WHERE dag_id = ? "
        "ORDER BY start_date",
        (dag_id,),
    ).fetchall()
    con.close()
    out: dict[str, dict[str, float]] = {}
    for run_id, task, start, end in rows:
        took = datetime.fromisoformat(str(end)) - datetime.fromisoformat(str(start))
        out.setdefault(run_id, {})[task] = took.total_seconds()
    return list(out.values())


def bench_export(work: Path, env: dict[str, str], repeats: int) -> dict[str, float]:
    example = work / "export-example"
    shutil.copytree(
        REPO / "notebooks" / "pipeline",
        example,
        ignore=shutil.ignore_patterns("out", "data", "models", "reports", ".mlops-nb", "*.db"),
    )
    dags = work / "dags"
    export = [MLOPS_NB, "pipeline", "export", "--to", "airflow", "--out", str(dags)]
    results = {"export_airflow_s": _median([_timed(export, env, example) for _ in range(repeats)])}
    kfp = [MLOPS_NB, "pipeline", "export", "--to", "kfp", "--out", str(work / "kfp")]
    results["export_kfp_s"] = _median([_timed(kfp, env, example) for _ in range(repeats)])
    if not (ORCH / "bin" / "airflow").exists():
        print(f"{ORCH} missing (make orchestrators): Airflow and kfp SDK figures skipped")
        return results
    # the peer: the kfp SDK compiling the same pipeline (the exported DSL module) to its IR
    module = str(next((work / "kfp").glob("*_kfp.py")))
    sdk = [str(ORCH / "bin" / "python"), module, str(work / "sdk.yaml")]
    results["kfp_sdk_compile_s"] = _median([_timed(sdk, env, example) for _ in range(repeats)])
    (dags / "floor.py").write_text(FLOOR_DAG)
    home = work / "airflow"
    af_env = {k: v for k, v in env.items() if not k.startswith("AIRFLOW")}
    af_env.update(
        AIRFLOW_HOME=str(home),
        AIRFLOW__CORE__DAGS_FOLDER=str(dags),
        AIRFLOW__CORE__LOAD_EXAMPLES="False",
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"sqlite:///{home / 'airflow.db'}",
        PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}",
    )
    airflow = str(ORCH / "bin" / "airflow")
    _timed([airflow, "db", "migrate"], af_env, work)
    dag = "mlops_nb__wine-pipeline"
    _timed([airflow, "dags", "test", dag], af_env, work)  # executes the 3 steps
    for _ in range(repeats):
        _timed([airflow, "dags", "test", dag], af_env, work)  # every step cached
        _timed([airflow, "dags", "test", "floor"], af_env, work)
    runs = _task_durations(home / "airflow.db", dag)
    floor = _task_durations(home / "airflow.db", "floor")
    steps = list(runs[0])
    for step in steps:
        results[f"airflow_{step}_executing_s"] = runs[0][step]
        results[f"airflow_{step}_cached_s"] = _median([r[step] for r in runs[1:]])
        # the same step from a shell, as the task runs it (cached, then executing)
        only = [MLOPS_NB, "pipeline", "run", "--only", step]
        results[f"shell_{step}_cached_s"] = _median(
            [_timed(only, env, example) for _ in range(repeats)]
        )
        forced = [_timed([*only, "--force"], env, example) for _ in range(max(1, repeats - 2))]
        results[f"shell_{step}_executing_s"] = _median(forced)
        results[f"airflow_{step}_overhead_s"] = (
            results[f"airflow_{step}_executing_s"] - results[f"shell_{step}_executing_s"]
        )
        results[f"airflow_{step}_cached_overhead_s"] = (
            results[f"airflow_{step}_cached_s"] - results[f"shell_{step}_cached_s"]
        )
    # the first task of a `dags test` also pays for Airflow's in-process warm-up
    results["airflow_floor_task_s"] = _median([r["b"] for r in floor])
    results["airflow_floor_first_task_s"] = _median([r["a"] for r in floor])
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter notebooks")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", choices=("cached", "step", "sweep", "export"))
    parser.add_argument(
        "--trial-seconds",
        type=float,
        help="CPU seconds of each sweep trial (default 6, or 4 with --quick)",
    )
    parser.add_argument("--repeats", type=int, help="repeats of each figure (default 5, 3 quick)")
    args = parser.parse_args()
    repeats = args.repeats or (3 if args.quick else 5)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    env = dict(os.environ)
    env.update(
        MLFLOW_TRACKING_URI=f"sqlite:///{work / 'mlflow.db'}",
        MLOPS_NB_HOME=str(work / "home"),
        PYTHONWARNINGS="ignore",
    )
    env.pop("MLOPS_NB_EXPERIMENT", None)
    env.pop("DASK_SCHEDULER_ADDRESS", None)
    # byte-compile mlops_nb as `pip install` does for a regular install (an editable install
    # under PYTHONDONTWRITEBYTECODE=1 would recompile it on every CLI start)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(REPO / "mlops_nb")], check=True)
    # create the store once: schema creation (~1.3 s) is not what is measured
    _timed(
        [
            sys.executable,
            "-c",
            "from mlflow.tracking import MlflowClient; MlflowClient().search_experiments()",
        ],
        env,
        work,
    )
    results: dict[str, dict[str, float]] = {}
    try:
        if args.only in (None, "cached"):
            results["cached_rerun"] = bench_cached(work, env, repeats + 2)
            print(json.dumps(results["cached_rerun"], indent=2), flush=True)
        if args.only in (None, "step"):
            results["per_step"] = bench_step(work, env, repeats, 1.0 if args.quick else 2.0)
            print(json.dumps(results["per_step"], indent=2), flush=True)
        if args.only in (None, "sweep"):
            results["sweep"] = bench_sweep(
                work,
                env,
                max(1, repeats - 2),
                args.trial_seconds or (4.0 if args.quick else 6.0),
            )
            print(json.dumps(results["sweep"], indent=2), flush=True)
        if args.only in (None, "export"):
            results["export"] = bench_export(work, env, repeats)
            print(json.dumps(results["export"], indent=2), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    results["machine"] = {"cpus": float(os.cpu_count() or 0), "loadavg_1m": load[0]}
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
