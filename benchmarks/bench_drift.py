"""Drift benchmark: mlops-nb's drift check against Evidently's own ``Report.run`` on the same data.

Run: ``.venv/bin/python benchmarks/bench_drift.py [--repeat 3] [--quick]``. Prints a table and
writes ``benchmarks/results/drift.json``. Figures are medians of ``--repeat`` runs in this
process; the ratio compares with Evidently measured in the same run, on the same frames.

What is measured
----------------
- import: ``import mlops_nb`` and ``import evidently`` in fresh processes (and whether the former
  pulls in Evidently or MLflow);
- 100k rows x 20 numerical + 2 categorical columns, current shifted on 5 columns:
  Evidently ``Report([DataDriftPreset()]).run(cur, ref)``; ``mlops_nb.drift(ref, cur)`` with an
  empty reference cache (cold) and again on the same reference (warm: the service's case), and
  the full report on demand (``to_html``);
- 1M rows (sampled to 100k per side by default);
- the widget's first display payload and the size of the full HTML report;
- with ``--recording``: the generated service's input recording (``InputStore.record``, the only
  monitoring work on the request path) per ``/predict`` call, and ``/predict`` p50 over real HTTP
  with recording (window 10,000) and with a 1-row window.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

RESULTS = Path(__file__).resolve().parent / "results"


def frame(n: int, *, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data: dict[str, Any] = {f"x{i}": rng.normal(shift if i < 5 else 0.0, 1.0, n) for i in range(20)}
    data["c0"] = rng.choice(list("abcde"), n)
    data["c1"] = rng.choice(["u", "v", "w"], n, p=[0.5, 0.3, 0.2])
    return pd.DataFrame(data)


def timed(
    fn: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
) -> list[float]:
    times = []
    for _ in range(repeat):
        if setup is not None:
            setup()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return times


def fresh_import(module: str, repeat: int) -> tuple[float, list[str]]:
    code = (
        f"import sys, time, json; t=time.perf_counter(); import {module}; d=time.perf_counter()-t; "
        "print(json.dumps([d, [k for k in ('evidently','mlflow') if k in sys.modules]]))"
    )
    times, heavy = [], []
    for _ in range(repeat):
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
        d, heavy = json.loads(out.stdout)
        times.append(d)
    return statistics.median(times), heavy


TRAINING = """\
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
train = pd.DataFrame({f"x{i}": rng.normal(size=2000) for i in range(20)})
model = LogisticRegression().fit(train, (train.x0 > 0).astype(int))
"""


def bench_recording(repeat: int) -> dict[str, Any]:
    """Recording cost inside a service made by productionize (needs scikit-learn)."""
    import os
    import signal
    import tempfile

    import httpx
    import nbformat

    from mlops_nb.productionize.api import productionize

    root = Path(tempfile.mkdtemp(prefix="bench-drift-"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAINING)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(nb, root / "m.ipynb")
    made = productionize(root / "m.ipynb", out=root / "svc", fidelity=False)

    sys.path.insert(0, str(made.service_dir))
    from app.monitoring import InputStore  # the generated service's own store

    store = InputStore(10_000)
    row = [tuple(float(i) for i in range(20))]
    calls = 200_000
    t0 = time.perf_counter()
    for _ in range(calls):
        store.record(row)
    record_us = (time.perf_counter() - t0) / calls * 1e6

    record = {f"x{i}": 0.1 * i for i in range(20)}
    p50: dict[str, float] = {}
    for label, capacity in (("window_10000", "10000"), ("window_1", "1")):
        port = 18_000 + len(p50)
        env = {**os.environ, "MONITOR_CAPACITY": capacity}
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlops_nb.cli",
                "serve",
                str(made.service_dir),
                "--port",
                str(port),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(300):
                try:
                    if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)
            with httpx.Client(base_url=url) as client:
                for _ in range(200):
                    client.post("/predict", json=record)
                runs = []
                for _ in range(repeat):
                    lat = []
                    for _ in range(1000):
                        t = time.perf_counter()
                        client.post("/predict", json=record).raise_for_status()
                        lat.append(time.perf_counter() - t)
                    runs.append(statistics.median(lat) * 1000)
            p50[label] = statistics.median(runs)
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=20)
    return {
        "record_per_call_us": record_us,
        "predict_p50_ms_window_10000": p50["window_10000"],
        "predict_p50_ms_window_1": p50["window_1"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10k rows instead of 100k, no 1M")
    parser.add_argument("--recording", action="store_true", help="only the service recording")
    args = parser.parse_args(argv)
    r = args.repeat
    n = 10_000 if args.quick else 100_000
    out: dict[str, Any] = {"rows": n, "repeat": r}
    if args.recording:
        out.update(bench_recording(r))
        return _report(out, "drift-recording.json")

    out["import_mlops_nb_s"], out["import_mlops_nb_pulls"] = fresh_import("mlops_nb", r)
    out["import_evidently_s"], _ = fresh_import("evidently", r)

    import mlops_nb
    from mlops_nb.monitoring import profile, reference_profile
    from mlops_nb.monitoring.report import run_report

    ref, cur = frame(n, seed=0), frame(n, seed=1, shift=0.3)
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ev = timed(lambda: Report([DataDriftPreset()]).run(cur, ref), r)
    cold = timed(lambda: mlops_nb.drift(ref, cur), r, setup=profile.clear_cache)
    mlops_nb.drift(ref, cur)
    warm_frames = [frame(n, seed=10 + i, shift=0.3) for i in range(r)]
    it = iter(warm_frames)
    warm = timed(lambda: mlops_nb.drift(ref, next(it)), r)
    prepared = reference_profile(ref)
    explicit = timed(lambda: mlops_nb.drift(prepared, cur), r)

    result = mlops_nb.drift(ref, cur)
    with_widget = timed(lambda: mlops_nb.drift(ref, cur)._repr_mimebundle_(), r)
    full = timed(lambda: mlops_nb.drift(ref, cur).to_html(), max(1, r - 1))
    bundle = result._repr_mimebundle_()
    state = result.widget().get_state()
    payload = len(json.dumps(bundle).encode()) + len(json.dumps(state, default=str).encode())
    html = result.to_html()
    _ = run_report  # the full report is Evidently's run on the same frames

    out.update(
        evidently_run_s=statistics.median(ev),
        drift_cold_s=statistics.median(cold),
        drift_warm_s=statistics.median(warm),
        drift_with_profile_s=statistics.median(explicit),
        drift_plus_widget_s=statistics.median(with_widget),
        drift_plus_full_report_s=statistics.median(full),
        ratio_cold_vs_evidently=statistics.median(cold) / statistics.median(ev),
        ratio_with_widget_vs_evidently=statistics.median(with_widget) / statistics.median(ev),
        widget_first_payload_bytes=payload,
        html_report_bytes=len(html.encode()),
        drifted=result.drifted_columns,
    )

    if not args.quick:
        big_ref, big_cur = frame(1_000_000, seed=2), frame(1_000_000, seed=3, shift=0.3)
        big = timed(
            lambda: mlops_nb.drift(big_ref, big_cur)._repr_mimebundle_(),
            r,
            setup=profile.clear_cache,
        )
        out["drift_1m_rows_s"] = statistics.median(big)
        out["drift_1m_sampling"] = mlops_nb.drift(big_ref, big_cur).summary["sampling"]

    return _report(out, "drift.json")


def _report(out: dict[str, Any], name: str) -> int:
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / name).write_text(json.dumps(out, indent=2))
    for key, value in out.items():
        if isinstance(value, float):
            print(f"{key:34s} {value:10.3f}")
        else:
            print(f"{key:34s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
