"""Tracking overhead, side by side with MLflow (issue #2's targets). Not part of the test suite.

    .venv/bin/python benchmarks/bench_track.py [--repeats 40] [--fits 3]

1. ``%load_ext mlops_nb`` in a fresh process vs ``import mlflow`` in a fresh process.
2. Added wall time of a ``%%track`` cell assigning 10 params + 5 metrics (p50 over repeats)
   vs a synchronous MLflow run with the same content on a sqlite store.
3. Added wall time of tracking a RandomForestClassifier(100) fit on 10k x 20, model logged,
   vs ``mlflow.sklearn.autolog()`` on the same fit (medians).
4. Time from the end of a tracked cell to its run being complete (FINISHED) in MLflow: on a
   brand-new sqlite store right after ``%mlops config`` (worker starting, store created) and on
   a warm one (medians over ``--visible`` tries); targets 3 s and 1 s.
5. ``mlops-nb sync`` delivering 100 queued tracked-cell runs to an existing sqlite store
   (target 15 s), vs the same 100 runs logged synchronously with MLflow's fluent API.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CELL = "\n".join(
    [f"param_{i} = {i}" for i in range(10)] + [f"score_{i} = 0.{i + 1}" for i in range(5)]
)


def fresh(code: str, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        times.append(float(out.stdout.strip().splitlines()[-1]))
    return statistics.median(times)


def load_ext_time() -> tuple[float, float]:
    ours = fresh(
        "from IPython.testing.globalipapp import start_ipython; ip = start_ipython()\n"
        "import time; t = time.perf_counter(); ip.run_line_magic('load_ext', 'mlops_nb')\n"
        "print(time.perf_counter() - t)"
    )
    peer = fresh(
        "import time; t = time.perf_counter(); import mlflow; print(time.perf_counter() - t)"
    )
    return ours, peer


def shell():
    from IPython.testing.globalipapp import start_ipython

    ip = start_ipython()
    ip.run_line_magic("load_ext", "mlops_nb")
    ip.run_cell("%%track --no-env\nwarm_up = 1")
    from mlops_nb.tracking.session import get_session

    get_session().flush(120)  # the worker has imported MLflow and created the store
    return ip


def timed(ip, cell: str) -> float:
    t = time.perf_counter()
    result = ip.run_cell(cell)
    elapsed = time.perf_counter() - t
    assert result.success, result.error_in_exec
    return elapsed


def cell_overhead(ip, repeats: int) -> tuple[float, float]:
    from mlops_nb.tracking.session import get_session

    plain, tracked = [], []
    for _ in range(repeats):
        plain.append(timed(ip, CELL))
        tracked.append(timed(ip, "%%track --no-env\n" + CELL))
    get_session().flush(300)
    return statistics.median(plain), statistics.median(tracked)


def mlflow_sync_run(repeats: int, uri: str) -> float:
    import mlflow

    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment("bench-sync")
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        with mlflow.start_run():
            mlflow.log_params({f"param_{i}": i for i in range(10)})
            mlflow.log_metrics({f"score_{i}": float(f"0.{i + 1}") for i in range(5)})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


FIT = "clf = RandomForestClassifier(n_estimators=100, random_state=0, n_jobs=1)\nclf.fit(X, y)"


def fit_overhead(ip, fits: int) -> tuple[float, float, float]:
    from mlops_nb.tracking.session import get_session

    ip.run_cell(
        "from sklearn.datasets import make_classification\n"
        "from sklearn.ensemble import RandomForestClassifier\n"
        "X, y = make_classification(n_samples=10_000, n_features=20, random_state=0)"
    )
    plain, tracked, autolog = [], [], []
    for _ in range(fits):
        plain.append(timed(ip, FIT))
        tracked.append(timed(ip, "%%track --no-env\n" + FIT))
        get_session().flush(300)  # the writer's work is not the cell's; keep runs apart
    ip.run_cell("import mlflow\nmlflow.set_experiment('bench-autolog')\nmlflow.sklearn.autolog()")
    for _ in range(fits):
        autolog.append(timed(ip, FIT))
    ip.run_cell("mlflow.sklearn.autolog(disable=True)")
    return statistics.median(plain), statistics.median(tracked), statistics.median(autolog)


def wait_visible(uri: str, name: str, timeout: float = 120.0) -> float:
    """Seconds until run ``name`` is FINISHED in the store (polled every 10 ms)."""
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        experiments = [e.experiment_id for e in client.search_experiments()]
        runs = (
            client.search_runs(experiments, f"attributes.run_name = '{name}'")
            if experiments
            else []
        )
        if runs and runs[0].info.status == "FINISHED":
            return time.perf_counter() - started
        time.sleep(0.01)
    raise TimeoutError(name)


def visibility(ip, work: Path, tries: int) -> tuple[float, float]:
    fresh, warm = [], []
    for i in range(tries):
        uri = f"sqlite:///{work / f'visible-{i}.db'}"
        ip.run_line_magic("mlops", f"config --tracking-uri {uri}")
        timed(ip, f"%%track --no-env --name fresh-{i}\n" + CELL)
        fresh.append(wait_visible(uri, f"fresh-{i}"))
        timed(ip, f"%%track --no-env --name warm-{i}\n" + CELL)
        warm.append(wait_visible(uri, f"warm-{i}"))
    return statistics.median(fresh), statistics.median(warm)


def sync_hundred(ip, work: Path) -> tuple[float, float]:
    """100 tracked cells queued while no worker runs, then ``mlops-nb sync`` (a subprocess)."""
    from mlops_nb.tracking import client as worker_client

    uri = f"sqlite:///{work / 'sync.db'}"
    spool = work / "sync-spool"
    ip.run_line_magic("mlops", f"config --tracking-uri {uri} --spool-dir {spool}")
    timed(ip, "%%track --no-env --name warm-store\n" + CELL)
    wait_visible(uri, "warm-store")
    original = worker_client.WorkerClient.wake
    worker_client.WorkerClient.wake = lambda self: None  # bench set-up: keep the runs queued
    try:
        from mlops_nb.tracking.session import get_session

        get_session().client.stop()
        for i in range(100):
            timed(ip, f"%%track --no-env --name queued-{i}\n" + CELL)
    finally:
        worker_client.WorkerClient.wake = original
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLOPS_NB_SPOOL_DIR": str(spool)}
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "mlops_nb.cli", "sync"], env=env, check=True, capture_output=True
    )
    ours = time.perf_counter() - t
    peer = fresh(
        "import time; t = time.perf_counter(); import mlflow\n"
        f"mlflow.set_tracking_uri({uri!r}); mlflow.set_experiment('bench-peer')\n"
        "for i in range(100):\n"
        "    with mlflow.start_run():\n"
        f"        mlflow.log_params({{f'param_{{j}}': j for j in range(10)}})\n"
        f"        mlflow.log_metrics({{f'score_{{j}}': 0.1 * j for j in range(5)}})\n"
        "print(time.perf_counter() - t)",
        repeats=1,
    )
    return ours, peer


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--fits", type=int, default=3)
    parser.add_argument("--visible", type=int, default=3, help="tries of the visibility timing")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-track-"))
    os.chdir(work)
    os.environ["MLOPS_NB_HOME"] = str(work / "home")
    uri = f"sqlite:///{work / 'mlflow.db'}"
    os.environ["MLFLOW_TRACKING_URI"] = uri

    ours, peer = load_ext_time()
    print(
        f"%load_ext mlops_nb: {ours * 1000:.1f} ms   import mlflow: {peer * 1000:.0f} ms   "
        f"ratio {ours / peer:.3f} (target <= 100 ms)"
    )

    ip = shell()
    plain, tracked = cell_overhead(ip, args.repeats)
    sync = mlflow_sync_run(args.repeats, uri)
    added = tracked - plain
    print(
        f"10 params + 5 metrics: plain {plain * 1000:.2f} ms, tracked {tracked * 1000:.2f} ms, "
        f"added p50 {added * 1000:.2f} ms   synchronous MLflow run {sync * 1000:.2f} ms   "
        f"ratio {added / sync:.2f} (target <= 5 ms)"
    )

    fresh_s, warm_s = visibility(ip, work, args.visible)
    print(
        f"last tracked cell visible in MLflow: fresh sqlite store {fresh_s:.2f} s (target <= 3 s), "
        f"warm {warm_s:.2f} s (target <= 1 s)"
    )
    sync_s, peer_s = sync_hundred(ip, work)
    print(
        f"mlops-nb sync of 100 queued runs: {sync_s:.1f} s (target <= 15 s)   "
        f"100 synchronous MLflow runs, fresh process: {peer_s:.1f} s"
    )
    ip.run_line_magic(
        "mlops", f"config --tracking-uri {uri} --spool-dir {work / 'home' / 'outbox'}"
    )

    fit, fit_tracked, fit_autolog = fit_overhead(ip, args.fits)
    ours_pct = (fit_tracked - fit) / fit * 100
    auto_pct = (fit_autolog - fit) / fit * 100
    print(
        f"RF(100) 10k x 20: fit {fit:.2f} s, tracked +{ours_pct:.1f}% "
        f"({(fit_tracked - fit) * 1000:.0f} ms), mlflow.sklearn.autolog +{auto_pct:.0f}% "
        f"({(fit_autolog - fit) * 1000:.0f} ms) (target <= 5%)"
    )


if __name__ == "__main__":
    main()
