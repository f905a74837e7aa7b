"""Request limits that hold under abuse: the body is read with a size cap and a deadline, and
the concurrency limit counts only requests being scored (a client that stalls while sending its
body holds a connection, never a scoring slot)."""

from __future__ import annotations

import asyncio
import sys

from fastapi import HTTPException, Request
from starlette.requests import ClientDisconnect

from app.connections import BODY_RECEIVED

# The rest of an unread body would be taken for the next request: close the connection instead.
_CLOSE = {"Connection": "close"}


class ScoringSlots:
    """How many requests are being scored (in the threadpool or a micro-batch) at once."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.busy = 0

    def __enter__(self) -> ScoringSlots:
        if self.busy >= self.limit:
            raise HTTPException(
                503, "too many requests being scored; retry shortly", headers={"Retry-After": "1"}
            )
        self.busy += 1
        return self

    def __exit__(self, *exc: object) -> None:
        self.busy -= 1


def _check_declared(request: Request, max_bytes: int) -> None:
    """Refuse a body by its Content-Length before reading it."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise HTTPException(400, "invalid Content-Length header")
        if int(declared) > max_bytes:
            raise HTTPException(413, f"body over {max_bytes} bytes", headers=_CLOSE)


async def _read(request: Request, max_bytes: int) -> bytes:
    chunks, size = [], 0
    receive = request.receive
    while True:  # the ASGI messages of the body (the server stops at Content-Length)
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise HTTPException(413, f"body over {max_bytes} bytes", headers=_CLOSE)
        chunks.append(chunk)
        if not message.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


async def read_body(request: Request, max_bytes: int, timeout: float) -> bytes:
    """The request body; 413 above ``max_bytes``, 408 when it is not complete within ``timeout``
    (no deadline is needed when the server says the whole body came with the headers)."""
    if BODY_RECEIVED in request.scope.get("extensions", ()):
        # the server has read the whole body (the HTTP parser checked its Content-Length):
        # its size is checked as it is taken, with nothing left to wait for
        return await _read(request, max_bytes)
    _check_declared(request, max_bytes)
    try:
        if sys.version_info >= (3, 11):
            async with asyncio.timeout(timeout):
                return await _read(request, max_bytes)
        return await asyncio.wait_for(_read(request, max_bytes), timeout)
    except TimeoutError:
        raise HTTPException(
            408, f"the request body did not arrive within {timeout:g} s", headers=_CLOSE
        ) from None
