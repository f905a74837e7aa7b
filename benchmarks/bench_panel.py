"""Panel benchmarks (figures, not pass/fail): ``.venv/bin/python benchmarks/bench_panel.py``.

1. JupyterLab load time with and without the mlops-nb lab extension (same machine, same build,
   the extension disabled through page config), alternating servers, median of several loads.
2. Panel first render of a notebook with 1,000 runs (browser), and the ``/mlops-nb/runs`` route
   alone (first page of 50, server side).

Writes ``benchmarks/results/panel.json`` and prints a summary.
"""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from ui.panel_lab import ensure_built, lab, playwright, seed_bench  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def load_times(tmp: Path) -> dict:
    """Both servers side by side, loads alternating between them (see tests/load.spec.ts)."""
    with (
        lab(tmp / "with", with_panel=True) as (with_url, _),
        lab(tmp / "without", with_panel=False) as (without_url, _),
    ):
        time.sleep(10)  # let both servers finish starting (extension warm-up included)
        code = playwright(
            "tests/load.spec.ts",
            with_url,
            RESULTS,
            MLOPS_NB_BASE_URL_WITH=with_url,
            MLOPS_NB_BASE_URL_WITHOUT=without_url,
        )
    if code:
        raise SystemExit("load benchmark failed")
    return json.loads((RESULTS / "load.json").read_text())


def route_times(base: str, notebook: str, n: int = 20) -> list[float]:
    url = f"{base}/mlops-nb/runs?notebook={notebook}&page_size=50"
    out = []
    for _ in range(n + 1):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as resp:
            assert len(json.loads(resp.read())["runs"]) == 50
        out.append((time.perf_counter() - t0) * 1000)
    return out  # out[0] is the first request of this server (cold: opens the store)


def main() -> int:
    RESULTS.mkdir(parents=True, exist_ok=True)
    ensure_built()
    with tempfile.TemporaryDirectory(prefix="bench-panel-") as name:
        tmp = Path(name)
        loads = load_times(tmp)
        render_dir = tmp / "render"
        (render_dir / "root").mkdir(parents=True)
        seed_bench(render_dir / "root", n=1000)
        with lab(render_dir) as (base, _):
            route = route_times(base, "nb/bench.ipynb")
            if playwright("tests/bench.spec.ts", base, RESULTS, MLOPS_NB_BENCH_REPEAT="5"):
                raise SystemExit("render benchmark failed")
    render = json.loads((RESULTS / "panel-bench.json").read_text())
    summary = {
        "lab_load_ms": loads,
        "runs_route_first_page_ms": {
            "cold_first_request": route[0],
            "median_warm": statistics.median(route[1:]),
            "samples": route,
        },
        "panel_render_1000_runs": render,
    }
    (RESULTS / "panel.json").write_text(json.dumps(summary, indent=2))
    print(
        f"JupyterLab load: {loads['with_ms']['median']:.0f} ms with mlops-nb, "
        f"{loads['without_ms']['median']:.0f} ms without (median of {loads['pairs']} alternating "
        f"pairs); delta {loads['delta_ms']['median_of_pairs']:+.0f} ms (median of paired deltas)\n"
        f"/mlops-nb/runs first page (1,000 runs): {statistics.median(route[1:]):.1f} ms median "
        f"warm, {route[0]:.0f} ms for the server's first request\n"
        "panel: open notebook -> first page rendered (1,000 runs): "
        f"{render['open_notebook_to_first_page_ms']['median']:.0f} ms median; "
        f"refresh: {render['refresh_first_page_ms']['median']:.0f} ms median"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
