"""The delivery worker process: ``python -m mlops_nb.tracking.worker``.

Started by a kernel (``%load_ext mlops_nb``) or detached by a CLI that must return at once. It is
the only process that imports MLflow for tracking. It writes nothing to a pipe it could die on:
its output goes to its own log file (``$MLOPS_NB_HOME/worker.log``), and it talks to its kernel
over a socket pair: the kernel sends a byte when a record is queued; the worker sends
:class:`~mlops_nb.tracking.events.Event` lines back. When the kernel goes away (the socket
closes, however the kernel ended) the worker keeps delivering until the outbox is empty or its
grace period (``MLOPS_NB_EXIT_FLUSH_TIMEOUT``, 30 s) ends; the rest waits for ``mlops-nb sync``
or the next kernel. A detached worker (no socket) behaves the same from the start.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlops_nb.tracking.events import Event
from mlops_nb.tracking.outbox import Outbox

log = logging.getLogger("mlops_nb")
LOG_FILE = "worker.log"
IDLE_POLL = 5.0  # how often an idle worker looks for records queued by other processes
#: where Linux's SCHED_BATCH is missing, the worker runs this much nicer than its kernel
NICENESS = 5
OUTAGE_AFTER = 3  # transient failures in a row (the store answers but cannot take records)
MAX_BACKOFF = 30.0


def log_path(home: Path) -> Path:
    """The worker's log file: in ``home``, or in the temp folder when ``home`` is not writable."""
    for folder in (home, Path(tempfile.gettempdir()) / f"mlops-nb-{os.getuid()}"):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / LOG_FILE, "ab"):
                return folder / LOG_FILE
        except OSError:
            continue
    return Path(os.devnull)


def spawn(
    outbox: Outbox,
    home: Path,
    channel: socket.socket | None = None,
    *,
    warm_uri: str | None = None,
) -> subprocess.Popen[bytes]:
    """Start a worker in its own session (a kernel interrupt or shutdown spares it). With
    ``warm_uri``, it imports what delivering to that store needs before the first record
    arrives (the store itself is opened by the first delivery)."""
    command = [sys.executable, "-m", "mlops_nb.tracking.worker", "--spool", str(outbox.root)]
    command += ["--home", str(home)]
    if warm_uri:
        command += ["--warm-uri", warm_uri]
    if channel is not None:
        command += ["--channel-fd", str(channel.fileno())]
    with open(log_path(home), "ab") as logfile:
        proc = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=logfile,
            stderr=logfile,
            start_new_session=True,
            close_fds=True,
            pass_fds=(channel.fileno(),) if channel is not None else (),
        )
    yield_to_kernel(proc.pid)  # from its first instruction on
    return proc


def yield_to_kernel(pid: int) -> None:
    """Schedule the worker as a batch process: woken by a cell, it does not preempt the kernel
    that is still finishing that cell (Linux would otherwise favour the waking process), yet it
    keeps its fair share of the CPU, so delivery does not starve on a busy machine. Without
    SCHED_BATCH (macOS), a mildly lower priority instead."""
    try:
        if hasattr(os, "sched_setscheduler") and hasattr(os, "SCHED_BATCH"):
            os.sched_setscheduler(pid, os.SCHED_BATCH, os.sched_param(0))
        else:
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + NICENESS)
    except OSError:
        log.debug("could not lower the worker's priority", exc_info=True)


def deliver_detached(outbox: Outbox, home: Path) -> None:
    """Deliver what is queued from a detached worker, so the caller returns at once without
    importing MLflow. What it cannot deliver within its grace period stays for ``sync``."""
    spawn(outbox, home)


class Drainer:
    """The worker's loop body: deliver what is pending, emit events, compute the next wait."""

    def __init__(self, outbox: Outbox, emit: Callable[[Event], None], home: Path | None) -> None:
        self.outbox = outbox
        self.emit = emit
        self.home = home
        self.backoff = 0.0
        self.outage: str | None = None
        self._transient_streak = 0
        self._delivered_in_outage = 0

    def drain(self) -> None:
        from mlops_nb.tracking import previous
        from mlops_nb.tracking.delivery import Status, safe_process

        waiting = progressed = False
        queued_error: str | None = None
        for folder in self.outbox.pending():
            outcome = safe_process(self.outbox, folder)
            status = outcome.status
            log.debug("%s: %s %s", folder.name, status.value, outcome.error or "")
            if status is Status.QUEUED:
                self._transient_streak += 1
                if outcome.unreachable or self._transient_streak >= OUTAGE_AFTER:
                    self._begin_outage(outcome.record.get("tracking_uri"), outcome.error)
                queued_error = outcome.error
                break  # the rest would wait for the same store
            if status in (Status.RETRY, Status.WAITING, Status.LOCKED):
                waiting = True
            elif status is Status.FAILED:
                progressed = True
                self.emit(
                    Event(
                        "failed",
                        record_id=outcome.record.get("record_id"),
                        run_name=outcome.record.get("run_name"),
                        error=outcome.error,
                        where=str(outcome.folder.parent),
                    )
                )
            elif status is Status.DELIVERED and outcome.run_id:
                progressed = True
                self._transient_streak = 0
                self._delivered_in_outage += 1
                if self.home is not None:
                    previous.remember(self.home / previous.FILE, outcome.record)
                self.emit(
                    Event(
                        "delivered",
                        record_id=outcome.record.get("record_id"),
                        run_id=outcome.run_id,
                        experiment_id=outcome.experiment_id,
                        run_name=outcome.record.get("run_name"),
                    )
                )
        if queued_error is not None:
            self.backoff = min(MAX_BACKOFF, max(0.25, self.backoff * 2))
            return
        self._transient_streak = 0
        if self.outage is not None:
            self.outage = None
            log.info("store available again: %d run(s) delivered", self._delivered_in_outage)
            self.emit(Event("back", delivered=self._delivered_in_outage))
        self.backoff = 0.0 if progressed else (1.0 if waiting else 0.0)

    def _begin_outage(self, uri: str | None, error: str | None) -> None:
        if self.outage is None:
            log.info("store %s unavailable (%s): runs stay queued", uri, error)
            self._delivered_in_outage = 0
            self.emit(
                Event(
                    "outage",
                    uri=uri,
                    error=error,
                    queued=len(self.outbox.pending()),
                    where=str(self.outbox.root),
                )
            )
        self.outage = error or "unavailable"


class Channel:
    """The worker's end of the socket pair to its kernel; closed for good on the first error."""

    def __init__(self, fd: int | None) -> None:
        self.sock = socket.socket(fileno=fd) if fd is not None else None
        if self.sock is not None:
            self.sock.settimeout(5.0)  # a kernel that stopped reading must not stall delivery

    @property
    def open(self) -> bool:
        return self.sock is not None

    def send(self, event: Event) -> None:
        if self.sock is None:
            return
        try:
            self.sock.sendall(event.encode())
        except OSError:
            self.close()

    def wait(self, timeout: float) -> None:
        """Sleep until woken by the kernel or ``timeout``; notices the kernel going away."""
        if self.sock is None:
            time.sleep(timeout)
            return
        try:
            ready, _, _ = select.select([self.sock], [], [], timeout)
            if ready and not self.sock.recv(4096):
                self.close()
        except OSError:
            self.close()

    def close(self) -> None:
        if self.sock is not None:
            with contextlib.suppress(OSError):
                self.sock.close()
            self.sock = None
            log.info("kernel gone: delivering what is queued, then exiting")


def run(
    outbox: Outbox, home: Path, channel: Channel, grace: float, warm_uri: str | None = None
) -> int:
    """Deliver until the kernel is gone and the outbox is empty (or the grace period ends)."""
    from mlops_nb.tracking import store

    store.use_delivery_defaults()
    outbox.remove_stale_temporaries()
    if warm_uri:
        try:
            store.warm_up(warm_uri)
            log.info("ready: MLflow imported")
        except Exception as exc:  # delivery will say what is wrong with the store
            log.info("could not open %s yet: %s", warm_uri, exc)
    drainer = Drainer(outbox, channel.send, home)
    deadline: float | None = None
    while True:
        try:
            drainer.drain()
        except Exception:
            log.exception("delivery pass failed")
            drainer.backoff = max(drainer.backoff, 5.0)
        pending = bool(outbox.pending())
        if not channel.open:
            if deadline is None:
                deadline = time.monotonic() + grace
            if not pending or time.monotonic() >= deadline:
                return 0 if not pending else 1
        if pending and drainer.backoff == 0.0:
            continue
        wait = drainer.backoff or IDLE_POLL
        if deadline is not None:
            wait = max(0.0, min(wait, deadline - time.monotonic()))
        channel.wait(wait)


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m mlops_nb.tracking.worker")
    parser.add_argument("--spool", required=True)
    parser.add_argument("--home", required=True)
    parser.add_argument("--channel-fd", type=int, help="socket to the kernel that started it")
    parser.add_argument("--once", action="store_true", help="no kernel: deliver, then exit")
    parser.add_argument("--warm-uri", help="import what delivering here needs, early")
    args = parser.parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO,
        format=f"%(asctime)s worker[{os.getpid()}] %(levelname)s %(message)s",
    )
    log.setLevel(logging.DEBUG)  # our tracebacks belong in this log file
    grace = float(os.environ.get("MLOPS_NB_EXIT_FLUSH_TIMEOUT", "30"))
    channel = Channel(None if args.once else args.channel_fd)
    log.info("started for %s (kernel %s)", args.spool, "attached" if channel.open else "none")
    code = run(Outbox(Path(args.spool)), Path(args.home), channel, grace, args.warm_uri)
    log.info("exiting (%s)", "outbox empty" if code == 0 else "grace period over, runs queued")
    return code


if __name__ == "__main__":
    sys.exit(main())
