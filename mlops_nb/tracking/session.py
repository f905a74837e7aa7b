"""The per-process tracking core shared by ``%%track`` and :func:`mlops_nb.track`.

:meth:`TrackingSession.record` turns one executed block into an outbox record and a run card; it
never raises into the user's code: a failure inside tracking is reported in one line and the
cell's own outcome stands. When the outbox cannot be written (a full disk, a read-only folder)
the records wait in memory (bounded) and are written, in order, as soon as it can be again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.tracking import context
from mlops_nb.tracking.client import WorkerClient
from mlops_nb.tracking.diskio import disk_problem
from mlops_nb.tracking.outbox import Outbox, Writer
from mlops_nb.tracking.previous import FILE as LAST_METRICS_FILE
from mlops_nb.tracking.previous import LastMetrics, key_of
from mlops_nb.tracking.recorder import CellRun, build, materialize

log = logging.getLogger("mlops_nb")
BACKLOG_RECORDS = 200
BACKLOG_BYTES = 256 * 1024 * 1024
BACKLOG_RETRY_SECONDS = 2.0


def cell_key(source: str, cell_id: str | None, name: str | None) -> str:
    """What identifies "the same cell" across runs: its notebook cell id, else its name, else a
    hash of its source."""
    if cell_id:
        return cell_id
    if name:
        return f"name:{name}"
    return "src:" + hashlib.sha1(source.strip().encode()).hexdigest()[:12]


@dataclass
class _Held:
    record: dict[str, Any]
    files: dict[str, bytes]
    size: int


class TrackingSession:
    """Outbox, delivery worker client and per-cell memory of one process."""

    def __init__(self) -> None:
        settings = get_settings()
        self.outbox = Outbox(settings.spool_dir)
        self.home = settings.home
        self._client: WorkerClient | None = None
        self.last_metrics = LastMetrics(settings.home / LAST_METRICS_FILE)
        self._param_names: dict[str, list[str]] = {}
        self._reported: set[str] = set()
        self._notices: list[str] = []
        self._held: deque[_Held] = deque()
        self._held_bytes = 0
        self._held_problem: str | None = None
        self._held_tried = 0.0

    @property
    def client(self) -> WorkerClient:
        if self._client is None:
            self._client = WorkerClient(self.outbox, self.home, get_settings().tracking_uri)
        return self._client

    writer = client  # the name the magics and tests used

    def start(self) -> None:
        """Start the delivery worker (a separate process: it imports MLflow, not the kernel).
        When the kernel exits, the worker keeps delivering what is queued for up to
        ``MLOPS_NB_EXIT_FLUSH_TIMEOUT`` seconds (default 30); the rest waits for ``sync``.
        Never raises: a worker that cannot start is reported in one line."""
        try:
            self.client.start()
        except Exception as exc:
            self.report_once("start", f"mlops-nb: the delivery worker did not start: {exc}")

    def parameter_names(self, notebook: str | None) -> list[str]:
        """Papermill parameter names: ``MLOPS_NB_PARAMETERS`` plus the notebook's tagged cell."""
        names: list[str] = []
        env = os.environ.get("MLOPS_NB_PARAMETERS")
        if env:
            with contextlib.suppress(ValueError):
                names.extend(json.loads(env))
        if notebook:
            if notebook not in self._param_names:
                self._param_names[notebook] = context.notebook_parameter_names(notebook)
            names.extend(n for n in self._param_names[notebook] if n not in names)
        return names

    def record(self, run: CellRun, *, card: Any = None) -> Any:
        """Queue ``run`` for delivery and return its run card (or None if tracking failed)."""
        try:
            settings = get_settings()
            notebook = context.detect_notebook(run.namespace)
            if run.experiment is None:
                run.experiment = settings.experiment or os.environ.get("MLOPS_NB_EXPERIMENT")
            record, files = build(
                run,
                tracking_uri=settings.tracking_uri,
                notebook=notebook,
                parent_run_id=os.environ.get("MLOPS_NB_PARENT_RUN_ID"),
                parent_record_id=os.environ.get("MLOPS_NB_PARENT_RECORD_ID"),
            )
            if not record["run_name"]:
                record["run_name"] = _default_name(run)
            key = key_of(notebook.path if run.log_notebook else None, run.cell_key)
            previous = self.last_metrics.swap(key, run.capture.metrics)
            queued = self._queue(record, files)
            if card is not None:
                where = str(self.outbox.root) if queued else "memory (the outbox is not writable)"
                card.show_record(record, previous, queued_in=where)
            if queued:
                self.client.submit(record["record_id"], _listener(card, settings))
            return card
        except Exception as exc:  # tracking must never break the cell
            self.report_once("record", f"mlops-nb: this cell was not tracked: {exc}")
            log.debug("tracking failed", exc_info=True)
            return None

    # -- the outbox, or memory while the outbox cannot be written -----------------------------

    def _queue(self, record: dict[str, Any], files: dict[str, bytes | Writer]) -> bool:
        """Write the record (after any held ones); True when it is in the outbox."""
        if self._held and not self._write_held():
            self._hold(record, files)
            return False
        try:
            self.outbox.put(record, files)
            return True
        except OSError as exc:
            problem = disk_problem(exc)
            if problem is None:
                raise
            self._held_problem = problem
            self._notices.append(
                f"mlops-nb: cannot write to the outbox {self.outbox.root} ({problem}): this run "
                "is kept in memory and queued as soon as it can be written (or set "
                "MLOPS_NB_SPOOL_DIR to a writable folder)"
            )
            self._hold(record, files)
            return False

    def _hold(self, record: dict[str, Any], files: dict[str, bytes | Writer]) -> None:
        data = materialize(files)
        size = sum(len(v) for v in data.values())
        while self._held and (
            len(self._held) >= BACKLOG_RECORDS or self._held_bytes + size > BACKLOG_BYTES
        ):
            dropped = self._held.popleft()
            self._held_bytes -= dropped.size
            self._notices.append(
                f"mlops-nb: run {dropped.record.get('run_name')!r} dropped: too many runs waiting "
                "in memory for the outbox"
            )
        self._held.append(_Held(record, data, size))
        self._held_bytes += size
        self._held_tried = time.monotonic()

    def _write_held(self) -> bool:
        """Write held records, oldest first; True when none is left."""
        self._held_tried = time.monotonic()
        written = 0
        while self._held:
            held = self._held[0]
            try:
                self.outbox.put(held.record, dict(held.files))
            except OSError:
                break
            self._held.popleft()
            self._held_bytes -= held.size
            written += 1
        if written:
            self.client.wake()
        if not self._held and self._held_problem is not None:
            self._held_problem = None
            self._notices.append(
                f"mlops-nb: the outbox {self.outbox.root} can be written again; "
                f"{written} run(s) kept in memory are queued"
            )
        return not self._held

    @property
    def held(self) -> int:
        """Runs waiting in memory because the outbox could not be written."""
        return len(self._held)

    def tick(self) -> None:
        """After every cell: queue held runs when possible, restart a dead worker if runs wait,
        and print what the user should know."""
        try:
            if self._held and time.monotonic() - self._held_tried >= BACKLOG_RETRY_SECONDS:
                self._write_held()
            if self._client is not None and not self._client.alive and self.outbox.pending():
                self._client.wake()
        except Exception:
            log.debug("tracking tick failed", exc_info=True)
        for notice in self.notices():
            print(notice, file=sys.stderr)

    def notices(self) -> list[str]:
        out, self._notices = self._notices, []
        if self._client is not None:
            out += self._client.notices()
        return out

    def report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            print(message, file=sys.stderr)

    def flush(self, timeout: float | None = 60.0) -> bool:
        if self._held:
            self._write_held()
        return self.client.flush(timeout) and not self._held


def _default_name(run: CellRun) -> str:
    if run.capture.models:
        return type(run.capture.models[0].model).__name__
    if run.execution_count:
        return f"cell-{run.execution_count}"
    return f"cell-{time.strftime('%H%M%S')}"


def _listener(card: Any, settings: Any) -> Any:
    if card is None:
        return None

    def on_delivered(event: Any) -> None:
        if event.run_id and event.experiment_id:
            card.show_delivered(event.run_id, settings.run_url(event.experiment_id, event.run_id))

    return on_delivered


_session: TrackingSession | None = None
_session_lock = threading.Lock()


def get_session() -> TrackingSession:
    global _session
    with _session_lock:
        if _session is None:
            _session = TrackingSession()
        return _session


def reset_session() -> None:
    """Forget the session (tests, or after ``%mlops config`` changes the spool)."""
    global _session
    with _session_lock:
        if _session is not None and _session._client is not None:
            _session._client.stop()
        _session = None


def namespace_params(names: list[str], namespace: Mapping[str, Any]) -> dict[str, Any]:
    return {n: namespace[n] for n in names if n in namespace}
