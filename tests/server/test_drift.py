"""GET /mlops-nb/drift?url=: the server asks the service for its verdict (no CORS needed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import free_port
from tornado.httpclient import HTTPClientError

from mlops_nb.server.schemas import DriftReportResponse, DriftResponse, WidgetModuleResponse

VERDICT = {
    "dataset_drift": True,
    "drift_share": 0.5,
    "n_drifted": 1,
    "n_columns": 2,
    "columns": {
        "age": {
            "type": "num",
            "stattest": "wasserstein",
            "score": 0.4,
            "threshold": 0.1,
            "drifted": True,
        },
        "city": {
            "type": "cat",
            "stattest": "jensenshannon",
            "score": 0.02,
            "threshold": 0.1,
            "drifted": False,
        },
    },
}


REFERENCE = [{"age": 20 + i % 30, "city": ["a", "b"][i % 2]} for i in range(60)]
RECENT = [{"age": 50 + i % 30, "city": ["a", "b"][i % 2]} for i in range(60)]


class Service(BaseHTTPRequestHandler):
    """A generated service's /monitoring/* (verdict, recent inputs, reference sample); under
    /young/ it has too little traffic, under /starting/ no reference yet, /html/ is broken."""

    def do_GET(self):
        path = self.path.split("?")[0]
        routes = {
            "/monitoring/drift": (200, VERDICT),
            "/monitoring/sample": (200, {"records": RECENT, "total_seen": 60}),
            "/monitoring/reference": (200, {"records": REFERENCE, "total": 60}),
            "/young/monitoring/drift": (
                409,
                {
                    "detail": "only 12 input rows recorded; drift needs at least 30",
                    "current_rows": 12,
                    "min_rows": 30,
                },
            ),
            "/starting/monitoring/drift": (
                503,
                {"detail": "the reference sample is not loaded yet", "reference": "loading"},
            ),
            "/starting/readyz": (503, {"status": "not ready", "detail": "loading"}),
            "/broken/monitoring/drift": (
                503,
                {"detail": "the reference sample is not loaded yet", "reference": "loading"},
            ),
            "/broken/readyz": (
                503,
                {"status": "not ready", "detail": "UnpicklingError: model.pkl is truncated"},
            ),
            "/noref/monitoring/drift": (
                503,
                {
                    "detail": "the reference sample failed to load "
                    "(ValueError while reading reference.csv); see the service log",
                    "reference": "failed",
                },
            ),
            "/noref/readyz": (200, {"status": "ready"}),
            # a service generated before the 503 said ``reference``: only its detail tells
            "/older-noref/monitoring/drift": (
                503,
                {"detail": "the reference sample failed to load (reference.csv is missing)"},
            ),
            "/older-noref/readyz": (200, {"status": "ready"}),
            "/older-starting/monitoring/drift": (
                503,
                {"detail": "the reference sample is not loaded yet; retry shortly"},
            ),
            "/older-starting/readyz": (200, {"status": "ready"}),
        }
        if path == "/html/monitoring/drift":
            body, status = b"<html>not json</html>", 200
        elif path in routes:
            status, data = routes[path]
            body = json.dumps(data).encode()
        else:
            body, status = b'{"detail": "Not Found"}', 404
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def service() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Service)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


async def drift_error(jp_fetch, url):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", "drift", params={"url": url})
    return info.value.code, json.loads(info.value.response.body)["message"]


async def drift_of(jp_fetch, url):
    response = await jp_fetch("mlops-nb", "drift", params={"url": url})
    return DriftResponse.model_validate_json(response.body)


@pytest.mark.parametrize("suffix", ["", "/", "/monitoring/drift"])
async def test_verdict_comes_with_the_notebook_widgets_state(jp_fetch, service, suffix):
    data = await drift_of(jp_fetch, service + suffix)
    assert data.state == "ready" and data.url == f"{service}/monitoring/drift"
    widget = data.widget
    assert widget is not None and widget.summary.dataset_drift is True
    assert widget.summary.columns["age"].drifted and not widget.summary.columns["city"].drifted
    # the distributions the notebook widget plots: recent inputs vs the reference sample
    assert set(widget.distributions) == {"age", "city"}
    assert len(widget.distributions["age"]["reference"]) == len(
        widget.distributions["age"]["current"]
    )
    assert widget.stattest_names["wasserstein"] == "Wasserstein distance (normed)"
    assert "60 of 60 inputs seen" in widget.note and widget.report_state == "idle"


async def test_too_little_traffic_is_a_neutral_state_not_an_error(jp_fetch, service):
    data = await drift_of(jp_fetch, f"{service}/young")
    assert data.state == "collecting" and data.widget is None
    assert data.message == "collecting traffic (12 of 30 rows)"
    assert (data.current_rows, data.min_rows) == (12, 30)


async def test_a_service_without_its_reference_yet_is_starting(jp_fetch, service):
    data = await drift_of(jp_fetch, f"{service}/starting")
    assert data.state == "starting" and "not loaded yet" in data.message


async def test_a_service_whose_model_failed_to_load_says_so(jp_fetch, service):
    code, message = await drift_error(jp_fetch, f"{service}/broken")
    assert code == 502 and "failed to load its model" in message and "truncated" in message


@pytest.mark.parametrize("prefix", ["/noref", "/older-noref"])
async def test_a_ready_service_whose_reference_failed_is_an_error_not_starting(
    jp_fetch, service, prefix
):
    code, message = await drift_error(jp_fetch, f"{service}{prefix}")
    assert code == 502 and "reference sample failed to load" in message


async def test_an_older_service_still_loading_its_reference_is_starting(jp_fetch, service):
    data = await drift_of(jp_fetch, f"{service}/older-starting")
    assert data.state == "starting" and "not loaded yet" in data.message


async def test_the_full_report_is_built_on_demand(jp_fetch, service):
    # Evidently loads on demand: seconds, longer on a busy machine
    response = await jp_fetch(
        "mlops-nb", "drift", "report", params={"url": service}, request_timeout=180
    )
    data = DriftReportResponse.model_validate_json(response.body)
    assert "<html" in data.html.lower() and "age" in data.html


async def test_the_widget_module_is_the_notebook_widgets_own(jp_fetch):
    from mlops_nb.monitoring.widget import CSS_PATH, ESM_PATH

    response = await jp_fetch("mlops-nb", "drift", "widget")
    data = WidgetModuleResponse.model_validate_json(response.body)
    assert data.esm == ESM_PATH.read_text(encoding="utf-8")
    assert data.css == CSS_PATH.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "url",
    [
        "",
        "file:///etc/passwd",
        "ftp://127.0.0.1/x",
        "127.0.0.1:8000",
        "http://",
        "http://[::1",
        "http://127.0.0.1:99999",
        "http://127.0.0.1:port",
    ],
)
async def test_malformed_urls_are_400(jp_fetch, url):
    code, message = await drift_error(jp_fetch, url)
    assert code == 400 and "http(s)" in message


async def test_an_oversized_url_is_400(jp_fetch):
    code, message = await drift_error(jp_fetch, "http://127.0.0.1/" + "a" * 5000)
    assert code == 400 and "url" in message


async def test_service_down_is_502_saying_unreachable(jp_fetch):
    url = f"http://127.0.0.1:{free_port()}"
    code, message = await drift_error(jp_fetch, url)
    assert code == 502 and "unreachable" in message and url in message


async def test_service_without_drift_endpoint_is_502_with_status(jp_fetch, service):
    code, message = await drift_error(jp_fetch, f"{service}/nothing-here")
    assert code == 502 and "404" in message


async def test_non_json_answer_is_502(jp_fetch, service):
    code, message = await drift_error(jp_fetch, f"{service}/html")
    assert code == 502 and "JSON" in message
