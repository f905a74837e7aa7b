"""How long ``mlops-nb productionize`` takes on the example notebook, without --build (fidelity
check included): a real kernel runs the notebook while train.py retrains in a fresh process.

    .venv/bin/python benchmarks/bench_productionize.py [--repeat 5]

Target: <= 10 s. Prints each run, the median and the per-step timings of the median run.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "02_productionize.ipynb"


def one_run(work: Path) -> tuple[float, dict[str, float]]:
    from mlops_nb.productionize.api import productionize

    events: list[Any] = []
    started = time.perf_counter()
    result = productionize(
        work / NOTEBOOK.name, out=work / "service", force=True, progress=events.append
    )
    total = time.perf_counter() - started
    assert result.ok, result.checks
    steps: dict[str, float] = {}
    begun: dict[str, float] = {}
    for event in events:
        if event.status == "start":
            begun[event.step] = event.elapsed
        elif event.status == "done":
            steps[event.step] = round(event.elapsed - begun.get(event.step, event.elapsed), 3)
    return total, steps


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-productionize-"))
    shutil.copyfile(NOTEBOOK, work / NOTEBOOK.name)
    runs = []
    for i in range(args.repeat):
        total, steps = one_run(work)
        runs.append((total, steps))
        print(f"run {i + 1}: {total:.2f} s  {steps}", flush=True)
    totals = sorted(r[0] for r in runs)
    median = statistics.median(totals)
    median_run = min(runs, key=lambda r: abs(r[0] - median))
    print(
        json.dumps(
            {
                "median_s": round(median, 2),
                "min_s": round(totals[0], 2),
                "max_s": round(totals[-1], 2),
                "steps_of_median_run": median_run[1],
            },
            indent=2,
        )
    )
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
