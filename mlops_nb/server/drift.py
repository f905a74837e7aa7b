"""The drift of a running service, as the notebook's drift widget shows it.

``GET /monitoring/drift`` of the service first (cheap, and its 409 "too little traffic yet" is a
normal state, not an error); with a verdict, :func:`mlops_nb.monitoring.live.compare_service`
gives the widget's distributions (the same code ``drift(service=URL)`` runs in a notebook). The
full Evidently report is built only when asked for.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from mlops_nb.server import schemas

DRIFT_PATH = "/monitoring/drift"
TIMEOUT_S = 15.0
MAX_BYTES = 5_000_000
STATIC = Path(__file__).resolve().parents[1] / "monitoring" / "static"
WIDGET_ESM = STATIC / "drift_widget.js"
WIDGET_CSS = STATIC / "drift_widget.css"


class BadServiceUrl(ValueError):
    """The URL is not an http(s) URL of a service."""


class DriftUnavailable(Exception):
    """The service did not give a drift verdict; the message says why."""


def service_base(service_url: str) -> str:
    """``http://host:port[/prefix][/monitoring/drift]`` → ``http://host:port[/prefix]``."""
    url = (service_url or "").strip()
    example = "e.g. http://127.0.0.1:8000"
    try:
        parts = urllib.parse.urlsplit(url)
        hostname = parts.hostname
        _ = parts.port  # a malformed port raises here
    except ValueError as exc:
        raise BadServiceUrl(f"{url[:200]!r} is not a valid http(s) URL ({exc}), {example}") from exc
    if parts.scheme not in ("http", "https") or not hostname:
        raise BadServiceUrl(f"{url[:200]!r} is not an http(s) URL of a service, {example}")
    path = parts.path.rstrip("/")
    if path.endswith(DRIFT_PATH):
        path = path[: -len(DRIFT_PATH)]
    return urllib.parse.urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def drift_url(service_url: str) -> str:
    return service_base(service_url) + DRIFT_PATH


def _get(url: str, timeout: float) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as resp:
            status, body = resp.status, resp.read(MAX_BYTES + 1)
    except urllib.error.HTTPError as exc:
        status, body = exc.code, exc.read(MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DriftUnavailable(f"{url} is unreachable: {reason}") from exc
    if len(body) > MAX_BYTES:
        raise DriftUnavailable(f"{url} answered more than {MAX_BYTES} bytes")
    try:
        return status, json.loads(body)
    except ValueError as exc:
        raise DriftUnavailable(f"{url} answered HTTP {status}, not JSON: {exc}") from exc


def _reference_state(status: int, data: Any, detail: str) -> str | None:
    """Whether the service's drift reference is ``loading`` or ``failed`` to load (its 503
    says so in ``reference``; services generated before that field existed, only in
    ``detail``); None when the answer is not about the reference."""
    if status != 503:
        return None
    if isinstance(data, dict) and data.get("reference") in ("loading", "failed"):
        return str(data["reference"])
    if "reference" not in detail:
        return None
    return "failed" if "failed to load" in detail else "loading"


def check(service_url: str, timeout: float = TIMEOUT_S) -> schemas.DriftResponse:
    base = service_base(service_url)
    url = base + DRIFT_PATH
    status, data = _get(url, timeout)
    detail = str(data.get("detail", "")) if isinstance(data, dict) else ""
    if status == 409 and isinstance(data, dict) and "min_rows" in data:
        current, needed = int(data.get("current_rows") or 0), int(data["min_rows"])
        return schemas.DriftResponse(
            url=url,
            state="collecting",
            message=f"collecting traffic ({current} of {needed} rows)",
            current_rows=current,
            min_rows=needed,
            widget=None,
        )
    reference = _reference_state(status, data, detail)
    if reference is not None:
        ready_status, ready = _get(base + "/readyz", timeout)
        reason = str(ready.get("detail", "")) if isinstance(ready, dict) else ""
        if ready_status == 503 and reason and reason != "loading":
            raise DriftUnavailable(f"{base} failed to load its model: {reason}")
        if reference == "failed":  # the model serves, but drift has no reference
            raise DriftUnavailable(f"{url}: {detail}")
        return schemas.DriftResponse(
            url=url,
            state="starting",
            message=f"the service is starting ({detail})",
            current_rows=None,
            min_rows=None,
            widget=None,
        )
    if status != 200:
        raise DriftUnavailable(f"{url} answered HTTP {status}: {detail or data}")
    if not isinstance(data, dict) or "dataset_drift" not in data:
        raise DriftUnavailable(f"{url} did not answer a drift verdict (no 'dataset_drift')")
    widget = widget_state(base, data, timeout)
    rows = data.get("current_rows")
    return schemas.DriftResponse(
        url=url,
        state="ready",
        message="drift detected" if data["dataset_drift"] else "no drift",
        current_rows=int(rows) if isinstance(rows, int) else None,
        min_rows=None,
        widget=widget,
    )


def widget_state(base: str, summary: dict[str, Any], timeout: float) -> schemas.DriftWidgetState:
    """What ``DriftWidget.from_result(drift(service=base))`` would sync to the browser."""
    from mlops_nb.monitoring.stats import STATTEST_NAMES

    try:
        from mlops_nb.monitoring.live import compare_service

        result = compare_service(base, timeout=timeout)
        full, distributions = result.summary, result.distributions
        note, report = result.sampling_text(), "idle" if result.has_report else "unavailable"
    except Exception as exc:  # the verdict stands; say why the plots are missing
        full, distributions, report = summary, {}, "unavailable"
        note = f"Distributions unavailable: {exc}"
    return schemas.DriftWidgetState.model_validate(
        {
            "summary": _jsonable(full),
            "distributions": _jsonable(distributions),
            "stattest_names": dict(STATTEST_NAMES),
            "note": note,
            "report_state": report,
        }
    )


def report(service_url: str, timeout: float = TIMEOUT_S) -> schemas.DriftReportResponse:
    """The full Evidently report of the service's recent traffic (seconds: Evidently loads)."""
    from mlops_nb.monitoring.live import compare_service

    base = service_base(service_url)
    try:
        result = compare_service(base, timeout=timeout)
    except Exception as exc:
        raise DriftUnavailable(str(exc)) from exc
    if not result.has_report:
        raise DriftUnavailable(
            f"{base}: no report yet (the service has no recorded inputs for every column)"
        )
    return schemas.DriftReportResponse(url=base + DRIFT_PATH, html=result.to_html())


def widget_module() -> schemas.WidgetModuleResponse:
    return schemas.WidgetModuleResponse(
        esm=WIDGET_ESM.read_text(encoding="utf-8"), css=WIDGET_CSS.read_text(encoding="utf-8")
    )


def _jsonable(value: Any) -> Any:
    """numpy scalars and tuples as plain JSON values."""
    return json.loads(json.dumps(value, default=_default))


def _default(value: Any) -> Any:
    if hasattr(value, "tolist"):
        return value.tolist()
    if hasattr(value, "item"):
        return value.item()
    return str(value)
