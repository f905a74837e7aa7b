"""Delivery of the outbox, off the kernel: a worker process per kernel, and ``sync``.

The cell only writes a record folder (see :mod:`outbox`) and tells the worker. The worker
(``python -m mlops_nb.tracking.worker``) is a separate process, so MLflow is never imported in
the kernel: no import time, no GIL taken from the user's code, no MLflow warnings in cell output.
It prepares each record offline, checks that the tracking store answers, and delivers. When the
store does not answer, records stay queued and the worker retries with backoff (1 s doubling to
30 s); nothing is dropped. A record that keeps failing for another reason (5 attempts) is moved
to ``failed/`` and reported, so one bad record cannot hold the queue forever.

The worker reports on stdout, one JSON object a line: ``delivered``, ``outage``, ``back``,
``failed``. The kernel side (:class:`BackgroundWriter`) reads them on a thread that sleeps in
``readline`` and updates run cards and the one-line notices shown to the user.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mlops_nb.tracking.outbox import DeliveryState, Outbox

log = logging.getLogger("mlops_nb")
MAX_ATTEMPTS = 5


def store_reachable(uri: str, timeout: float = 2.0) -> str | None:
    """None when the tracking store answers, else a short reason. Local stores always answer."""
    if not uri.startswith(("http://", "https://")):
        return None
    import urllib.request  # here: the CLI queues records through this module, and must start fast

    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as resp:
            return None if resp.status < 500 else f"HTTP {resp.status}"
    except Exception as exc:
        return f"{type(exc).__name__}: {getattr(exc, 'reason', exc)}"


@dataclass
class Outcome:
    """What happened to one record in one attempt."""

    folder: Path
    status: str  # delivered | queued | locked | failed | retry
    run_id: str | None = None
    experiment_id: str | None = None
    record: dict[str, Any] = field(default_factory=dict)
    error: str | None = None


def process(outbox: Outbox, folder: Path, *, wait: float = 0.0) -> Outcome:
    """One attempt at one record, under its lock."""
    from mlops_nb.tracking import deliver

    with Outbox.lock(folder, wait=wait) as held:
        if not held:
            status = "locked" if (folder / "record.json").exists() else "delivered"
            return Outcome(folder, status)
        record = Outbox.read(folder)
        deliver.prepare(folder, record)
        down = store_reachable(record["tracking_uri"])
        if down:
            return Outcome(folder, "queued", record=record, error=down)
        state = DeliveryState.load(folder)
        state.attempts += 1
        try:
            state = deliver.deliver(folder, record, state)
        except deliver.ParentNotDelivered as exc:  # waits for its parent; never quarantined
            state.attempts -= 1
            state.last_error = str(exc)
            state.save(folder)
            return Outcome(folder, "retry", record=record, error=state.last_error)
        except Exception as exc:
            down = store_reachable(record["tracking_uri"])
            if down:
                state.attempts -= 1
                state.save(folder)
                return Outcome(folder, "queued", record=record, error=down)
            state.last_error = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            state.save(folder)
            if state.attempts >= MAX_ATTEMPTS:
                outbox.quarantine(folder)
                return Outcome(folder, "failed", record=record, error=state.last_error)
            return Outcome(folder, "retry", record=record, error=state.last_error)
        outbox.complete(folder)
        return Outcome(folder, "delivered", state.run_id, state.experiment_id, record)


@dataclass
class SyncReport:
    """What ``sync`` did: the runs delivered, and what is left and why."""

    delivered: list[Outcome] = field(default_factory=list)
    queued: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.queued and not self.failed


def sync(outbox: Outbox, *, wait: float = 30.0, attempts: int = 3) -> SyncReport:
    """Deliver everything queued, in order, from the calling thread (what ``mlops-nb sync`` runs).

    Records locked by a live worker are waited for up to ``wait`` seconds each.
    """
    report = SyncReport()
    for folder in outbox.pending():
        outcome = process(outbox, folder, wait=wait)
        for _ in range(attempts - 1):
            if outcome.status != "retry":
                break
            outcome = process(outbox, folder, wait=wait)
        if outcome.status == "delivered":
            report.delivered.append(outcome)
        elif outcome.status in ("failed", "retry"):
            report.failed.append(outcome)
        else:
            report.queued.append(outcome)
            if outcome.status == "queued":  # the store is down: the rest would wait too
                break
    return report


# ------------------------------------------------------------------------------------------
# the worker process


class Drainer:
    """The worker's loop body: deliver what is pending, emit events, compute the next wait."""

    def __init__(
        self, outbox: Outbox, emit: Callable[[dict[str, Any]], None], home: Path | None = None
    ) -> None:
        self.outbox = outbox
        self.emit = emit
        self.home = home
        self.backoff = 0.0
        self.outage: str | None = None

    def drain(self) -> None:
        retry = False
        for folder in self.outbox.pending():
            outcome = process(self.outbox, folder)
            if outcome.status == "queued":
                self.emit(
                    {
                        "event": "outage",
                        "uri": outcome.record.get("tracking_uri"),
                        "error": outcome.error,
                        "queued": len(self.outbox.pending()),
                    }
                )
                self.outage = outcome.error
                self.backoff = min(30.0, max(1.0, self.backoff * 2))
                return
            if outcome.status == "retry":
                retry = True
            elif outcome.status == "failed":
                self.emit(
                    {
                        "event": "failed",
                        "record_id": outcome.record.get("record_id"),
                        "run_name": outcome.record.get("run_name"),
                        "error": outcome.error,
                        "where": str(self.outbox.root / "failed"),
                    }
                )
            elif outcome.status == "delivered" and outcome.run_id:
                if self.home is not None:
                    from mlops_nb.tracking.session import remember_metrics

                    remember_metrics(self.home / "last_metrics.json", outcome.record)
                if self.outage is not None:
                    self.outage = None
                    self.emit({"event": "back"})
                self.emit(
                    {
                        "event": "delivered",
                        "record_id": outcome.record.get("record_id"),
                        "run_id": outcome.run_id,
                        "experiment_id": outcome.experiment_id,
                    }
                )
        self.backoff = 5.0 if retry else 0.0


def deliver_detached(outbox: Outbox, home: Path) -> None:
    """Deliver what is queued from a detached process, so the caller (a CLI that must stay fast)
    returns at once without importing MLflow. What it cannot deliver stays for ``sync``."""
    home.mkdir(parents=True, exist_ok=True)
    with open(home / "worker.log", "ab") as log_file:
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlops_nb.tracking.worker",
                "--spool",
                str(outbox.root),
                "--home",
                str(home),
                "--once",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
            start_new_session=True,
            close_fds=True,
        )


def worker_main(spool: str, home: str, exit_timeout: float, *, once: bool = False) -> int:
    """Run until stdin closes (the kernel exited), then deliver for up to ``exit_timeout`` s.
    With ``once``, deliver what is queued now and exit."""
    if once:
        drainer = Drainer(Outbox(Path(spool)), lambda event: None, Path(home))
        drainer.drain()
        return 0 if not drainer.outbox.pending() else 1
    import select

    out = os.fdopen(os.dup(1), "w")  # events only; anything else printed goes to the log
    os.dup2(2, 1)
    lock = threading.Lock()

    def emit(event: dict[str, Any]) -> None:
        with lock:
            out.write(json.dumps(event) + "\n")
            out.flush()

    drainer = Drainer(Outbox(Path(spool)), emit, Path(home))
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([stdin], [], [], drainer.backoff or 5.0)
        if ready:
            line = stdin.readline()
            if not line:  # the kernel is gone
                break
        try:
            drainer.drain()
        except Exception:
            log.exception("mlops-nb worker error")
            drainer.backoff = 5.0
    deadline = time.monotonic() + exit_timeout
    while drainer.outbox.pending() and time.monotonic() < deadline and drainer.outage is None:
        drainer.drain()
    return 0


# ------------------------------------------------------------------------------------------
# the kernel side

Listener = Callable[[dict[str, Any]], None]


class BackgroundWriter:
    """Starts the worker process and listens to it; never blocks the cell."""

    def __init__(self, outbox: Outbox, home: Path) -> None:
        self.outbox = outbox
        self.home = home
        self.outage: str | None = None
        self.failures: list[dict[str, Any]] = []
        self._notices: list[str] = []
        self._listeners: dict[str, Listener] = {}
        self._lock = threading.Lock()
        self._proc: subprocess.Popen[bytes] | None = None
        self._outage_seen = 0.0
        self._ensure()

    def _ensure(self) -> subprocess.Popen[bytes]:
        with self._lock:
            if self._proc is not None and self._proc.poll() is None:
                return self._proc
            self.home.mkdir(parents=True, exist_ok=True)
            logfile = open(self.home / "worker.log", "ab")  # noqa: SIM115 - owned by the child
            self._proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "mlops_nb.tracking.worker",
                    "--spool",
                    str(self.outbox.root),
                    "--home",
                    str(self.home),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=logfile,
                start_new_session=True,  # a kernel interrupt (SIGINT to its group) spares it
                close_fds=True,
            )
            logfile.close()
            assert self._proc.stdout is not None
            threading.Thread(
                target=self._listen,
                args=(self._proc.stdout,),
                name="mlops-nb-listener",
                daemon=True,
            ).start()
            return self._proc

    def _listen(self, stream: IO[bytes]) -> None:
        for raw in iter(stream.readline, b""):
            try:
                event = json.loads(raw)
            except ValueError:
                continue
            kind = event.get("event")
            if kind == "delivered":
                self.outage = None
                listener = self._listeners.pop(event.get("record_id", ""), None)
                if listener is not None:
                    try:
                        listener(event)
                    except Exception:  # a closed card must not stop listening
                        log.debug("run card update failed", exc_info=True)
            elif kind == "outage":
                first = self.outage is None
                self.outage = event.get("error") or "unreachable"
                self._outage_seen = time.monotonic()
                if first:
                    self._notices.append(
                        f"mlops-nb: tracking server {event.get('uri')} unreachable "
                        f"({event.get('error')}); {event.get('queued')} run(s) queued in "
                        f"{self.outbox.root}, delivered when it is back (or run `mlops-nb sync`)"
                    )
            elif kind == "back":
                self.outage = None
                self._notices.append("mlops-nb: tracking server is back; queued runs delivered")
            elif kind == "failed":
                self.failures.append(event)
                self._notices.append(
                    f"mlops-nb: could not record run {event.get('run_name')!r} after "
                    f"{MAX_ATTEMPTS} attempts ({event.get('error')}); kept in {event.get('where')}"
                )

    def submit(self, record_id: str, listener: Listener | None = None) -> None:
        if listener is not None:
            self._listeners[record_id] = listener
        self.wake()

    def wake(self) -> None:
        try:
            proc = self._ensure()
            assert proc.stdin is not None
            proc.stdin.write(b"\n")
            proc.stdin.flush()
        except (OSError, ValueError):  # the worker died: restart it next time
            self._proc = None

    def notices(self) -> list[str]:
        """One-line messages for the user since the last call (outage began/ended, failures)."""
        out, self._notices = self._notices, []
        return out

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until the outbox is empty; returns early (False) while the store is down."""
        started = time.monotonic()
        deadline = None if timeout is None else started + timeout
        self.wake()
        while self.outbox.pending():
            if self.outage is not None and self._outage_seen >= started:
                return False
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def stop(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None and proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mlops_nb.tracking.worker")
    parser.add_argument("--spool", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--once", action="store_true", help="deliver what is queued, then exit")
    args = parser.parse_args(argv)
    timeout = float(os.environ.get("MLOPS_NB_EXIT_FLUSH_TIMEOUT", "30"))
    return worker_main(args.spool, args.home, timeout, once=args.once)
