"""The durable outbox: every tracked cell becomes a folder on disk before anything is sent.

Layout (one folder per run, named so that sorting gives creation order)::

    <spool>/20261122T071502123456-<record_id>/
        record.json      what to log (params, metrics, tags, models, datasets, artifacts)
        state.json       delivery progress: run id, stages done, attempts, last error
        artifacts/       files logged as run artifacts (cell source, traceback, figures, ...)
        models/          pickled fitted models and their input examples
        .lock            held (``filelock``) by whoever delivers the record: one at a time
    <spool>/failed/<same name>/   records that can never be delivered, with the reason in
                                  state.json (``mlops-nb sync --retry-failed`` puts them back)

A record folder appears atomically (written under ``.tmp-*`` and renamed) and is removed once
fully delivered. Several kernels, their workers and ``mlops-nb sync`` can share one spool: the
lock makes delivery exactly-once. Nothing here talks to MLflow.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from mlops_nb.tracking.diskio import atomic_write

RECORD = "record.json"
STATE = "state.json"
FAILED_DIR = "failed"
STALE_TMP_SECONDS = 3600.0


def new_record_id() -> str:
    return uuid.uuid4().hex


class UnreadableRecord(ValueError):
    """A record folder whose ``record.json`` is missing, truncated or not a record: it can never
    be delivered."""


@dataclass
class DeliveryState:
    """How far a record got; resumed from on the next attempt."""

    run_id: str | None = None
    experiment_id: str | None = None
    artifact_uri: str | None = None
    creating: bool = False  # a run was asked for: an interrupted attempt may have created it
    done: list[str] = field(default_factory=list)
    attempts: int = 0
    last_error: str | None = None
    quarantined: str | None = None  # why the record can never be delivered

    @classmethod
    def load(cls, folder: Path) -> DeliveryState:
        try:
            data = json.loads((folder / STATE).read_text())
            known = {f.name for f in fields(cls)}
            return cls(**{k: v for k, v in data.items() if k in known})
        except (OSError, ValueError, TypeError, AttributeError):
            return cls()

    def save(self, folder: Path) -> None:
        atomic_write(folder / STATE, json.dumps(asdict(self)))


Writer = Callable[[Path], None]


@dataclass(frozen=True)
class Counts:
    """What the outbox holds: the numbers ``sync``, ``outbox`` and ``%mlops status`` print."""

    queued: int
    failed: int


class Outbox:
    """A spool folder of records waiting to be delivered."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- writing (the only part on the cell's path) ------------------------------------------

    def put(self, record: dict[str, Any], files: dict[str, bytes | Writer]) -> Path:
        """Write a record and its files; returns its folder.

        ``files`` maps a relative path to bytes, or to a callable that writes that path. Raises
        ``OSError`` when the spool cannot be written (full, read-only); nothing is left behind.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"{time.time() % 1:.6f}"[2:]
        final = self.root / f"{stamp}-{record['record_id']}"
        tmp = self.root / f".tmp-{record['record_id']}"
        tmp.mkdir()
        try:
            for rel, content in files.items():
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                if callable(content):
                    content(target)
                else:
                    target.write_bytes(content)
            (tmp / RECORD).write_text(json.dumps(record, default=str))
            os.rename(tmp, final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        return final

    # -- reading -----------------------------------------------------------------------------

    def pending(self) -> list[Path]:
        """Record folders waiting for delivery, oldest first."""
        try:
            entries = sorted(p for p in self.root.iterdir() if p.name[:1].isdigit())
        except OSError:  # no outbox yet (or not a folder: reported when a record is written)
            return []
        return [p for p in entries if (p / RECORD).exists()]

    def failed(self) -> list[Path]:
        folder = self.root / FAILED_DIR
        try:
            return sorted(p for p in folder.iterdir() if p.is_dir())
        except OSError:
            return []

    def counts(self) -> Counts:
        return Counts(len(self.pending()), len(self.failed()))

    @staticmethod
    def read(folder: Path) -> dict[str, Any]:
        """The record of ``folder``; :class:`UnreadableRecord` when it cannot be one."""
        try:
            text = (folder / RECORD).read_text()
        except FileNotFoundError as exc:
            raise UnreadableRecord(f"{RECORD} is missing") from exc
        except UnicodeDecodeError as exc:
            raise UnreadableRecord(f"{RECORD} is not text: {exc}") from exc
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise UnreadableRecord(
                f"{RECORD} is truncated or not JSON ({len(text)} bytes): {exc}"
            ) from exc
        if not isinstance(data, dict):
            raise UnreadableRecord(f"{RECORD} holds a {type(data).__name__}, not a record")
        return data

    # -- delivering --------------------------------------------------------------------------

    @staticmethod
    @contextlib.contextmanager
    def lock(folder: Path, *, wait: float = 0.0) -> Iterator[bool]:
        """Hold the record's lock; yields False when someone else holds it past ``wait`` s,
        or when the record was delivered (and removed) meanwhile."""
        from filelock import FileLock, Timeout  # not on the cell's path: only deliverers lock

        if not folder.is_dir():
            yield False
            return
        lock = FileLock(folder / ".lock", timeout=wait)
        try:
            lock.acquire()
        except (Timeout, FileNotFoundError):  # busy; or delivered and removed meanwhile
            yield False
            return
        try:
            if (folder / RECORD).exists():
                yield True
                return
            # delivered, removed or quarantined while we waited: filelock re-created the folder
            # to hold its lock file; leave no empty record folder behind
            if {p.name for p in folder.iterdir()} <= {".lock"}:
                shutil.rmtree(folder, ignore_errors=True)
            yield False
        finally:
            with contextlib.suppress(OSError):
                lock.release()

    def complete(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def quarantine(self, folder: Path, reason: str) -> Path:
        """Set aside a record that can never be delivered, saying why; later records go on."""
        state = DeliveryState.load(folder)
        state.quarantined = reason
        state.last_error = state.last_error or reason
        with contextlib.suppress(OSError):
            state.save(folder)
        target = self.root / FAILED_DIR / folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder, target)
        return target

    def requeue(self, folder: Path) -> Path:
        """Put a quarantined record back in the queue (``sync --retry-failed``), attempts reset."""
        state = DeliveryState.load(folder)
        state.attempts, state.quarantined, state.last_error = 0, None, None
        with contextlib.suppress(OSError):
            state.save(folder)
        target = self.root / folder.name
        os.replace(folder, target)
        return target

    def remove_stale_temporaries(self, older_than: float = STALE_TMP_SECONDS) -> None:
        """Drop ``.tmp-*`` folders a killed process left half-written (never a live one)."""
        now = time.time()
        with contextlib.suppress(OSError):
            for path in self.root.glob(".tmp-*"):
                with contextlib.suppress(OSError):
                    if now - path.stat().st_mtime > older_than:
                        shutil.rmtree(path, ignore_errors=True)
