"""One pure-ASGI middleware: API key, body size limit, concurrency limit, metrics, access log."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from app.logs import event
from app.metrics import Metrics

OPEN_PATHS = {"/healthz", "/readyz"}
KNOWN_ROUTES = {
    "/predict", "/invocations", "/healthz", "/readyz", "/metadata", "/metrics", "/docs",
    "/openapi.json", "/monitoring/sample", "/monitoring/reference", "/monitoring/drift",
}


async def _send_json(send: Any, status: int, body: dict[str, Any], headers: list[Any] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"),
                        (b"content-length", str(len(payload)).encode()), *(headers or [])],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class Guard:
    def __init__(
        self,
        app: Any,
        *,
        api_key: str | None,
        max_body_bytes: int,
        max_concurrency: int,
        metrics: Metrics,
        access_log: bool,
        fast_post: dict[str, Callable[[Any, bytes, str], tuple[int, bytes]]] | None = None,
        service: Any = None,
    ) -> None:
        self.app = app
        self.fast_post = fast_post or {}
        self.service = service
        self.api_key = api_key.encode() if api_key else None
        self.max_body = max_body_bytes
        self.max_concurrency = max_concurrency
        self.metrics = metrics
        self.access_log = access_log
        self.in_flight = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        route = path if path in KNOWN_ROUTES else "other"
        status_holder = [500]

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                status_holder[0] = message["status"]
            await send(message)

        try:
            await self._handle(scope, receive, send_wrapper, path)
        finally:
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(route, scope["method"], status_holder[0], elapsed)
            if self.access_log:
                event("request", method=scope["method"], path=path, status=status_holder[0],
                      ms=round(elapsed * 1000, 3))

    async def _handle(self, scope: Any, receive: Any, send: Any, path: str) -> None:
        if path in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if self.api_key is not None:
            supplied = b""
            for name, value in scope["headers"]:
                if name == b"x-api-key":
                    supplied = value
                    break
            if not hmac.compare_digest(supplied, self.api_key):
                await _send_json(send, 401, {"detail": "missing or invalid X-API-Key header"},
                                 [(b"www-authenticate", b"X-API-Key")])
                return
        if self.in_flight >= self.max_concurrency:
            await _send_json(send, 503, {"detail": "too many concurrent requests; retry shortly"},
                             [(b"retry-after", b"1")])
            return
        self.in_flight += 1
        try:
            await self._with_body_limit(scope, receive, send)
        finally:
            self.in_flight -= 1

    async def _with_body_limit(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _send_json(send, 400, {"detail": "invalid Content-Length"})
                    return
                if declared > self.max_body:
                    await _send_json(send, 413, {"detail": f"body over {self.max_body} bytes"})
                    return
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _send_json(send, 413, {"detail": f"body over {self.max_body} bytes"})
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        handler = self.fast_post.get(scope["path"])
        if handler is not None and scope["method"] == "POST":
            # the hot path: call the handler with the body already read, skip routing
            content_type = "application/json"
            for name, value in scope["headers"]:
                if name == b"content-type":
                    content_type = value.decode("latin-1")
                    break
            status, payload = handler(self.service, body, content_type)
            await send({
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode())],
            })
            await send({"type": "http.response.body", "body": payload})
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def log_error(msg: str, **fields: Any) -> None:
    event(msg, logging.ERROR, **fields)
