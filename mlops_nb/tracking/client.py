"""The kernel side of delivery: start the worker, wake it, listen to it. Never blocks a cell.

The worker (:mod:`mlops_nb.tracking.worker`) gets one end of a socket pair; a listener thread
here sleeps on the other end and turns the worker's events into run-card updates and one-line
notices (queued because the store is unavailable; delivered again; set aside). A worker that dies
is started again on the next wake-up. Nothing here imports MLflow.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from mlops_nb.tracking.events import Event
from mlops_nb.tracking.outbox import Outbox

log = logging.getLogger("mlops_nb")
Listener = Callable[[Event], None]
LISTENER_SETTLE = 2.0  # seconds flush() waits for "delivered" events after the outbox empties


class WorkerClient:
    """One worker per kernel; :meth:`start` and :meth:`wake` never raise."""

    def __init__(self, outbox: Outbox, home: Path, warm_uri: str | None = None) -> None:
        self.outbox = outbox
        self.home = home
        self.warm_uri = warm_uri  # the store the worker opens while it waits for records
        self.outage: str | None = None
        self.failures: list[Event] = []
        self.start_error: str | None = None
        self._notices: list[str] = []
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._proc: subprocess.Popen[bytes] | None = None
        self._outage_seen = 0.0

    @property
    def alive(self) -> bool:
        return self._sock is not None and self._proc is not None and self._proc.poll() is None

    @property
    def pid(self) -> int | None:
        """The worker's process id while it runs."""
        return self._proc.pid if self.alive and self._proc is not None else None

    def start(self) -> None:
        self._ensure()

    def _ensure(self) -> socket.socket | None:
        with self._lock:
            if self.alive:
                return self._sock
            from mlops_nb.tracking.worker import spawn

            ours, theirs = socket.socketpair()
            try:
                proc = spawn(self.outbox, self.home, theirs, warm_uri=self.warm_uri)
            except OSError as exc:
                ours.close()
                if self.start_error is None:
                    self._notices.append(f"mlops-nb: could not start the delivery worker: {exc}")
                self.start_error = str(exc)
                return None
            finally:
                theirs.close()
            self.start_error = None
            self._sock, self._proc = ours, proc
            threading.Thread(
                target=self._listen, args=(ours,), name="mlops-nb-listener", daemon=True
            ).start()
            return ours

    def _listen(self, sock: socket.socket) -> None:
        buffer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except OSError:
                chunk = b""
            if not chunk:  # the worker exited (or was killed): restarted on the next wake
                with self._lock:
                    if self._sock is sock:
                        self._sock = None
                with contextlib.suppress(OSError):
                    sock.close()
                return
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                event = Event.decode(line)
                if event is not None:
                    self._on_event(event)

    def _on_event(self, event: Event) -> None:
        if event.kind == "delivered":
            if self.outage is not None:  # a worker started after the outage began says so
                self._back(1)
            listener = self._listeners.pop(event.record_id or "", None)
            if listener is not None:
                try:
                    listener(event)
                except Exception:  # a closed card must not stop listening
                    log.debug("run card update failed", exc_info=True)
        elif event.kind == "outage":
            first = self.outage is None
            self.outage = event.error or "unavailable"
            self._outage_seen = time.monotonic()
            if first:
                self._notices.append(
                    f"mlops-nb: tracking store {event.uri} is unreachable ({event.error}); "
                    f"{event.queued} run(s) queued in {event.where}: they are delivered when it "
                    "is back (or run `mlops-nb sync`)"
                )
        elif event.kind == "back":
            if self.outage is not None:
                self._back(event.delivered)
        elif event.kind == "failed":
            self.failures.append(event)
            self._notices.append(
                f"mlops-nb: run {event.run_name!r} can never be delivered ({event.error}); it is "
                f"kept in {event.where} (`mlops-nb sync --retry-failed` tries again)"
            )

    def _back(self, delivered: int) -> None:
        self.outage = None
        self._notices.append(
            f"mlops-nb: tracking store available again; queued runs are being delivered "
            f"({delivered} so far)"
        )

    def submit(self, record_id: str, listener: Listener | None = None) -> None:
        if listener is not None:
            self._listeners[record_id] = listener
        self.wake()

    def wake(self) -> None:
        for _ in range(2):  # a dead worker is replaced once
            sock = self._ensure()
            if sock is None:
                return
            try:
                sock.send(b"\n", socket.MSG_DONTWAIT)
                return
            except BlockingIOError:  # plenty of wake-ups pending already
                return
            except OSError:
                with self._lock:
                    if self._sock is sock:
                        self._sock = None

    def notices(self) -> list[str]:
        """One-line messages for the user since the last call."""
        out, self._notices = self._notices, []
        return out

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until the outbox is empty; returns early (False) while the store is down."""
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        self.wake()
        last_wake = started
        while self.outbox.pending():
            if self.outage is not None and self._outage_seen >= started:
                return False
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                return False
            if now - last_wake > 1.0:  # restarts a worker that died meanwhile
                self.wake()
                last_wake = now
            time.sleep(0.02)
        # the worker removes a record, then says so: let run cards hear it (a record another
        # process delivered is never announced here: stop waiting for it)
        settle = time.monotonic() + LISTENER_SETTLE
        while self._listeners and time.monotonic() < settle:
            time.sleep(0.01)
        self._listeners.clear()
        return True

    def stop(self) -> None:
        """Let go of the worker: it delivers what is queued, then exits by itself."""
        with self._lock:
            sock, self._sock, self._proc = self._sock, None, None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                sock.close()
