"""Panel benchmarks (figures, not pass/fail): ``.venv/bin/python benchmarks/bench_panel.py``.

With 1,000 runs of one notebook in the store (MLflow's default sqlite store):

1. ``/mlops-nb/runs`` first page: the first request right after ``jupyter lab`` starts, and warm
   (median), side by side with the peer, MLflow's own tracking server (``mlflow server`` on the
   same store: time from its start to its first ``runs/search`` answer, then warm).
2. ``/mlops-nb/runs/compare`` of 10 runs (warm, median).
3. The panel in Debian's chromium (Playwright, ``executablePath``): open the notebook → first
   page of runs rendered, on a fresh server (its first request) and warm (median); 10 runs
   compared → the comparison rendered (median).
4. JupyterLab load time with and without the mlops-nb lab extension, alternating servers
   (median of the pairs' differences).

Targets (issue #13): first render <= 500 ms warm and <= 1 s after server start; compare of 10
runs <= 300 ms; JupyterLab load with the extension within 300 ms of without.
Writes ``benchmarks/results/panel.json`` and prints a table. ``--quick``: every measurement,
fewer repeats (a few minutes).
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from support import free_port  # noqa: E402
from ui.panel_lab import BIN, ensure_built, lab, playwright, seed_bench  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"
NOTEBOOK = "nb/bench.ipynb"


def get_json(url: str, data: bytes | None = None) -> tuple[float, dict]:
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    t0 = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as resp:
        body = json.loads(resp.read())
    return (time.perf_counter() - t0) * 1000, body


def ours(tmp: Path, warm_n: int = 20) -> dict:
    """Our routes: the first request of a fresh server, then warm; compare of 10 runs."""
    with lab(tmp) as (base, _):
        runs = f"{base}/mlops-nb/runs?notebook={NOTEBOOK}&page_size=50"
        cold, page = get_json(runs)  # the very first request this server answers
        assert len(page["runs"]) == 50 and page["total"] == 1000
        warm = [get_json(runs)[0] for _ in range(warm_n)]
        ids = ",".join(r["run_id"] for r in page["runs"][:10])
        compare_url = f"{base}/mlops-nb/runs/compare?notebook={NOTEBOOK}&run_ids={ids}"
        compare = [get_json(compare_url)[0] for _ in range(warm_n + 1)]
        assert len(get_json(compare_url)[1]["runs"]) == 10
    return {
        "runs_first_request_after_start_ms": round(cold, 1),
        "runs_warm_median_ms": round(statistics.median(warm), 1),
        "compare_10_runs_median_ms": round(statistics.median(compare[1:]), 1),
        "compare_10_runs_first_ms": round(compare[0], 1),
    }


def peer(db: Path, notebook_tag: str) -> dict:
    """MLflow's tracking server on the same store: start → first runs/search answer, then warm."""
    port = free_port()
    with sqlite3.connect(db) as con:
        experiments = [str(e) for (e,) in con.execute("SELECT experiment_id FROM experiments")]
    body = json.dumps(
        {
            "experiment_ids": experiments,
            "filter": f"tags.`mlops_nb.notebook` = '{notebook_tag}'",
            "max_results": 50,
            "order_by": ["attributes.start_time DESC"],
        }
    ).encode()
    url = f"http://127.0.0.1:{port}/api/2.0/mlflow/runs/search"
    cmd = [
        str(BIN / "mlflow"),
        "server",
        "--backend-store-uri",
        f"sqlite:///{db}",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
    ]
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        while True:
            try:
                _, answer = get_json(url, body)
                break
            except OSError:
                if time.perf_counter() - t0 > 120 or proc.poll() is not None:
                    raise SystemExit("mlflow server did not answer") from None
                time.sleep(0.05)
        first = (time.perf_counter() - t0) * 1000
        assert len(answer["runs"]) == 50
        warm = [get_json(url, body)[0] for _ in range(20)]
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
    return {
        "mlflow_server_start_to_first_page_ms": round(first, 1),
        "mlflow_runs_search_warm_median_ms": round(statistics.median(warm), 1),
    }


def lab_start_to_first_page(tmp: Path) -> float:
    """``jupyter lab`` started → the first page of runs answered (server start included)."""
    t0 = time.perf_counter()
    with lab(tmp) as (base, _):
        get_json(f"{base}/mlops-nb/runs?notebook={NOTEBOOK}&page_size=50")
        return (time.perf_counter() - t0) * 1000


def load_times(tmp: Path, pairs: int = 12) -> dict:
    """Both servers side by side, loads alternating between them (see tests/load.spec.ts)."""
    with (
        lab(tmp / "with", with_panel=True) as (with_url, _),
        lab(tmp / "without", with_panel=False) as (without_url, _),
    ):
        time.sleep(5)
        code = playwright(
            "tests/load.spec.ts",
            with_url,
            RESULTS,
            MLOPS_NB_BASE_URL_WITH=with_url,
            MLOPS_NB_BASE_URL_WITHOUT=without_url,
            MLOPS_NB_BENCH_REPEAT=str(pairs),
        )
    if code:
        raise SystemExit("load benchmark failed")
    return dict(json.loads((RESULTS / "load.json").read_text()))


def render(tmp: Path, repeat: int) -> dict:
    with lab(tmp) as (base, _):
        code = playwright("tests/bench.spec.ts", base, RESULTS, MLOPS_NB_BENCH_REPEAT=str(repeat))
        if code:
            raise SystemExit("render benchmark failed")
    return dict(json.loads((RESULTS / "panel-bench.json").read_text()))


def verdict(value: float, target: float) -> str:
    return "met" if value <= target else "MISSED"


def table(summary: dict) -> str:
    o, p = summary["ours"], summary["peer"]
    r, load = summary["panel_render_1000_runs"], summary["lab_load_ms"]
    warm_render = r["open_notebook_to_first_page_ms"]["median"]
    compare_render = r["compare_10_runs_rendered_ms"]["median"]
    rows = [
        ("first render, fresh server (browser)", r["first_render_after_server_start_ms"], 1000),
        ("first render, warm (browser, median)", warm_render, 500),
        (
            "  of which: runs answer received",
            r["open_notebook_parts_ms"]["runs_answer_received_median"],
            0,
        ),
        ("  of which: rows in the DOM", r["open_notebook_parts_ms"]["rows_in_dom_median"], 0),
        ("  /mlops-nb/runs, first request", o["runs_first_request_after_start_ms"], 1000),
        ("  /mlops-nb/runs, warm (median)", o["runs_warm_median_ms"], 500),
        ("  peer: mlflow server start->search", p["mlflow_server_start_to_first_page_ms"], 0),
        ("  peer: mlflow runs/search, warm (median)", p["mlflow_runs_search_warm_median_ms"], 0),
        ("compare 10 runs rendered (browser, median)", compare_render, 300),
        ("  /mlops-nb/runs/compare, 10 runs (median)", o["compare_10_runs_median_ms"], 300),
        ("JupyterLab load with mlops-nb (median)", load["with_ms"]["median"], 0),
        ("JupyterLab load without (median)", load["without_ms"]["median"], 0),
        ("  delta (median of pairs)", load["delta_ms"]["median_of_pairs"], 300),
    ]
    lines = [f"{'measure (1,000 runs in the store)':<52} {'ms':>9}  target (issue #13)"]
    for label, value, target in rows:
        goal = f"<= {target} ms: {verdict(value, target)}" if target else ""
        lines.append(f"{label:<52} {value:>9.1f}  {goal}")
    lines.append(
        f"jupyter lab start -> first page answered: "
        f"{statistics.median(o['lab_start_to_first_page_ms']):.0f} ms (median of "
        f"{len(o['lab_start_to_first_page_ms'])}); load pairs: {load['pairs']}; "
        f"load average at the start: {summary['load_average']}\n"
        f"the panel's files fetched by JupyterLab's load: {load['mlops_nb_kb_at_load']} kB "
        f"(plotly's chunk only once a chart is shown)"
    )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    quick = "--quick" in (sys.argv[1:] if argv is None else argv)
    RESULTS.mkdir(parents=True, exist_ok=True)
    summary: dict = {"quick": quick, "load_average": [round(x, 2) for x in os.getloadavg()]}
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as name:
        tmp = Path(name)
        (tmp / "root").mkdir()
        notebook = seed_bench(tmp / "root", n=1000)
        db = notebook.parent / "mlflow.db"
        summary["ours"] = ours(tmp, warm_n=10 if quick else 20)
        summary["ours"]["lab_start_to_first_page_ms"] = [
            round(lab_start_to_first_page(tmp), 1) for _ in range(1 if quick else 3)
        ]
        summary["peer"] = peer(db, str(notebook.resolve()))
        ensure_built()
        summary["panel_render_1000_runs"] = render(tmp, repeat=3 if quick else 5)
        summary["lab_load_ms"] = load_times(tmp / "load", pairs=4 if quick else 12)
    (RESULTS / "panel.json").write_text(json.dumps(summary, indent=2))
    print(table(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
