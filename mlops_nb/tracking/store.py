"""Everything tracking knows about tracking *stores*: is one there, open it, and what an error
from it means. Only the delivery side imports this module (it imports MLflow lazily).

- :func:`health` is the one store health probe (``GET /health`` for a server; for a sqlite file,
  whether its folder can hold it).
- :func:`open_client` opens a store for delivery. A brand-new sqlite store is created by exactly
  one of our processes at a time (a ``filelock`` lock next to the database file) and creation is
  retried, because any other process (the MLflow UI, a script) may be creating it at the same
  moment and MLflow's schema migration does not survive that race.
- A sqlite store at ``dir/mlflow.db`` keeps its artifacts in ``dir/mlruns``, never in the folder
  a kernel or worker happened to start in (MLflow's own default is ``./mlruns``).
- :func:`classify` says whether an error is *transient* (the store is down, locked, migrating,
  overloaded: retry, however long it takes) or a *rejection* (the store refuses the record as
  invalid: it will never be delivered).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import unquote

# Our own backoff retries for as long as it takes; MLflow's internal retry loop (7 attempts with
# exponential backoff, minutes in total) would only hide an outage from the worker.
_MLFLOW_HTTP_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
INIT_ATTEMPTS = 20
INIT_LOCK_TIMEOUT = 120.0


class Verdict(str, Enum):
    TRANSIENT = "transient"  # retry with backoff, never quarantine
    REJECTED = "rejected"  # the store says the record is invalid: quarantine now
    UNKNOWN = "unknown"  # retry a few times, then quarantine with the error


def use_delivery_defaults() -> None:
    """Set MLflow's HTTP retry settings for a delivering process (the user's values win)."""
    for key, value in _MLFLOW_HTTP_DEFAULTS.items():
        os.environ.setdefault(key, value)


def sqlite_path(uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI, else None."""
    if not uri.startswith("sqlite:///"):
        return None
    rel = unquote(uri[len("sqlite:///") :].split("?", 1)[0])
    if not rel or rel == ":memory:":
        return None
    return Path(rel) if rel.startswith("/") else Path.cwd() / rel


def artifact_root(uri: str) -> str | None:
    """Where a local sqlite store keeps artifacts: ``mlruns`` next to the database file."""
    db = sqlite_path(uri)
    return str(db.parent / "mlruns") if db is not None else None


def health(uri: str, timeout: float = 2.0) -> str | None:
    """None when the store can be used now, else a short reason (the one health probe)."""
    if uri.startswith(("http://", "https://")):
        import urllib.request

        try:
            with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout) as resp:
                return None if resp.status < 500 else f"HTTP {resp.status}"
        except Exception as exc:
            reason = getattr(exc, "reason", None) or exc
            return f"{type(exc).__name__}: {reason}"
    db = sqlite_path(uri)
    if db is not None and not db.parent.is_dir():
        return f"folder {db.parent} of the sqlite store does not exist"
    return None


_opened: set[str] = set()
_open_lock = threading.Lock()
_clients: dict[str, Any] = {}


def open_client(uri: str) -> Any:
    """The process's ``MlflowClient`` for ``uri`` (one per store), its store created first if
    needed (see module doc)."""
    client = _clients.get(uri)
    if client is not None:
        return client
    use_delivery_defaults()
    from mlflow.tracking import MlflowClient

    db = sqlite_path(uri)
    with _open_lock:
        if db is not None and uri not in _opened:
            _initialise_sqlite(uri, db)
            _opened.add(uri)
        client = _clients[uri] = _clients.get(uri) or MlflowClient(tracking_uri=uri)
    return client


def warm_up(uri: str) -> None:
    """Import what delivering to ``uri`` needs: what a worker does while it waits for its first
    record (the imports are the slow part: about a second). The store itself is not touched:
    opening a sqlite file that another process (the MLflow UI, a script) is creating would race
    that process's schema migration; it is opened when the first record is delivered."""
    use_delivery_defaults()
    import mlflow.tracking

    if sqlite_path(uri) is not None:
        import mlflow.store.tracking.sqlalchemy_store  # noqa: F401


def log_artifacts(client: Any, run_id: str, artifact_uri: str | None, folder: Path) -> None:
    """Log the files under ``folder`` as the run's artifacts. A run whose artifact location is
    a local folder (the default next to a sqlite store) is written through MLflow's artifact
    repository for that location directly, which saves the run lookup ``client.log_artifacts``
    makes; any other location (a server's proxied artifacts, object stores) goes through the
    client."""
    if artifact_uri and (artifact_uri.startswith("file:") or artifact_uri.startswith("/")):
        from mlflow.store.artifact.artifact_repository_registry import get_artifact_repository

        get_artifact_repository(artifact_uri).log_artifacts(str(folder))
        return
    client.log_artifacts(run_id, str(folder))


def _initialise_sqlite(uri: str, db: Path) -> None:
    """Create (or migrate) the store under a lock next to the file; retry what races."""
    from filelock import FileLock

    with FileLock(f"{db}.lock", timeout=INIT_LOCK_TIMEOUT):
        delay = 0.1
        for attempt in range(INIT_ATTEMPTS):
            try:
                _sqlalchemy_store(uri)
                return
            except Exception as exc:
                if attempt == INIT_ATTEMPTS - 1 or classify(exc) is Verdict.REJECTED:
                    raise
                if "_alembic_tmp_" in str(exc):
                    _drop_migration_leftovers(db)
                time.sleep(delay)
                delay = min(2.0, delay * 2)


def _drop_migration_leftovers(db: Path) -> None:
    """Drop the ``_alembic_tmp_*`` scratch tables a migration that lost a race left committed
    (SQLite does not roll DDL back here); the next attempt then resumes the migration from the
    version ``alembic_version`` records. Called under the store lock; a migration still running
    in another process holds SQLite's write lock, so its own scratch table is never touched."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(db, timeout=20)) as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT name FROM sqlite_master WHERE type='table' AND name LIKE "
                    "'\\_alembic\\_tmp\\_%' ESCAPE '\\'"
                )
            ]
            for name in names:
                conn.execute(f'DROP TABLE IF EXISTS "{name}"')
            conn.commit()
    except sqlite3.Error:
        pass


_stores: dict[str, Any] = {}


def _sqlalchemy_store(uri: str) -> Any:
    """MLflow's sqlite store with its artifact root next to the file (tables created here)."""
    if uri not in _stores:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        root = artifact_root(uri)
        assert root is not None
        _stores[uri] = SqlAlchemyStore(uri, root)
    return _stores[uri]


def create_experiment(client: Any, name: str) -> str:
    """Create experiment ``name``: artifacts of a local sqlite store go next to the file."""
    if sqlite_path(client.tracking_uri) is not None:
        return str(_sqlalchemy_store(client.tracking_uri).create_experiment(name))
    return str(client.create_experiment(name))


# -- what an error means ----------------------------------------------------------------------

_TRANSIENT_CODES = frozenset(
    {
        "TEMPORARILY_UNAVAILABLE",
        "REQUEST_LIMIT_EXCEEDED",
        "RESOURCE_EXHAUSTED",
        "DEADLINE_EXCEEDED",
        "ABORTED",
        "SERVICE_UNDER_MAINTENANCE",
        "WORKSPACE_TEMPORARILY_UNAVAILABLE",
    }
)
_REJECTED_CODES = frozenset(
    {
        "INVALID_PARAMETER_VALUE",
        "INVALID_STATE",
        "MALFORMED_REQUEST",
        "RESOURCE_DOES_NOT_EXIST",
        "PERMISSION_DENIED",
        "UNAUTHENTICATED",
        "FEATURE_DISABLED",
    }
)
_TRANSIENT_TEXT = (
    "database is locked",
    "database table is locked",
    "_alembic_tmp",
    "online migration",
    "out-of-date database schema",
    "no such table",
    "already exists",  # a table, mid-migration by another process
    "disk i/o error",
    "connection",
    "timed out",
    "timeout",
    "temporarily unavailable",
    "max retries exceeded",
    "bad gateway",
    "service unavailable",
)


def classify(exc: BaseException) -> Verdict:
    """Transient (retry forever), rejected (never deliverable), or unknown."""
    for err in _chain(exc):
        if isinstance(err, ConnectionError | TimeoutError):
            return Verdict.TRANSIENT
        name = type(err).__name__
        module = type(err).__module__
        if module.startswith(("requests", "urllib3", "http.client")) or name in (
            "OperationalError",
            "ProtocolError",
        ):
            return Verdict.TRANSIENT
        status = getattr(getattr(err, "response", None), "status_code", None)
        if isinstance(status, int) and (status >= 500 or status == 429):
            return Verdict.TRANSIENT
    text = " ".join(str(err) for err in _chain(exc)).lower()
    if any(marker in text for marker in _TRANSIENT_TEXT):
        return Verdict.TRANSIENT
    code = getattr(exc, "error_code", None)
    if code in _TRANSIENT_CODES:
        return Verdict.TRANSIENT
    if code == "INTERNAL_ERROR" and type(exc).__name__ == "RestException":  # the server's 500
        return Verdict.TRANSIENT
    if code in _REJECTED_CODES or code == "BAD_REQUEST":
        return Verdict.REJECTED
    return Verdict.UNKNOWN


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen and len(seen) < 10:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen
