"""The runs of one notebook: filter, sort, page, and the columns worth showing.

Runs are found by the ``mlops_nb.notebook`` tag that ``%%track`` sets (the notebook's absolute
resolved path) across every active experiment. A local sqlite store (MLflow's default) is read
directly (:mod:`.sqlite_store`, no MLflow import: the first page renders within a second of the
server starting); any other store is read through ``MlflowClient``. Filtering, sorting and paging
are the same code for both.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.config import Settings
from mlops_nb.server import schemas, sqlite_store
from mlops_nb.server.sqlite_store import NOTEBOOK_TAG, SchemaMismatch, StoredRun

HIDDEN_TAG_PREFIXES = ("mlflow.", "mlops_nb.")
MAX_RUNS = 20_000  # read from a remote store per request


class StoreUnavailable(Exception):
    """The tracking store cannot be read; the message names the URI and the cause."""

    def __init__(self, uri: str, cause: str) -> None:
        self.uri = uri
        self.cause = cause
        super().__init__(f"MLflow tracking store {uri} is unreachable: {cause}")


class BadQuery(ValueError):
    """A query parameter the store cannot answer (a malformed page token, unknown run ids)."""


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:////abs/path`` URI, else None."""
    if uri.startswith("sqlite:////"):
        return Path(uri[len("sqlite:///") :])
    return None


# --- reading ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Loaded:
    store_exists: bool
    runs: list[StoredRun]


_CACHE: dict[tuple[Path, str], tuple[tuple[int, ...], Loaded]] = {}
_CACHE_LOCK = threading.Lock()
CACHE_ENTRIES = 16


def _version(db: Path) -> tuple[int, ...]:
    """Changes whenever MLflow writes the store (the file or its write-ahead log)."""
    out: list[int] = []
    for path in (db, db.with_name(db.name + "-wal")):
        try:
            st = path.stat()
            out += [st.st_mtime_ns, st.st_size]
        except OSError:
            out += [0, 0]
    return tuple(out)


def load_runs(settings: Settings, notebook: Path) -> Loaded:
    uri = settings.tracking_uri
    db = sqlite_file(uri)
    if db is not None:
        if not db.exists():
            return Loaded(False, [])
        key, version = (db, str(notebook)), _version(db)
        with _CACHE_LOCK:
            cached = _CACHE.get(key)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            loaded = Loaded(True, sqlite_store.notebook_runs(db, str(notebook)))
        except SchemaMismatch:
            pass  # not a layout we know: let MLflow read it
        else:
            with _CACHE_LOCK:
                _CACHE[key] = (version, loaded)
                while len(_CACHE) > CACHE_ENTRIES:
                    _CACHE.pop(next(iter(_CACHE)))
            return loaded
    return Loaded(True, _guarded(uri, lambda: _mlflow_notebook_runs(uri, str(notebook))))


def load_by_id(settings: Settings, run_ids: list[str]) -> list[StoredRun]:
    uri = settings.tracking_uri
    db = sqlite_file(uri)
    if db is not None and db.exists():
        try:
            return sqlite_store.runs_by_id(db, run_ids)
        except SchemaMismatch:
            pass
    return _guarded(uri, lambda: [_mlflow_run(uri, r) for r in run_ids])


def history(settings: Settings, run_id: str) -> dict[str, list[tuple[int, float | None, int]]]:
    uri = settings.tracking_uri
    db = sqlite_file(uri)
    if db is not None and db.exists():
        try:
            return sqlite_store.metric_history(db, run_id)
        except SchemaMismatch:
            pass

    def read() -> dict[str, list[tuple[int, float | None, int]]]:
        client = _client(uri)
        run = client.get_run(run_id)
        return {
            key: [(m.step, m.value, m.timestamp) for m in client.get_metric_history(run_id, key)]
            for key in run.data.metrics
        }

    return _guarded(uri, read)


def _guarded(uri: str, read: Callable[[], Any]) -> Any:
    if uri.startswith(("http://", "https://")):
        _probe_remote(uri)
    try:
        return read()
    except ImportError:
        raise
    except Exception as exc:
        raise StoreUnavailable(uri, f"{type(exc).__name__}: {exc}") from exc


def _probe_remote(uri: str, timeout: float = 3.0) -> None:
    """Fail fast when a tracking server does not answer (MLflow would retry for minutes)."""
    try:
        with urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout):
            return
    except urllib.error.HTTPError:
        return  # it answers; the real call reports what is wrong
    except (OSError, ValueError) as exc:
        raise StoreUnavailable(uri, str(getattr(exc, "reason", exc))) from exc


def _client(uri: str) -> Any:
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def notebook_filter(value: str) -> tuple[str, bool]:
    """MLflow's filter for the notebook tag, and whether results need an exact re-check.

    MLflow's filter strings have no escape character: a value with ``'`` is quoted with ``"``;
    a value with both quotes is matched with ``LIKE`` (each quote a ``_`` wildcard) and checked
    exactly afterwards.
    """
    key = f"tags.`{NOTEBOOK_TAG}`"
    if "'" not in value:
        return f"{key} = '{value}'", False
    if '"' not in value:
        return f'{key} = "{value}"', False
    pattern = value.replace("%", "_").replace("'", "_").replace('"', "_")
    return f"{key} LIKE '{pattern}'", True


def _mlflow_notebook_runs(uri: str, notebook: str) -> list[StoredRun]:
    client = _client(uri)
    experiments: list[str] = []
    token = None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token)
        experiments.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            break
    if not experiments:
        return []
    filter_string, recheck = notebook_filter(notebook)
    out: list[StoredRun] = []
    token = None
    while len(out) < MAX_RUNS:
        page = client.search_runs(
            experiment_ids=experiments,
            filter_string=filter_string,
            max_results=1000,
            page_token=token,
        )
        out.extend(_from_mlflow(run) for run in page)
        token = page.token
        if not token:
            break
    if recheck:
        out = [r for r in out if r.tags.get(NOTEBOOK_TAG) == notebook]
    return out


def _mlflow_run(uri: str, run_id: str) -> StoredRun:
    return _from_mlflow(_client(uri).get_run(run_id))


def _from_mlflow(run: Any) -> StoredRun:
    info, data = run.info, run.data
    return StoredRun(
        run_id=info.run_id,
        experiment_id=str(info.experiment_id),
        name=info.run_name,
        status=info.status,
        start_time=info.start_time,
        end_time=info.end_time,
        artifact_uri=info.artifact_uri,
        tags=dict(data.tags),
        params=dict(data.params),
        metrics={k: float(v) for k, v in data.metrics.items()},
    )


# --- shaping ---------------------------------------------------------------------------------
def serialize(run: StoredRun, settings: Settings) -> schemas.Run:
    tags = run.tags
    start, end = run.start_time, run.end_time
    return schemas.Run(
        run_id=run.run_id,
        experiment_id=run.experiment_id,
        name=tags.get("mlflow.runName") or run.name or run.run_id[:8],
        status=run.status,
        cell_id=tags.get("mlops_nb.cell_id"),
        cell_key=tags.get("mlops_nb.cell_key"),
        start_time=start,
        end_time=end,
        duration_s=(end - start) / 1000.0 if start and end else None,
        params=dict(run.params),
        metrics=dict(run.metrics),
        tags={k: v for k, v in tags.items() if not k.startswith(HIDDEN_TAG_PREFIXES)},
        url=settings.run_url(run.experiment_id, run.run_id),
    )


def varying_params(runs: list[StoredRun]) -> list[str]:
    """Parameters with more than one distinct value among the runs that set them, by how many
    distinct values they take (most first), then name."""
    values: dict[str, set[str]] = {}
    for run in runs:
        for key, value in run.params.items():
            values.setdefault(key, set()).add(value)
    varying = [k for k, v in values.items() if len(v) > 1]
    return sorted(varying, key=lambda k: (-len(values[k]), k))


def matches(run: StoredRun, query: schemas.RunsQuery) -> bool:
    if query.status and run.status != query.status:
        return False
    if query.tag:
        key, sep, value = query.tag.partition("=")
        key = key.strip()
        if key not in run.tags or (sep and run.tags[key] != value.strip()):
            return False
    if query.text:
        needle = query.text.casefold()
        name = run.tags.get("mlflow.runName") or run.name or ""
        haystack = [name, run.run_id, *run.params.values(), *run.params.keys()]
        haystack += [v for k, v in run.tags.items() if not k.startswith(HIDDEN_TAG_PREFIXES)]
        if not any(needle in h.casefold() for h in haystack):
            return False
    return True


def _sort_key(query: schemas.RunsQuery) -> Callable[[StoredRun], tuple[Any, ...]]:
    sort = query.sort

    def value(run: StoredRun) -> Any:
        if sort == "start_time":
            return run.start_time
        if sort == "name":
            return (run.tags.get("mlflow.runName") or run.name or "").casefold()
        if sort == "status":
            return run.status
        if sort == "duration":
            return run.end_time - run.start_time if run.end_time and run.start_time else None
        kind, _, name = sort.partition(".")
        raw = (run.metrics if kind == "metrics" else run.params).get(name)
        if isinstance(raw, str):
            try:
                return float(raw)
            except ValueError:
                return raw
        return raw

    def key(run: StoredRun) -> tuple[Any, ...]:
        v = value(run)
        # missing values last in either order; numbers before text; ties: newest first
        missing = v is None
        number = isinstance(v, (int, float))
        return (missing, not number, v if number else 0, "" if number else (v or ""))

    return key


def page(
    loaded: Loaded, query: schemas.RunsQuery, settings: Settings, notebook: str
) -> schemas.RunsPage:
    runs = loaded.runs
    selected = [r for r in runs if matches(r, query)]
    selected.sort(key=lambda r: (-(r.start_time or 0), r.run_id))  # ties: newest first
    key = _sort_key(query)
    if query.order == "desc":
        present = [r for r in selected if not key(r)[0]]
        absent = [r for r in selected if key(r)[0]]
        present.sort(key=key, reverse=True)
        selected = present + absent
    else:
        selected.sort(key=key)
    offset = decode_token(query.page_token)
    chunk = selected[offset : offset + query.page_size]
    following = offset + len(chunk)
    params = sorted({k for r in runs for k in r.params})
    metrics = sorted({k for r in runs for k in r.metrics})
    tags = sorted({k for r in runs for k in r.tags if not k.startswith(HIDDEN_TAG_PREFIXES)})
    return schemas.RunsPage(
        notebook=notebook,
        tracking_uri=settings.tracking_uri,
        store_exists=loaded.store_exists,
        total=len(selected),
        runs=[serialize(r, settings) for r in chunk],
        next_page_token=encode_token(following) if following < len(selected) else None,
        varying_params=varying_params(runs),
        param_names=params,
        metric_names=metrics,
        tag_names=tags,
    )


def encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        data = json.loads(base64.urlsafe_b64decode(token.encode("ascii")))
        offset = data["offset"]
        if not isinstance(offset, int) or offset < 0:
            raise ValueError(offset)
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError) as exc:
        raise BadQuery(f"invalid page_token {token[:40]!r}: ask for the first page again") from exc
    return offset
