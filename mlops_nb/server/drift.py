"""Server-side proxy to a generated service's ``GET /monitoring/drift`` (no CORS in the browser)."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

DRIFT_PATH = "/monitoring/drift"
TIMEOUT_S = 15.0
MAX_BYTES = 5_000_000


class BadServiceUrl(ValueError):
    """The URL is not an http(s) URL of a service."""


class DriftUnavailable(Exception):
    """The service did not give a drift verdict; the message says why."""


def drift_url(service_url: str) -> str:
    """``http://host:port[/prefix]`` → ``http://host:port[/prefix]/monitoring/drift``."""
    url = (service_url or "").strip()
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadServiceUrl(
            f"{url!r} is not an http(s) URL of a service, e.g. http://127.0.0.1:8000"
        )
    path = parts.path.rstrip("/")
    if not path.endswith(DRIFT_PATH):
        path += DRIFT_PATH
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def fetch_drift(service_url: str, timeout: float = TIMEOUT_S) -> dict[str, Any]:
    url = drift_url(service_url)
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            body = resp.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        raise DriftUnavailable(f"{url} answered HTTP {exc.code}: {_detail(exc)}") from exc
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DriftUnavailable(f"{url} is unreachable: {reason}") from exc
    if len(body) > MAX_BYTES:
        raise DriftUnavailable(f"{url} answered more than {MAX_BYTES} bytes")
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise DriftUnavailable(f"{url} did not answer JSON: {exc}") from exc
    if not isinstance(data, dict) or "dataset_drift" not in data:
        raise DriftUnavailable(f"{url} did not answer a drift verdict (no 'dataset_drift')")
    return {"url": url, **data}


def _detail(error: urllib.error.HTTPError) -> str:
    """The service's own explanation (FastAPI's ``detail``), else the HTTP reason."""
    try:
        body = json.loads(error.read(MAX_BYTES))
    except (OSError, ValueError):
        return str(error.reason)
    detail = body.get("detail") if isinstance(body, dict) else None
    return str(detail) if detail else str(error.reason)
