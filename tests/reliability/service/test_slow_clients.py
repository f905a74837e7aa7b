"""Clients that stall do not deny service: 64 connections that send their headers and part of a
body, then stop, hold no scoring slot; ordinary requests (whose body arrives in a second packet,
as httpx sends it) are all answered while they stall; the stalled ones get a 408 after
BODY_TIMEOUT and are disconnected. Connections that stall before their headers are complete get a
408 after HEADER_TIMEOUT and are disconnected too."""

from __future__ import annotations

import json
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

STALLED = 64
ORDINARY = 300


def _stall(port: int, api_key: str, body: bytes) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"X-API-Key: {api_key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body[: len(body) // 2]
    )
    return sock


def test_stalled_bodies_do_not_deny_service(live: dict[str, Any]) -> None:
    record = live["example"]["records"][0]
    body = json.dumps(record).encode()
    headers = {"x-api-key": live["api_key"]}
    stalled = [_stall(live["port"], live["api_key"], body) for _ in range(STALLED)]
    started = time.monotonic()
    try:
        with httpx.Client(base_url=live["url"], timeout=10, headers=headers) as client:
            assert client.get("/readyz").status_code == 200

            def one(_: int) -> int:
                # a generator body: httpx sends the headers, then the body in a later write
                return client.post("/predict", content=iter([body[:10], body[10:]])).status_code

            with ThreadPoolExecutor(max_workers=16) as pool:
                statuses = list(pool.map(one, range(ORDINARY)))
        took = time.monotonic() - started
        assert statuses == [200] * ORDINARY, {s: statuses.count(s) for s in set(statuses)}
        assert took < live["body_timeout"] * 10, took
        # the stalled clients are told why once the body deadline has passed, then disconnected
        for sock in stalled:
            answer = _answer_then_closed(sock, live["body_timeout"] + 10)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"did not arrive within" in answer
    finally:
        for sock in stalled:
            sock.close()


def _answer_then_closed(sock: socket.socket, within: float) -> bytes:
    """Everything the server sends until it closes the connection (fails after ``within`` s)."""
    sock.settimeout(within)
    answer = b""
    while chunk := sock.recv(4096):
        answer += chunk
    return answer


@pytest.mark.parametrize(
    "sent",
    [b"", b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-"],
    ids=["nothing", "part-of-the-headers"],
)
def test_stalled_headers_are_closed_in_time_and_do_not_deny_service(
    live: dict[str, Any], sent: bytes
) -> None:
    """Connections that never finish their headers get a 408 and are closed after
    HEADER_TIMEOUT; meanwhile ordinary requests are answered."""
    socks = []
    started = time.monotonic()
    try:
        for _ in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", live["port"]), timeout=10)
            sock.sendall(sent)
            socks.append(sock)
        with httpx.Client(base_url=live["url"], timeout=10) as client:
            record = live["example"]["records"][0]
            for _ in range(20):
                response = client.post(
                    "/predict", json=record, headers={"x-api-key": live["api_key"]}
                )
                assert response.status_code == 200
            assert client.get("/readyz").status_code == 200
        for sock in socks:
            answer = _answer_then_closed(sock, live["header_timeout"] + 10)
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"headers did not arrive within" in answer
        took = time.monotonic() - started
        assert live["header_timeout"] * 0.9 <= took < live["header_timeout"] + 10, took
    finally:
        for sock in socks:
            sock.close()


def test_a_stalled_request_on_a_kept_alive_connection_is_closed(live: dict[str, Any]) -> None:
    """The header deadline starts again with the first byte of each request on a connection."""
    record = json.dumps(live["example"]["records"][0]).encode()
    request = (
        b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + f"X-API-Key: {live['api_key']}\r\nContent-Length: {len(record)}\r\n\r\n".encode()
        + record
    )
    with socket.create_connection(("127.0.0.1", live["port"]), timeout=10) as sock:
        for _ in range(3):  # a kept-alive connection, each request well within the deadline
            sock.sendall(request)
            time.sleep(live["header_timeout"] * 0.6)
            assert sock.recv(65536).startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHo")
        answer = _answer_then_closed(sock, live["header_timeout"] + 10)
    assert answer.startswith(b"HTTP/1.1 408") and b"headers did not arrive" in answer
