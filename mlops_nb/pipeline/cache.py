"""Content-hash cache of pipeline steps and the small state file that remembers them.

A step's key is a digest of: its notebook's code (cell sources, not outputs), its parameters, the
digests of its input files and the mlops-nb version. A step whose key matches its last successful
run and whose outputs exist is *cached*: it does not execute.

State lives next to the pipeline, in ``.mlops-nb/<pipeline>.state.json``. It has one writer: the
runner in the main process, holding ``.mlops-nb/<pipeline>.lock`` (:func:`run_lock`), so a second
``pipeline run`` of the same pipeline is refused while one is in progress. File digests are
memoised by (size, mtime) so a cached rerun of a pipeline with large inputs does not re-read them.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from mlops_nb._version import __version__
from mlops_nb.pipeline import notebook as nbmod
from mlops_nb.pipeline.errors import PipelineError
from mlops_nb.pipeline.names import CacheState, Status
from mlops_nb.pipeline.spec import Pipeline, Step

STATE_DIR = ".mlops-nb"

CACHED = CacheState.CACHED
STALE = CacheState.STALE
MISSING_OUTPUTS = CacheState.MISSING_OUTPUTS
NEVER_RUN = CacheState.NEVER_RUN


class StateStore:
    """Per-step records: the last success (key, run, outputs) and the last attempt."""

    def __init__(self, pipeline: Pipeline) -> None:
        self.path = pipeline.root / STATE_DIR / f"{pipeline.path.stem}.state.json"
        try:
            self.data: dict[str, Any] = json.loads(self.path.read_text())
        except (OSError, ValueError):
            self.data = {}
        self.data.setdefault("steps", {})
        self.data.setdefault("files", {})
        self._dirty = False

    def step(self, name: str) -> dict[str, Any]:
        entry: dict[str, Any] = self.data["steps"].setdefault(name, {})
        return entry

    def success(self, name: str) -> dict[str, Any] | None:
        return self.data["steps"].get(name, {}).get("success")

    def last(self, name: str) -> dict[str, Any] | None:
        return self.data["steps"].get(name, {}).get("last")

    def record(
        self, name: str, *, key: str, run_id: str | None, status: str, error: str | None
    ) -> None:
        entry = self.step(name)
        now = time.time()
        entry["last"] = {"key": key, "run_id": run_id, "status": status, "error": error, "at": now}
        if status == Status.FINISHED:
            entry["success"] = {"key": key, "run_id": run_id, "at": now}
        self._dirty = True

    def record_cached(self, name: str, run_id: str | None) -> None:
        entry = self.step(name)
        success = entry.get("success") or {}
        entry["last"] = {
            "key": success.get("key"),
            "run_id": run_id or success.get("run_id"),
            "status": Status.CACHED,
            "error": None,
            "at": time.time(),
        }
        self._dirty = True

    def save(self) -> None:
        if not self._dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.data, indent=1, sort_keys=True))
        os.replace(tmp, self.path)
        self._dirty = False

    # -- file digests ------------------------------------------------------------------------

    def file_digest(self, path: Path) -> str | None:
        """sha256 of a file (or of a folder's files), ``None`` when it does not exist."""
        try:
            st = path.stat()
        except OSError:
            return None
        if path.is_dir():
            h = hashlib.sha256()
            for child in sorted(p for p in path.rglob("*") if p.is_file()):
                h.update(str(child.relative_to(path)).encode())
                h.update((self.file_digest(child) or "").encode())
            return h.hexdigest()
        memo_key = str(path)
        memo = self.data["files"].get(memo_key)
        if memo and memo[0] == st.st_size and memo[1] == st.st_mtime_ns:
            return str(memo[2])
        digest = _sha256(path)
        self.data["files"][memo_key] = [st.st_size, st.st_mtime_ns, digest]
        self._dirty = True
        return digest


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def step_key(pipeline: Pipeline, step: Step, store: StateStore) -> str:
    """The cache key of ``step`` given the files as they are now."""
    nb = nbmod.read(step.notebook)
    payload = {
        "code": nbmod.code_digest(nb),
        "parameters": step.parameters,
        "inputs": {rel: store.file_digest(pipeline.file(rel)) for rel in sorted(step.inputs)},
        "kernel": step.kernel,
        "version": __version__,
    }
    text = json.dumps(payload, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def missing_outputs(pipeline: Pipeline, step: Step) -> list[str]:
    return [rel for rel in step.outputs if not pipeline.file(rel).exists()]


def cache_state(pipeline: Pipeline, step: Step, store: StateStore, key: str) -> str:
    """``cached`` | ``stale`` | ``missing-outputs`` | ``never-run`` for a step's key now."""
    success = store.success(step.name)
    if not success:
        return NEVER_RUN
    if success.get("key") != key:
        return STALE
    if missing_outputs(pipeline, step):
        return MISSING_OUTPUTS
    return CACHED


@dataclass
class Lease:
    """The held run lock of a pipeline. The lock file names the holder (pid, tracking store) and
    the MLflow runs it has open, so that the next holder can close the runs of a runner that
    died without closing them (``kill -9``): :attr:`leftover`."""

    fh: IO[str]
    tracking_uri: str
    leftover: LeftOver | None = None
    runs: list[str] = field(default_factory=list)

    def opened(self, run_id: str) -> None:
        self.runs.append(run_id)
        self._write()

    def closed(self, run_id: str) -> None:
        if run_id in self.runs:
            self.runs.remove(run_id)
            self._write()

    def _write(self) -> None:
        data = {"pid": os.getpid(), "tracking_uri": self.tracking_uri, "runs": self.runs}
        self.fh.seek(0)
        self.fh.truncate()
        self.fh.write(json.dumps(data))
        self.fh.flush()


@dataclass(frozen=True)
class LeftOver:
    """Runs a previous holder of the lock left open: its process ended without closing them."""

    pid: int | None
    tracking_uri: str
    runs: tuple[str, ...]


@contextlib.contextmanager
def run_lock(pipeline: Pipeline, tracking_uri: str = "", *, wait: bool = False) -> Iterator[Lease]:
    """Hold the pipeline's run lock: one ``pipeline run`` of a pipeline at a time (its state file
    and its outputs have one writer). Released when the process ends, however it ends. With
    ``wait`` a second run waits for the first instead of being refused (tasks of an exported
    DAG that Airflow starts at the same time)."""
    path = pipeline.root / STATE_DIR / f"{pipeline.path.stem}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _read_holder(fh).get("pid")
            by = f" (process {holder})" if holder else ""
            raise PipelineError(
                f"another run of this pipeline is in progress{by}; wait for it to finish "
                "(or stop it), then run again",
                path=str(pipeline.path),
            ) from None
        previous = _read_holder(fh)
        lease = Lease(fh, tracking_uri)
        if previous.get("runs"):
            lease.leftover = LeftOver(
                previous.get("pid"),
                str(previous.get("tracking_uri") or tracking_uri),
                tuple(map(str, previous["runs"])),
            )
        lease._write()
        try:
            yield lease
        finally:
            if not lease.runs:
                fh.seek(0)
                fh.truncate()


def _read_holder(fh: IO[str]) -> dict[str, Any]:
    fh.seek(0)
    text = fh.read().strip()
    if text.isdigit():  # written by an older version: the pid only
        return {"pid": int(text)}
    try:
        data = json.loads(text) if text else {}
    except ValueError:  # a holder killed while writing it
        return {}
    return data if isinstance(data, dict) else {}
