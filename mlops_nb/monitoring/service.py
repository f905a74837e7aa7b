"""Client for a generated service's monitoring endpoints (what ``drift(service=URL)`` reads).

The contract (served by ``mlops-nb productionize`` services):

- ``GET /monitoring/drift`` → the drift summary, computed in the service on its recorded inputs;
- ``GET /monitoring/sample?n=N`` → ``{"records": [...], "total_seen": int}`` (recent inputs);
- ``GET /monitoring/reference?n=N`` → ``{"records": [...], "total": int}`` (training sample).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from mlops_nb.exceptions import require
from mlops_nb.monitoring.errors import DriftServiceError

API_KEY_ENV = "MLOPS_NB_SERVICE_API_KEY"
SUMMARY_KEYS = ("dataset_drift", "drift_share", "n_drifted", "n_columns", "columns")
COLUMN_KEYS = ("type", "stattest", "score", "threshold", "drifted")


#: the most rows a generated service returns from /monitoring/sample and /reference
SERVICE_MAX_ROWS = 10_000


@dataclass(frozen=True)
class ServiceClient:
    """Reads ``/monitoring/*`` from a running service over HTTP (httpx)."""

    url: str
    timeout: float = 30.0
    api_key: str | None = None  # sent as X-API-Key (services started with API_KEY set)

    def drift_summary(self) -> dict[str, Any]:
        body = self._get("/monitoring/drift")
        missing = [k for k in SUMMARY_KEYS if k not in body]
        bad = [
            name
            for name, col in (body.get("columns") or {}).items()
            if not isinstance(col, dict) or any(k not in col for k in COLUMN_KEYS)
        ]
        if missing or bad or not isinstance(body.get("columns"), dict):
            raise DriftServiceError(
                f"{self.url}/monitoring/drift answered an unexpected summary (missing "
                f"{', '.join(missing) or 'per-column fields for ' + ', '.join(bad)}); is the "
                "service from a matching mlops-nb version?"
            )
        return body

    def sample(self, n: int) -> tuple[pd.DataFrame, int]:
        """The ``n`` most recent inputs (at most the service's cap), and how many it has seen."""
        body = self._get("/monitoring/sample", n=min(n, SERVICE_MAX_ROWS))
        return pd.DataFrame.from_records(body.get("records") or []), int(body.get("total_seen", 0))

    def reference(self, n: int) -> tuple[pd.DataFrame, int]:
        """``n`` rows (at most the service's cap) of the reference sample shipped with the
        service, and its size."""
        body = self._get("/monitoring/reference", n=min(n, SERVICE_MAX_ROWS))
        return pd.DataFrame.from_records(body.get("records") or []), int(body.get("total", 0))

    def _get(self, path: str, **params: Any) -> dict[str, Any]:
        require("httpx", "serve", "Checking a service's drift")
        import httpx

        url = self.url.rstrip("/") + path
        try:
            headers = {"X-API-Key": self.api_key} if self.api_key else None
            response = httpx.get(url, params=params or None, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise DriftServiceError(
                f"cannot reach {url}: {exc}; is the service running at {self.url}?"
            ) from exc
        if response.status_code == 404:
            raise DriftServiceError(
                f"{url} does not exist (404); the service must be one made by "
                "`mlops-nb productionize` (it serves /monitoring/*)"
            )
        if response.status_code == 401:
            raise DriftServiceError(
                f"{url} needs an API key (401): pass api_key=... (CLI: --api-key) or set "
                f"{API_KEY_ENV}"
            )
        if response.status_code >= 400:
            raise DriftServiceError(f"{url} answered {response.status_code}: {_detail(response)}")
        try:
            body = response.json()
        except ValueError as exc:
            raise DriftServiceError(f"{url} did not answer JSON: {response.text[:200]!r}") from exc
        if not isinstance(body, dict):
            raise DriftServiceError(f"{url} answered {type(body).__name__}, expected an object")
        return body


def _detail(response: Any) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:300]
