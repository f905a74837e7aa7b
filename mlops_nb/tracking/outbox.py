"""The durable outbox: every tracked cell becomes a folder on disk before anything is sent.

Layout (one folder per run, named so that sorting gives creation order)::

    <spool>/20261122T071502123456-<record_id>/
        record.json      what to log (params, metrics, tags, models, datasets, artifacts)
        state.json       delivery progress: run id, stages done, attempts (rewritten atomically)
        artifacts/       files logged as run artifacts (cell source, traceback, figures, ...)
        models/          pickled fitted models and their input examples
        .lock            flock()ed by whoever delivers the record: one deliverer at a time

A record folder appears atomically (written under ``.tmp-*`` and renamed), is removed once fully
delivered, and is moved to ``<spool>/failed/`` after repeated non-network errors. Several kernels
and ``mlops-nb sync`` can share one spool: the lock makes delivery exactly-once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

RECORD = "record.json"
STATE = "state.json"
FAILED_DIR = "failed"


def new_record_id() -> str:
    return uuid.uuid4().hex


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


@dataclass
class DeliveryState:
    """How far a record got; resumed from on the next attempt."""

    run_id: str | None = None
    experiment_id: str | None = None
    done: list[str] = field(default_factory=list)
    attempts: int = 0
    last_error: str | None = None

    @classmethod
    def load(cls, folder: Path) -> DeliveryState:
        try:
            return cls(**json.loads((folder / STATE).read_text()))
        except (OSError, ValueError, TypeError):
            return cls()

    def save(self, folder: Path) -> None:
        _atomic_write(folder / STATE, json.dumps(asdict(self)).encode())


Writer = Callable[[Path], None]


class Outbox:
    """A spool folder of records waiting to be delivered."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, record: dict[str, Any], files: dict[str, bytes | Writer]) -> Path:
        """Write a record and its files; returns its folder. Only this runs on the cell's path.

        ``files`` maps a relative path to bytes, or to a callable that writes that path.
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

    def pending(self) -> list[Path]:
        """Record folders waiting for delivery, oldest first."""
        try:
            entries = sorted(p for p in self.root.iterdir() if p.is_dir() and p.name[0].isdigit())
        except OSError:  # no outbox yet (or not a folder: reported when a record is written)
            return []
        return [p for p in entries if (p / RECORD).exists()]

    def failed(self) -> list[Path]:
        folder = self.root / FAILED_DIR
        return sorted(p for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []

    @staticmethod
    def read(folder: Path) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((folder / RECORD).read_text())
        return data

    @staticmethod
    @contextlib.contextmanager
    def lock(folder: Path, *, wait: float = 0.0) -> Iterator[bool]:
        """Hold the record's lock; yields False when someone else holds it past ``wait`` s."""
        try:
            fd = os.open(folder / ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        except FileNotFoundError:  # delivered and removed meanwhile
            yield False
            return
        deadline = time.monotonic() + wait
        try:
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(0.05)
            # the folder may have been delivered and removed while we waited
            yield (folder / RECORD).exists()
        finally:
            os.close(fd)

    def complete(self, folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def quarantine(self, folder: Path) -> Path:
        target = self.root / FAILED_DIR / folder.name
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(folder, target)
        return target
