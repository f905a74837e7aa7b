"""Where the gates' data comes from: files or frames the user names, the evaluation dataset
logged with the run, and a productionized service (its metadata, reference sample and traffic)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from mlops_nb.registry.errors import PromotionUsageError, RegistryError

EVAL_CONTEXTS = ("evaluation", "eval", "test", "validation", "holdout")
TRAFFIC_ROWS = 5000


def table(value: Any, what: str) -> tuple[Any, str]:
    """A DataFrame, or a ``.csv``/``.parquet`` path → (frame, how to describe it)."""
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value, f"the {what} DataFrame ({len(value):,} rows)"
    if isinstance(value, (str, Path)):
        from mlops_nb.monitoring.frames import read_frame

        frame = read_frame(value)
        return frame, f"{Path(value).name} ({len(frame):,} rows)"
    raise PromotionUsageError(
        f"the {what} is a {type(value).__name__}: give a DataFrame or a .csv/.parquet path"
    )


def logged_eval_data(run: Any) -> tuple[Any, str] | None:
    """The evaluation dataset logged with the run (an input whose context is evaluation, test,
    validation or holdout) when its source is a file this machine can read; else None."""
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    for item in inputs:
        context = {t.key: t.value for t in item.tags}.get("mlflow.data.context", "")
        if context.lower() not in EVAL_CONTEXTS:
            continue
        try:
            source = json.loads(item.dataset.source)
        except (TypeError, ValueError):
            continue
        uri = source.get("uri") or source.get("path") if isinstance(source, dict) else None
        if not isinstance(uri, str):
            continue
        path = Path(uri[len("file://") :] if uri.startswith("file://") else uri)
        if path.is_file() and path.suffix.lower() in (".csv", ".parquet", ".pq"):
            frame, _ = table(path, "evaluation data")
            return frame, f"{path.name} (the run's logged {context} dataset, {len(frame):,} rows)"
    return None


def _api_key(api_key: str | None) -> str | None:
    from mlops_nb.monitoring.service import API_KEY_ENV

    return api_key or os.environ.get(API_KEY_ENV)


def service_metadata(url: str, api_key: str | None = None) -> dict[str, Any]:
    """``GET <url>/metadata`` of a service made by ``mlops-nb productionize``."""
    from mlops_nb.exceptions import require

    require("httpx", "serve", "Reading a service's metadata")
    import httpx

    headers = {"X-API-Key": key} if (key := _api_key(api_key)) else None
    try:
        response = httpx.get(url.rstrip("/") + "/metadata", headers=headers, timeout=30)
    except httpx.HTTPError as exc:
        raise PromotionUsageError(
            f"cannot reach {url}/metadata: {exc}; is the service running?"
        ) from exc
    if response.status_code != 200:
        raise PromotionUsageError(
            f"{url}/metadata answered {response.status_code}; --service must be a service made "
            "by mlops-nb productionize"
        )
    body = response.json()
    if not isinstance(body, dict):
        raise RegistryError(f"{url}/metadata did not answer a JSON object")
    return body


def service_dir_metadata(folder: str | Path) -> dict[str, Any]:
    path = Path(folder) / "model" / "metadata.json"
    if not path.is_file():
        raise PromotionUsageError(
            f"{folder} is not a service directory made by mlops-nb productionize (no {path})"
        )
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def service_traffic(
    url: str, api_key: str | None = None, rows: int = TRAFFIC_ROWS
) -> tuple[Any, str]:
    """The service's most recent recorded inputs (``/monitoring/sample``)."""
    from mlops_nb.monitoring.service import ServiceClient

    frame, seen = ServiceClient(url, api_key=_api_key(api_key)).sample(rows)
    return frame, f"{url} traffic (latest {len(frame):,} of {seen:,} inputs)"


def service_reference(url: str, api_key: str | None = None, rows: int = 100_000) -> tuple[Any, str]:
    """The training reference sample a service ships (``/monitoring/reference``)."""
    from mlops_nb.monitoring.service import ServiceClient

    frame, total = ServiceClient(url, api_key=_api_key(api_key)).reference(rows)
    return frame, f"the training reference of {url} ({len(frame):,} of {total:,} rows)"


def service_dir_reference(folder: str | Path) -> tuple[Any, str] | None:
    path = Path(folder) / "model" / "reference.csv"
    if not path.is_file():
        return None
    frame, _ = table(path, "reference")
    return frame, f"{path} (the service's training reference, {len(frame):,} rows)"
