"""A deadline for a request's headers: the one place the service reaches into uvicorn.

uvicorn closes idle keep-alive connections (``timeout_keep_alive``) and the app bounds the body
(``BODY_TIMEOUT``, ``app/limits.py``), but nothing bounds how long a client may take to send its
request line and headers: a client that connects and stalls would hold its connection forever.
:class:`HeaderDeadlineProtocol` is uvicorn's own HTTP/1.1 protocol (httptools when installed, else
h11), given to uvicorn as its ``http`` protocol class (``app/server.py``): from the moment a
connection opens, or the first byte of a later request on it arrives, the headers must be complete
within ``HEADER_TIMEOUT`` seconds (10), or the client gets a 408 and the connection is closed.

It relies on uvicorn's protocol attributes ``transport``, ``loop`` and ``cycle`` (a new
request-response cycle once a request's headers are parsed; ``cycle.more_body`` false once its
body is complete, ``cycle.scope`` its ASGI scope, ``cycle.response_complete`` after its answer).
``tests/reliability/service/test_slow_clients.py`` fails if they move.

It also writes each response in one send. uvicorn writes a response's status line and headers
when the app starts the response, and its body when the app sends it: two ``send`` calls, and two
TCP segments for the client to read. :class:`ResponseWriter` stands between the protocol and its
transport and holds what is written until the loop's next turn, so the head and body of a
response go out together (a bare ASGI app on uvicorn, measured so on two cores, answers 22-25k
requests per second instead of 18-19k). Nothing waits longer than that one turn, and closing the
connection writes what is held first.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

try:
    from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _UvicornProtocol
except ImportError:  # no httptools: uvicorn's pure-Python h11 protocol
    from uvicorn.protocols.http.h11_impl import (  # type: ignore[assignment]
        H11Protocol as _UvicornProtocol,
    )

HEADER_TIMEOUT = float(os.environ.get("HEADER_TIMEOUT") or 10.0)
#: an ASGI scope extension this server sets on a request whose whole body arrived with its
#: headers: reading it cannot stall, so ``app/limits.py`` reads it without arming the body
#: deadline (a timer per request)
BODY_RECEIVED = "mlops_nb.body_received"


class ResponseWriter(asyncio.Transport):
    """A connection's transport whose writes are held until the loop's next turn and then sent
    as one: the head and body of a response (and pipelined responses) share one ``send``."""

    def __init__(self, transport: asyncio.Transport) -> None:
        super().__init__()
        self._transport = transport
        self._held: list[bytes] = []
        self._loop = asyncio.get_running_loop()

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send what is held (nothing once the connection is closing)."""
        if self._held:
            data = b"".join(self._held) if len(self._held) > 1 else self._held[0]
            self._held = []
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()


class HeaderDeadlineProtocol(_UvicornProtocol):
    """uvicorn's HTTP/1.1 protocol, closing connections whose headers do not arrive in time and
    writing each response in one send."""

    _deadline: asyncio.TimerHandle | None = None
    _cycle_before: Any = None
    _awaiting_headers = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        # uvicorn's flow control keeps the transport itself; the protocol and each request's
        # cycle (made from ``self.transport`` when its headers are parsed) write through this
        self.transport = ResponseWriter(transport)
        self._expect_headers()
        self._arm()  # from the moment the connection opens

    def data_received(self, data: bytes) -> None:
        if not self._awaiting_headers and self._between_requests():
            self._expect_headers()  # the first bytes of a request on a kept-alive connection
        super().data_received(data)
        if not self._awaiting_headers:
            return
        cycle = self.cycle
        if cycle is not self._cycle_before:  # the headers are in: the app's deadlines take over
            self._awaiting_headers = False
            self._disarm()
            if not cycle.more_body:  # and the whole body with them: the app need not wait
                cycle.scope.setdefault("extensions", {})[BODY_RECEIVED] = {}
        elif self._deadline is None:
            # part of the headers came: the rest must follow in time (a request that comes
            # whole in one read, the usual case, never needs a timer)
            self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _between_requests(self) -> bool:
        return self.cycle is None or bool(self.cycle.response_complete)

    def _expect_headers(self) -> None:
        self._awaiting_headers = True
        self._cycle_before = self.cycle

    def _arm(self) -> None:
        self._deadline = self.loop.call_later(HEADER_TIMEOUT, self._expire)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expire(self) -> None:
        self._deadline = None
        if self.transport.is_closing() or self.cycle is not self._cycle_before:
            return
        body = f"the request headers did not arrive within {HEADER_TIMEOUT:g} s".encode()
        self.transport.write(
            b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
            b"connection: close\r\ncontent-length: %d\r\n\r\n%s" % (len(body), body)
        )
        self.transport.close()
