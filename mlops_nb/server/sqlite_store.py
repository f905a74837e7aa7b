"""Read an MLflow sqlite store directly (read-only), without importing MLflow.

Importing MLflow costs 1-8 s; the panel's first page must render within a second of the server
starting, so the runs of a notebook are read here with :mod:`sqlite3`. This is the one module that
knows MLflow's table layout (``runs``, ``tags``, ``params``, ``latest_metrics``, ``metrics``,
``experiments``); ``tests/server/test_sqlite_store.py`` compares what it reads with what
``MlflowClient`` returns for the same store, so a schema change in MLflow fails that test.
"""

from __future__ import annotations

import sqlite3
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

NOTEBOOK_TAG = "mlops_nb.notebook"
REQUIRED_TABLES = ("runs", "tags", "params", "latest_metrics", "metrics", "experiments")


class SchemaMismatch(Exception):
    """The file is not an MLflow store this module can read (the caller falls back to MLflow)."""


@dataclass
class StoredRun:
    run_id: str
    experiment_id: str
    name: str | None
    status: str
    start_time: int | None
    end_time: int | None
    artifact_uri: str | None
    tags: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float | None] = field(default_factory=dict)


@contextmanager
def connect(db: Path) -> Iterator[sqlite3.Connection]:
    """A read-only connection (never creates or migrates the file)."""
    uri = f"file:{urllib.parse.quote(str(db))}?mode=ro"
    con = sqlite3.connect(uri, uri=True, timeout=10)
    try:
        tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        missing = [t for t in REQUIRED_TABLES if t not in tables]
        if missing:
            raise SchemaMismatch(f"{db} has no table(s) {', '.join(missing)}")
        yield con
    except sqlite3.DatabaseError as exc:
        raise SchemaMismatch(f"{db}: {exc}") from exc
    finally:
        con.close()


_ACTIVE_RUNS = """
    SELECT r.run_uuid, r.experiment_id, r.name, r.status, r.start_time, r.end_time,
           r.artifact_uri
    FROM runs r
    JOIN experiments e ON e.experiment_id = r.experiment_id AND e.lifecycle_stage = 'active'
    WHERE r.lifecycle_stage = 'active'
"""


def notebook_runs(db: Path, notebook: str) -> list[StoredRun]:
    """Every active run tagged with ``notebook`` (the tag ``%%track`` sets), with its tags,
    params and latest metrics."""
    with connect(db) as con:
        rows = con.execute(
            _ACTIVE_RUNS
            + " AND r.run_uuid IN (SELECT run_uuid FROM tags WHERE key = ? AND value = ?)",
            (NOTEBOOK_TAG, notebook),
        ).fetchall()
        return _complete(con, rows)


def runs_by_id(db: Path, run_ids: Iterable[str]) -> list[StoredRun]:
    ids = list(run_ids)
    with connect(db) as con:
        marks = ",".join("?" * len(ids))
        rows = con.execute(_ACTIVE_RUNS + f" AND r.run_uuid IN ({marks})", ids).fetchall()
        return _complete(con, rows)


def metric_history(db: Path, run_id: str) -> dict[str, list[tuple[int, float | None, int]]]:
    """``metric -> [(step, value, timestamp), ...]`` in step then time order."""
    out: dict[str, list[tuple[int, float | None, int]]] = {}
    with connect(db) as con:
        for key, value, is_nan, step, ts in con.execute(
            "SELECT key, value, is_nan, step, timestamp FROM metrics WHERE run_uuid = ? "
            "ORDER BY key, step, timestamp",
            (run_id,),
        ):
            out.setdefault(key, []).append((int(step), None if is_nan else float(value), int(ts)))
    return out


def _complete(con: sqlite3.Connection, rows: list[tuple]) -> list[StoredRun]:
    runs = {
        r[0]: StoredRun(
            run_id=r[0],
            experiment_id=str(r[1]),
            name=r[2],
            status=r[3],
            start_time=r[4],
            end_time=r[5],
            artifact_uri=r[6],
        )
        for r in rows
    }
    ids = list(runs)
    for start in range(0, len(ids), 500):  # sqlite's bound-parameter limit
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for run_id, key, value in con.execute(
            f"SELECT run_uuid, key, value FROM tags WHERE run_uuid IN ({marks})", chunk
        ):
            runs[run_id].tags[key] = value
        for run_id, key, value in con.execute(
            f"SELECT run_uuid, key, value FROM params WHERE run_uuid IN ({marks})", chunk
        ):
            runs[run_id].params[key] = value
        for run_id, key, value, is_nan in con.execute(
            f"SELECT run_uuid, key, value, is_nan FROM latest_metrics WHERE run_uuid IN ({marks})",
            chunk,
        ):
            runs[run_id].metrics[key] = None if is_nan else float(value)
    return list(runs.values())


def local_artifact_dir(artifact_uri: str | None) -> Path | None:
    """The folder of a run's artifacts when they are local files (a path or ``file://``)."""
    if not artifact_uri:
        return None
    if artifact_uri.startswith("file://"):
        parts = urllib.parse.urlsplit(artifact_uri)
        return Path(urllib.parse.unquote(parts.path))
    if "://" in artifact_uri or ":" in artifact_uri.split("/", 1)[0]:
        return None
    return Path(artifact_uri)
