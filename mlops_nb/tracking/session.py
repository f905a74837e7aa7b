"""The per-process tracking core shared by ``%%track`` and :func:`mlops_nb.track`.

:meth:`TrackingSession.record` turns one executed block into an outbox record and a run card;
it never raises into the user's code: a failure inside tracking is reported once and the cell's
own outcome stands.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.tracking import context
from mlops_nb.tracking.outbox import Outbox
from mlops_nb.tracking.recorder import CellRun, build
from mlops_nb.tracking.writer import BackgroundWriter, Outcome

log = logging.getLogger("mlops_nb")


def cell_key(source: str, cell_id: str | None, name: str | None) -> str:
    """What identifies "the same cell" across runs: its notebook cell id, else its name, else a
    hash of its source."""
    if cell_id:
        return cell_id
    if name:
        return f"name:{name}"
    return "src:" + hashlib.sha1(source.strip().encode()).hexdigest()[:12]


class LastMetrics:
    """The metrics of the previous run of each cell, kept across kernel restarts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, dict[str, float]] | None = None
        self._lock = threading.Lock()

    def _load(self) -> dict[str, dict[str, float]]:
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._data = {}
        return self._data

    def swap(self, key: str, metrics: dict[str, float]) -> dict[str, float] | None:
        """Store this run's metrics for ``key``; return the previous run's."""
        with self._lock:
            data = self._load()
            previous = data.get(key)
            data[key] = dict(metrics)
        threading.Thread(target=self._save, daemon=True).start()
        return previous

    def _save(self) -> None:
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                tmp = self.path.with_suffix(f".{os.getpid()}.tmp")
                tmp.write_text(json.dumps(self._data or {}))
                os.replace(tmp, self.path)
            except OSError:
                pass


class TrackingSession:
    """Outbox, background writer and per-cell memory of one process."""

    def __init__(self) -> None:
        settings = get_settings()
        self.outbox = Outbox(settings.spool_dir)
        self._writer: BackgroundWriter | None = None
        self.go = threading.Event()
        self.last_metrics = LastMetrics(settings.home / "last_metrics.json")
        self._param_names: dict[str, list[str]] = {}
        self._reported: set[str] = set()

    @property
    def writer(self) -> BackgroundWriter:
        if self._writer is None:
            self._writer = BackgroundWriter(self.outbox, go=self.go)
        return self._writer

    def start(self, *, idle: bool = True) -> None:
        """Start the writer thread. With ``idle`` it may import MLflow right away; in a kernel
        the magics call :meth:`idle` once the current cell has finished instead."""
        _ = self.writer
        atexit.register(self._flush_at_exit)
        if idle:
            self.go.set()

    def idle(self) -> None:
        """The kernel is between cells: the writer may import MLflow now."""
        self.go.set()

    def _flush_at_exit(self) -> None:
        """Give queued runs a few seconds when the kernel exits; the rest stay in the outbox for
        ``mlops-nb sync`` (``MLOPS_NB_EXIT_FLUSH_TIMEOUT``, default 4 s: less than the 5 s a
        Jupyter client waits before killing a kernel)."""
        if self._writer is not None and self.outbox.pending():
            self._writer.flush(float(os.environ.get("MLOPS_NB_EXIT_FLUSH_TIMEOUT", "4")))

    def parameter_names(self, notebook: str | None) -> list[str]:
        """Papermill parameter names: ``MLOPS_NB_PARAMETERS`` plus the notebook's tagged cell."""
        names: list[str] = []
        env = os.environ.get("MLOPS_NB_PARAMETERS")
        if env:
            try:
                names.extend(json.loads(env))
            except ValueError:
                pass
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
            )
            if not record["run_name"]:
                record["run_name"] = _default_name(run)
            previous = self.last_metrics.swap(f"{notebook.path}::{run.cell_key}", run.capture.metrics)
            self.outbox.put(record, files)
            if card is not None:
                card.show_record(record, previous, queued_in=str(self.outbox.root))
            self.writer.submit(record["record_id"], _listener(card, settings))
            return card
        except Exception as exc:  # tracking must never break the cell
            self.report_once("record", f"mlops-nb: this cell was not tracked: {exc}")
            log.debug("tracking failed", exc_info=True)
            return None

    def notices(self) -> list[str]:
        return self._writer.notices() if self._writer is not None else []

    def report_once(self, key: str, message: str) -> None:
        if key not in self._reported:
            self._reported.add(key)
            import sys

            print(message, file=sys.stderr)

    def flush(self, timeout: float | None = 60.0) -> bool:
        return self.writer.flush(timeout)


def _default_name(run: CellRun) -> str:
    if run.capture.models:
        return type(run.capture.models[0].model).__name__
    if run.execution_count:
        return f"cell-{run.execution_count}"
    return f"cell-{time.strftime('%H%M%S')}"


def _listener(card: Any, settings: Any) -> Any:
    if card is None:
        return None

    def on_delivered(outcome: Outcome) -> None:
        if outcome.run_id and outcome.experiment_id:
            card.show_delivered(
                outcome.run_id, settings.run_url(outcome.experiment_id, outcome.run_id)
            )

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
        if _session is not None and _session._writer is not None:
            _session._writer.stop()
        _session = None


def namespace_params(names: list[str], namespace: Mapping[str, Any]) -> dict[str, Any]:
    return {n: namespace[n] for n in names if n in namespace}
