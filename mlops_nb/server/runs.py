"""The runs of one notebook, newest first, one page at a time, straight from the MLflow store.

Runs are found by the ``mlops_nb.notebook`` tag that ``%%track`` sets (the notebook's absolute
resolved path) across every active experiment; MLflow paginates server-side, so a page costs the
same with 10 or 10,000 runs.
"""

from __future__ import annotations

import contextlib
import threading
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.config import Settings

NOTEBOOK_TAG = "mlops_nb.notebook"
MAX_PAGE_SIZE = 500


class StoreUnavailable(Exception):
    """The tracking store cannot be read; the message names the URI and the cause."""

    def __init__(self, uri: str, cause: str) -> None:
        self.uri = uri
        self.cause = cause
        super().__init__(f"MLflow tracking store {uri} is unreachable: {cause}")


@dataclass(frozen=True)
class RunsPage:
    runs: list[dict[str, Any]]
    next_page_token: str | None
    store_exists: bool = True


def sqlite_file(uri: str) -> Path | None:
    """The database file of a ``sqlite:////abs/path`` URI, else None."""
    if uri.startswith("sqlite:////"):
        return Path(uri[len("sqlite:///") :])
    return None


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


def _experiment_ids(client: Any) -> list[str]:
    ids: list[str] = []
    token = None
    while True:
        page = client.search_experiments(max_results=1000, page_token=token)
        ids.extend(e.experiment_id for e in page)
        token = page.token
        if not token:
            return ids


def serialize_run(run: Any, settings: Settings) -> dict[str, Any]:
    info, data = run.info, run.data
    tags = data.tags
    start, end = info.start_time, info.end_time
    return {
        "run_id": info.run_id,
        "experiment_id": info.experiment_id,
        "name": tags.get("mlflow.runName") or info.run_name or info.run_id[:8],
        "status": info.status,
        "cell_id": tags.get("mlops_nb.cell_id"),
        "cell_key": tags.get("mlops_nb.cell_key"),
        "start_time": start,
        "end_time": end,
        "duration_s": (end - start) / 1000.0 if start and end else None,
        "params": dict(data.params),
        "metrics": dict(data.metrics),
        "url": settings.run_url(info.experiment_id, info.run_id),
    }


def list_runs(
    settings: Settings, notebook: Path, page_size: int = 50, page_token: str | None = None
) -> RunsPage:
    """One page of the runs tagged with ``notebook``, newest first."""
    uri = settings.tracking_uri
    db = sqlite_file(uri)
    if db is not None and not db.exists():
        return RunsPage(runs=[], next_page_token=None, store_exists=False)
    if settings.is_remote:
        _probe_remote(uri)
    try:
        client = _client(uri)
        experiment_ids = _experiment_ids(client)
        if not experiment_ids:
            return RunsPage(runs=[], next_page_token=None)
        value = str(notebook).replace("'", "\\'")
        page = client.search_runs(
            experiment_ids=experiment_ids,
            filter_string=f"tags.`{NOTEBOOK_TAG}` = '{value}'",
            order_by=["attributes.start_time DESC"],
            max_results=page_size,
            page_token=page_token or None,
        )
    except ImportError:
        raise
    except Exception as exc:
        if _is_bad_token(exc):
            raise ValueError(f"invalid page_token: {exc}") from exc
        raise StoreUnavailable(uri, f"{type(exc).__name__}: {exc}") from exc
    token = page.token
    if isinstance(token, bytes):
        token = token.decode("ascii")
    return RunsPage(
        runs=[serialize_run(run, settings) for run in page], next_page_token=token or None
    )


def _is_bad_token(exc: Exception) -> bool:
    code = getattr(exc, "error_code", "")
    return code == "INVALID_PARAMETER_VALUE" and "token" in str(exc).lower()


def warm_up(uri: str | None = None) -> None:
    """Import MLflow's client ahead of the first request (a cold import takes seconds) and open
    the store at ``uri`` when it is an existing sqlite file, in a daemon thread so the server
    starts at once; a missing MLflow is reported by the route instead."""

    def _warm() -> None:
        with contextlib.suppress(Exception):
            import mlflow.tracking  # noqa: F401

            db = sqlite_file(uri or "")
            if db is not None and db.exists():
                _client(uri or "").search_experiments(max_results=1)

    threading.Thread(target=_warm, name="mlops-nb-warm-up", daemon=True).start()
