"""GET /mlops-nb/drift?url=: the server asks the service for its verdict (no CORS needed)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from support import free_port
from tornado.httpclient import HTTPClientError

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


class Service(BaseHTTPRequestHandler):
    """A service with a drift endpoint at /monitoring/drift and a broken one at /broken/..."""

    def do_GET(self):
        if self.path == "/monitoring/drift":
            body, status = json.dumps(VERDICT).encode(), 200
        elif self.path == "/html/monitoring/drift":
            body, status = b"<html>not json</html>", 200
        elif self.path == "/young/monitoring/drift":
            body, status = b'{"detail": "only 3 input rows recorded; drift needs at least 50"}', 409
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


@pytest.mark.parametrize("url", ["", "/"])
async def test_verdict_is_proxied_from_the_service(jp_fetch, service, url):
    response = await jp_fetch("mlops-nb", "drift", params={"url": service + url})
    data = json.loads(response.body)
    assert data["dataset_drift"] is True
    assert data["columns"]["age"]["drifted"] is True and data["columns"]["city"]["drifted"] is False
    assert data["url"] == f"{service}/monitoring/drift"


async def test_full_drift_url_is_accepted(jp_fetch, service):
    response = await jp_fetch("mlops-nb", "drift", params={"url": f"{service}/monitoring/drift"})
    assert json.loads(response.body)["n_drifted"] == 1


@pytest.mark.parametrize(
    "url", ["", "file:///etc/passwd", "ftp://127.0.0.1/x", "127.0.0.1:8000", "http://"]
)
async def test_non_http_urls_are_400(jp_fetch, url):
    code, message = await drift_error(jp_fetch, url)
    assert code == 400 and "http(s)" in message


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


async def test_the_services_own_explanation_is_passed_on(jp_fetch, service):
    code, message = await drift_error(jp_fetch, f"{service}/young")
    assert code == 502
    assert "409" in message and "only 3 input rows recorded" in message
