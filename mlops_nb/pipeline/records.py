"""Runs of a pipeline that executed nothing, recorded without importing MLflow in the CLI.

``import mlflow`` takes about a second, twice the budget of a fully cached ``pipeline run``. When no
step executes, the runner writes the pipeline run and its cached step runs as one JSON file into
``$MLOPS_NB_HOME/pipeline-outbox/`` and either delivers it at once (the library default) or hands
it to a detached ``python -m mlops_nb.pipeline.records`` process (what the CLI does). Files left
behind (a crash, a store that was down) are delivered by the next pipeline run that imports MLflow
anyway, or by running that module by hand. Delivery holds an exclusive lock per file: exactly once.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings

FOLDER = "pipeline-outbox"


def folder() -> Path:
    return get_settings().home / FOLDER


def write(record: dict[str, Any]) -> Path:
    """Persist one pipeline record atomically; returns its file."""
    root = folder()
    root.mkdir(parents=True, exist_ok=True)
    name = f"{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}.json"
    tmp = root / f".{name}.tmp"
    tmp.write_text(json.dumps(record, default=str))
    os.replace(tmp, root / name)
    return root / name


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[bool]:
    try:
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            yield False
            return
        yield path.exists()
    finally:
        fh.close()


def deliver(path: Path) -> str | None:
    """Create the runs of one record; returns the pipeline run id (``None`` if taken by another)."""
    from mlops_nb.pipeline import runs as R

    with _locked(path) as mine:
        if not mine:
            return None
        record = json.loads(path.read_text())
        runs = R.Runs(record["tracking_uri"])
        pipe = record["pipeline"]
        parent = runs.start(
            record["experiment"],
            name=pipe["name"],
            kind="pipeline",
            notebook=None,
            params=pipe.get("params"),
            tags=pipe.get("tags"),
            start_time=pipe["start"],
        )
        for step in record["steps"]:
            runs.record_cached(
                record["experiment"],
                name=step["name"],
                notebook=step["notebook"],
                parent_run_id=parent,
                cached_from=step.get("cached_from"),
                params=step.get("params") or {},
                when=step.get("at"),
            )
        runs.finish(
            parent,
            status=pipe.get("status", "FINISHED"),
            metrics=pipe.get("metrics"),
            end_time=pipe["end"],
        )
        path.unlink()
        return parent


def deliver_pending(root: Path | None = None) -> int:
    """Deliver every record waiting in the outbox; returns how many were delivered."""
    root = root or folder()
    if not root.is_dir():
        return 0
    count = 0
    for path in sorted(root.glob("*.json")):
        try:
            if deliver(path) is not None:
                count += 1
        except Exception as exc:  # keep it for the next attempt
            print(f"mlops-nb: could not record {path.name}: {exc}", file=sys.stderr)
    return count


def deliver_in_background(path: Path) -> None:
    """Hand one record to a detached process (the CLI returns without importing MLflow)."""
    log = open(path.parent / "delivery.log", "ab")  # noqa: SIM115 - inherited by the child
    try:
        subprocess.Popen(
            [sys.executable, "-m", "mlops_nb.pipeline.records", str(path)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,
            close_fds=True,
        )
    finally:
        log.close()


def pending() -> list[Path]:
    root = folder()
    return sorted(root.glob("*.json")) if root.is_dir() else []


def flush(timeout: float = 60.0) -> bool:
    """Deliver what is waiting (or wait for the detached recorder); False if still pending."""
    deadline = time.monotonic() + timeout
    while True:
        deliver_pending()
        if not pending():
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)


if __name__ == "__main__":  # pragma: no cover - exercised through deliver_in_background
    if sys.argv[1:] == ["--wait"]:  # what `make demo` runs before listing runs
        raise SystemExit(0 if flush() else 1)
    targets = [Path(a) for a in sys.argv[1:]]
    if targets:
        for target in targets:
            deliver(target)
    else:
        deliver_pending()
