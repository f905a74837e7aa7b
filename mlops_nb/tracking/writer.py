"""Delivery of the outbox: a background thread in the kernel, and the same loop for ``sync``.

The cell only writes a record folder (see :mod:`outbox`) and wakes the writer. The writer prepares
each record offline, checks that the tracking store answers, and delivers. When it does not
answer, records stay queued and the writer retries with backoff (1 s doubling to 30 s); nothing is
dropped. A record that keeps failing for another reason (5 attempts) is moved to ``failed/`` and
reported, so one bad record cannot hold the queue forever.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.tracking import deliver as _deliver
from mlops_nb.tracking.outbox import DeliveryState, Outbox

log = logging.getLogger("mlops_nb")
MAX_ATTEMPTS = 5
THREAD_NAME = "mlops-nb-writer"


class _NotFromWriter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return record.threadName != THREAD_NAME


_quiet_installed = False


def quiet_background() -> None:
    """Keep MLflow's warnings and log lines raised while the writer delivers out of the user's
    cell output (they would land in whichever cell runs at that moment). Other threads are
    untouched."""
    global _quiet_installed
    if _quiet_installed:
        return
    _quiet_installed = True
    import warnings

    shown = warnings.showwarning

    def showwarning(message: Any, category: Any, filename: str, lineno: int, *a: Any) -> None:
        if threading.current_thread().name == THREAD_NAME:
            log.debug("suppressed in writer: %s", message)
            return
        shown(message, category, filename, lineno, *a)

    warnings.showwarning = showwarning  # type: ignore[assignment]
    for name in ("mlflow", ""):
        for handler in logging.getLogger(name).handlers:
            handler.addFilter(_NotFromWriter())


def store_reachable(uri: str, timeout: float = 2.0) -> str | None:
    """None when the tracking store answers, else a short reason. Local stores always answer."""
    if not uri.startswith(("http://", "https://")):
        return None
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
    with Outbox.lock(folder, wait=wait) as held:
        if not held:
            status = "locked" if (folder / "record.json").exists() else "delivered"
            return Outcome(folder, status)
        record = Outbox.read(folder)
        _deliver.prepare(folder, record)
        down = store_reachable(record["tracking_uri"])
        if down:
            return Outcome(folder, "queued", record=record, error=down)
        state = DeliveryState.load(folder)
        state.attempts += 1
        try:
            state = _deliver.deliver(folder, record, state)
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


Listener = Callable[[Outcome], None]


#: held while the writer imports MLflow; a kernel's ``pre_run_cell`` waits on it, so the user's
#: code and the writer never import at the same time (concurrent imports of one package can
#: hand a thread a half-initialised module).
IMPORT_GATE = threading.Lock()


def warm_up(uri: str | None) -> None:
    """Import what delivery needs and open the store (schema creation takes ~1.3 s on a new
    sqlite file), under the import gate."""
    with IMPORT_GATE:
        import mlflow
        import mlflow.models
        import mlflow.sklearn  # noqa: F401
        from mlflow.tracking import MlflowClient

        quiet_background()
        if uri and not uri.startswith(("http://", "https://")):
            MlflowClient(uri).search_experiments(max_results=1)
        del mlflow


class BackgroundWriter:
    """A daemon thread that drains the outbox; woken by each new record.

    It starts delivering once ``go`` is set: in a kernel, after the cell that loaded the
    extension has finished (see :data:`IMPORT_GATE`).
    """

    def __init__(self, outbox: Outbox, *, go: threading.Event | None = None) -> None:
        self.outbox = outbox
        self.go = go or threading.Event()
        self.ready = threading.Event()
        self._wake = threading.Event()
        self._idle = threading.Condition()
        self._busy = False
        self._stop = False
        self._listeners: dict[str, Listener] = {}
        self._backoff = 0.0
        self.outage: str | None = None
        self.failures: list[Outcome] = []
        self._notices: list[str] = []
        self._thread = threading.Thread(target=self._run, name=THREAD_NAME, daemon=True)
        self._thread.start()

    # -- API used by the cell ------------------------------------------------------------
    def submit(self, record_id: str, listener: Listener | None = None) -> None:
        if listener is not None:
            self._listeners[record_id] = listener
        self._backoff = 0.0
        self._wake.set()

    def notices(self) -> list[str]:
        """One-line messages for the user since the last call (outage began/ended, failures)."""
        out, self._notices = self._notices, []
        return out

    def flush(self, timeout: float | None = 60.0) -> bool:
        """Wait until the outbox is empty (or only failed/locked-elsewhere records remain)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._backoff = 0.0
        self._wake.set()
        with self._idle:
            while (
                self._busy or self._wake.is_set() or (self.outbox.pending() and self.outage is None)
            ):
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(timeout=min(0.1, remaining) if remaining else 0.1)
        return not self.outbox.pending()

    def stop(self) -> None:
        self._stop = True
        self._wake.set()

    # -- the thread ----------------------------------------------------------------------
    def _run(self) -> None:
        self.go.wait()
        try:
            from mlops_nb.config import get_settings

            warm_up(get_settings().tracking_uri)
        except Exception:  # reported when delivery is attempted
            log.debug("warm-up failed", exc_info=True)
        self.ready.set()
        while not self._stop:
            self._wake.wait(timeout=self._backoff or 5.0)
            with self._idle:
                self._busy = True
                self._wake.clear()
            try:
                self._drain()
            except Exception as exc:  # never let the thread die
                log.exception("mlops-nb writer error")
                self._notices.append(f"mlops-nb: tracking writer error: {exc}")
                self._backoff = 5.0
            finally:
                with self._idle:
                    self._busy = False
                    self._idle.notify_all()

    def _drain(self) -> None:
        queued = 0
        for folder in self.outbox.pending():
            outcome = process(self.outbox, folder)
            if outcome.status == "queued":
                queued = len(self.outbox.pending())
                self._enter_outage(outcome, queued)
                return
            if outcome.status in ("retry",):
                self._backoff = 5.0
                continue
            if outcome.status == "failed":
                self.failures.append(outcome)
                self._notices.append(
                    f"mlops-nb: could not record run {outcome.record.get('run_name')!r} "
                    f"after {MAX_ATTEMPTS} attempts ({outcome.error}); it is kept in "
                    f"{self.outbox.root / 'failed'}"
                )
            if outcome.status == "delivered":
                self._leave_outage()
                listener = self._listeners.pop(outcome.record.get("record_id", ""), None)
                if listener is not None:
                    try:
                        listener(outcome)
                    except Exception:  # a closed widget must not stop delivery
                        log.debug("run card update failed", exc_info=True)
        self._backoff = 0.0 if not queued else self._backoff

    def _enter_outage(self, outcome: Outcome, queued: int) -> None:
        if self.outage is None:
            uri = outcome.record.get("tracking_uri")
            self._notices.append(
                f"mlops-nb: tracking server {uri} unreachable ({outcome.error}); {queued} run(s) "
                f"queued in {self.outbox.root}, delivered when it is back (or run `mlops-nb sync`)"
            )
        self.outage = outcome.error
        self._backoff = min(30.0, max(1.0, self._backoff * 2))

    def _leave_outage(self) -> None:
        if self.outage is not None:
            self._notices.append("mlops-nb: tracking server is back; queued runs delivered")
        self.outage = None


@dataclass
class SyncReport:
    """What ``sync`` did: counts, the runs delivered, and what is left and why."""

    delivered: list[Outcome] = field(default_factory=list)
    queued: list[Outcome] = field(default_factory=list)
    failed: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.queued and not self.failed


def sync(outbox: Outbox, *, wait: float = 30.0, attempts: int = 3) -> SyncReport:
    """Deliver everything queued, in order, from the calling thread (what ``mlops-nb sync`` runs).

    Records locked by a live writer are waited for up to ``wait`` seconds each.
    """
    report = SyncReport()
    for folder in outbox.pending():
        for _ in range(attempts):
            outcome = process(outbox, folder, wait=wait)
            if outcome.status != "retry":
                break
        if outcome.status == "delivered":
            report.delivered.append(outcome)
        elif outcome.status == "failed" or outcome.status == "retry":
            report.failed.append(outcome)
        else:
            report.queued.append(outcome)
            if outcome.status == "queued":  # the store is down: the rest would wait too
                break
    return report
