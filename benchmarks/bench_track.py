"""Tracking overhead, side by side with MLflow (issue #2's targets). Not part of the test suite.

    .venv/bin/python benchmarks/bench_track.py [--repeats 40] [--fits 3]

1. ``%load_ext mlops_nb`` in a fresh process vs ``import mlflow`` in a fresh process.
2. Added wall time of a ``%%track`` cell assigning 10 params + 5 metrics (p50 over repeats)
   vs a synchronous MLflow run with the same content on a sqlite store.
3. Added wall time of tracking a RandomForestClassifier(100) fit on 10k x 20, model logged,
   vs ``mlflow.sklearn.autolog()`` on the same fit (medians).
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=40)
    parser.add_argument("--fits", type=int, default=3)
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
