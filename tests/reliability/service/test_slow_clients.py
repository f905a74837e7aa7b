"""Clients that stall do not deny service: 64 connections that send their headers and part of a
body, then stop, hold no scoring slot; ordinary requests (whose body arrives in a second packet,
as httpx sends it) are all answered while they stall; the stalled ones get a 408 after
BODY_TIMEOUT."""

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
        # the stalled clients are told why, once the body deadline has passed
        for sock in stalled:
            sock.settimeout(live["body_timeout"] + 10)
            answer = b""
            while b"did not arrive" not in answer and (chunk := sock.recv(4096)):
                answer += chunk
            assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
            assert b"did not arrive within" in answer
    finally:
        for sock in stalled:
            sock.close()


def test_stalled_headers_do_not_deny_service(live: dict[str, Any]) -> None:
    """Connections that never finish their headers hold a socket, nothing else."""
    socks = []
    try:
        for _ in range(STALLED):
            sock = socket.create_connection(("127.0.0.1", live["port"]), timeout=10)
            sock.sendall(b"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Api-")
            socks.append(sock)
        with httpx.Client(base_url=live["url"], timeout=10) as client:
            record = live["example"]["records"][0]
            for _ in range(20):
                response = client.post(
                    "/predict", json=record, headers={"x-api-key": live["api_key"]}
                )
                assert response.status_code == 200
            assert client.get("/readyz").status_code == 200
    finally:
        for sock in socks:
            sock.close()
