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
- the widget's first display payload and the size of the full HTML report.
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="10k rows instead of 100k, no 1M")
    args = parser.parse_args(argv)
    r = args.repeat
    n = 10_000 if args.quick else 100_000
    out: dict[str, Any] = {"rows": n, "repeat": r}

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

    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "drift.json").write_text(json.dumps(out, indent=2))
    for key, value in out.items():
        if isinstance(value, float):
            print(f"{key:34s} {value:10.3f}")
        else:
            print(f"{key:34s} {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
