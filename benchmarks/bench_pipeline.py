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
   sweep run serially (``--executor local -j 1``).
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, shorter notebooks")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--only", choices=("cached", "step", "sweep"))
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
