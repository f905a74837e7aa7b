"""The drift report and the drift widget render in headless Chromium with the network closed.

Chromium runs with a proxy that goes nowhere (``--proxy-server=127.0.0.1:9``) and background
networking off; the pages are local files whose scripts are all inline. We read back the DOM
*after* the scripts ran (script elements stripped), so the assertions see what a user sees.
"""

from __future__ import annotations

import json
import re
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from drift_data import customers
from support import chromium_path, require

import mlops_nb
from mlops_nb.monitoring.report import remote_assets
from mlops_nb.monitoring.widget import ESM_PATH

pytestmark = pytest.mark.ui

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--proxy-server=127.0.0.1:9",
    "--proxy-bypass-list=<-loopback>",
    "--virtual-time-budget=20000",
]


def _rendered_dom(page: Path, tmp_path: Path) -> str:
    chromium = chromium_path()
    require(chromium is not None, "chromium (/usr/bin/chromium)")
    assert chromium is not None
    proc = subprocess.run(
        [chromium, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return re.sub(r"<script\b.*?</script>", "", proc.stdout, flags=re.S | re.I)


class _Cells(HTMLParser):
    """Texts of table cells and of elements with a given class."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []
        self._depth = 0
        self._buf: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("td", "th"):
            self._depth += 1
            self._buf = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._depth:
            self._depth -= 1
            self.cells.append("".join(self._buf).strip())

    def handle_data(self, data: str) -> None:
        if self._depth:
            self._buf.append(data)


def _js(value: object) -> str:
    """A JS literal that is safe inside an inline <script> (no "</script>" in it)."""
    return json.dumps(value).replace("</", "<\\/")


def _cells(dom: str) -> list[str]:
    parser = _Cells()
    parser.feed(dom)
    return parser.cells


def test_full_report_renders_offline_with_its_drift_table(tmp_path: Path) -> None:
    result = mlops_nb.drift(
        customers(800, seed=1), customers(800, seed=2, shift=("age", "income", "plan", "region"))
    )
    page = result.save(tmp_path / "report.html")
    html = page.read_text(encoding="utf-8")
    assert remote_assets(html) == []
    assert not re.search(r"""<(script|link)[^>]+(src|href)=["']?https?:""", html, re.I)

    dom = _rendered_dom(page, tmp_path)

    assert "Drift is detected for 66.667% of columns (4 out of 6)." in dom
    cells = _cells(dom)
    for column in ("age", "income", "score", "tenure", "plan", "region"):
        assert column in cells, f"{column} missing from the rendered drift table"
    assert cells.count("Detected") == 4 and cells.count("Not Detected") == 2


def test_widget_module_renders_verdict_table_and_plots_offline(tmp_path: Path) -> None:
    result = mlops_nb.drift(
        customers(3000, seed=1), customers(3000, seed=2, shift=("age", "income", "plan", "region"))
    )
    w = result.widget()
    report = result.to_html()
    esm = ESM_PATH.read_text(encoding="utf-8")
    state = {
        "summary": w.summary,
        "distributions": w.distributions,
        "note": w.note,
        "stattest_names": w.stattest_names,
        "report_state": w.report_state,
        "report_error": w.report_error,
    }
    page = tmp_path / "widget.html"
    page.write_text(
        f"""<!doctype html><html><body><div id="out"></div>
<script type="module">
const state = {_js(state)};
const report = {_js(report)};
const source = {_js(esm)};
const url = URL.createObjectURL(new Blob([source], {{type: "text/javascript"}}));
const mod = await import(url);
const handlers = {{}};
const sent = [];
const model = {{
  get: (k) => state[k],
  on: (event, cb) => {{ (handlers[event] ||= []).push(cb); }},
  send: (msg) => {{
    sent.push(msg.type);
    for (const cb of handlers["msg:custom"] || []) cb({{ type: "report", html: report }});
  }},
}};
mod.default.render({{ model, el: document.getElementById("out") }});
document.querySelector('tr[data-column="score"]').click();  // a row that did not drift
document.querySelector(".mnd-report-button").click();        // asks the kernel for the report
document.body.setAttribute("data-sent", sent.join(","));
setTimeout(() => {{  // what the report shows once its own scripts ran inside the widget's frame
  const inner = document.querySelector("iframe.mnd-report").contentDocument.body.innerText;
  const seen = document.createElement("pre");
  seen.id = "report-text";
  seen.textContent = inner;
  document.body.append(seen);
  document.body.setAttribute("data-rendered", "yes");
}}, 8000);
</script></body></html>""",
        encoding="utf-8",
    )

    dom = _rendered_dom(page, tmp_path)

    assert 'data-rendered="yes"' in dom
    assert "Dataset drift" in dom and "4 of 6 columns drifted" in dom
    assert "uniform random sample" not in dom and "all 3,000 rows" in dom
    cells = _cells(dom)
    assert cells[:6] == ["column", "type", "test", "score", "threshold", "drifted"]
    assert cells.count("yes") == 4 and cells.count("no") == 2
    assert "Wasserstein distance (normed)" in cells
    plotted = re.findall(r'<svg[^>]*data-column="([^"]+)"', dom)
    assert sorted(plotted) == ["age", "income", "plan", "region", "score"]  # + the clicked row
    assert 'data-sent="load-report"' in dom
    frame = re.search(r"<iframe[^>]*mnd-report[^>]*>", dom)
    assert frame is not None  # shown (no hidden attribute), holding the report
    assert frame.group(0).startswith('<iframe class="mnd-report" title="Evidently report" srcdoc=')
    seen = re.search(r'<pre id="report-text">(.*?)</pre>', dom, re.S)
    assert seen is not None
    assert "Drift is detected for 66.667% of columns (4 out of 6)." in seen.group(1)
    assert "Dataset Drift" in seen.group(1)
    assert "Toggle the full Evidently report" in dom
