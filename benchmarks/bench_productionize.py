"""What ``mlops-nb productionize`` (without --build) costs beyond one execution of the notebook.

For each notebook, alternately: one plain execution in a fresh kernel (nbclient, as papermill and
``jupyter nbconvert --execute`` do it) and one productionize (extract, data-flow analysis, the
notebook in a fresh kernel while train.py retrains in a fresh process, the fidelity comparison,
the service directory). Medians of ``--repeat`` runs; the overhead is the difference.

    .venv/bin/python benchmarks/bench_productionize.py [--repeat 3] [--json out.json]

Target (issue "Productionize that holds on real notebooks"): overhead <= 3 s per notebook.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "notebooks" / "productionize" / "corpus"
NOTEBOOKS = [
    ROOT / "notebooks" / "02_productionize.ipynb",
    CORPUS / "titanic_kaggle.ipynb",
    CORPUS / "student_records.ipynb",
    CORPUS / "helper_module.ipynb",
    CORPUS / "bunch_arrays.ipynb",
]


def _copy(notebook: Path, work: Path) -> Path:
    work.mkdir(parents=True)
    for path in notebook.parent.iterdir():
        if path.is_file() and path.suffix in (".csv", ".py", ".ipynb"):
            shutil.copyfile(path, work / path.name)
    return work / notebook.name


def execute_once(notebook: Path) -> float:
    import nbclient
    import nbformat

    nb = nbformat.read(str(notebook), as_version=4)
    client = nbclient.NotebookClient(
        nb,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent)}},
    )
    started = time.perf_counter()
    client.execute(env={**os.environ, "MPLBACKEND": "Agg"})
    return time.perf_counter() - started


def productionize_once(notebook: Path, out: Path) -> tuple[float, dict[str, float]]:
    from mlops_nb.productionize import api

    events: list[Any] = []
    probes: list[dict[str, Any]] = []
    collect = api.collect_probe

    def collect_and_keep(*args: Any) -> dict[str, Any]:
        # the probe's own timings (train, prepare, wait for the kernel, after the wait)
        probe = collect(*args)
        probes.append(probe)
        return probe

    api.collect_probe = collect_and_keep  # type: ignore[assignment]
    try:
        started = time.perf_counter()
        result = api.productionize(notebook, out=out, progress=events.append)
        total = time.perf_counter() - started
    finally:
        api.collect_probe = collect  # type: ignore[assignment]
    assert result.ok, result.checks
    begun: dict[str, float] = {}
    steps: dict[str, float] = {}
    for event in events:
        if event.status == "start":
            begun[event.step] = event.elapsed
        elif event.status == "done":
            steps[event.step] = round(event.elapsed - begun.get(event.step, event.elapsed), 3)
    for probe in probes:
        steps.update({f"probe.{k}": v for k, v in probe.get("timings", {}).items()})
    return total, steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--only", help="only the notebooks whose name contains this")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-productionize-") as tmp:
        for notebook in [n for n in NOTEBOOKS if not args.only or args.only in n.name]:
            plain, made, steps = [], [], {}
            for i in range(args.repeat):
                nb = _copy(notebook, Path(tmp) / f"{notebook.stem}-{i}")
                plain.append(execute_once(nb))
                total, steps = productionize_once(nb, nb.parent / "service")
                made.append(total)
            row = {
                "notebook": notebook.name,
                "execute_s": round(statistics.median(plain), 2),
                "productionize_s": round(statistics.median(made), 2),
                "overhead_s": round(statistics.median(made) - statistics.median(plain), 2),
                "steps_of_last_run": steps,
            }
            rows.append(row)
            print(
                f"{row['notebook']:28} execute {row['execute_s']:6.2f} s   productionize "
                f"{row['productionize_s']:6.2f} s   overhead {row['overhead_s']:+.2f} s   {steps}"
            )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
