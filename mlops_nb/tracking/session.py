"""The per-process tracking core shared by ``%%track`` and :func:`mlops_nb.track`.

:meth:`TrackingSession.record` turns one executed block into an outbox record and a run card;
it never raises into the user's code: a failure inside tracking is reported once and the cell's
own outcome stands.
"""

from __future__ import annotations

import contextlib
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
from mlops_nb.tracking.writer import BackgroundWriter

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
    """The metrics of the previous run of each cell. Read once from the file the delivery worker
    keeps (so it survives kernel restarts), then kept in memory; the kernel never writes it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, dict[str, float]] | None = None

    def swap(self, key: str, metrics: dict[str, float]) -> dict[str, float] | None:
        """Note this run's metrics for ``key``; return the previous run's."""
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._data = {}
        previous = self._data.get(key)
        self._data[key] = dict(metrics)
        return previous


def remember_metrics(path: Path, record: dict[str, Any]) -> None:
    """Worker side: persist a delivered run's metrics as its cell's "previous run"."""
    key = f"{record['context'].get('notebook')}::{record['tags'].get('mlops_nb.cell_key')}"
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[key] = record["metrics"]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data))
    os.replace(tmp, path)


class TrackingSession:
    """Outbox, background writer and per-cell memory of one process."""

    def __init__(self) -> None:
        settings = get_settings()
        self.outbox = Outbox(settings.spool_dir)
        self.home = settings.home
        self._writer: BackgroundWriter | None = None
        self.last_metrics = LastMetrics(settings.home / "last_metrics.json")
        self._param_names: dict[str, list[str]] = {}
        self._reported: set[str] = set()

    @property
    def writer(self) -> BackgroundWriter:
        if self._writer is None:
            self._writer = BackgroundWriter(self.outbox, self.home)
        return self._writer

    def start(self) -> None:
        """Start the delivery worker (a separate process: it imports MLflow, not the kernel).
        When the kernel exits, the worker keeps delivering what is queued for up to
        ``MLOPS_NB_EXIT_FLUSH_TIMEOUT`` seconds (default 30); the rest waits for ``sync``."""
        _ = self.writer

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
            key = f"{notebook.path if run.log_notebook else None}::{run.cell_key}"
            previous = self.last_metrics.swap(key, run.capture.metrics)
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

    def on_delivered(event: dict[str, Any]) -> None:
        run_id, experiment_id = event.get("run_id"), event.get("experiment_id")
        if run_id and experiment_id:
            card.show_delivered(run_id, settings.run_url(experiment_id, run_id))

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
