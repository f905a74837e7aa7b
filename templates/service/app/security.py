"""The API key, as a FastAPI security dependency (shown in the OpenAPI document)."""

from __future__ import annotations

import hmac
from typing import Any

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import APIKeyHeader

api_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    description="Required when the service runs with API_KEY set",
)


def require_api_key(request: Request, supplied: str | None = Security(api_key_header)) -> None:
    _compare(request.app.state.service.settings.api_key, supplied)


def check_key(request: Request) -> None:
    """The same check, for a route that answers the request itself (``routes.ScoringRoute``)."""
    _compare(request.app.state.service.settings.api_key, request.headers.get("x-api-key"))


def _compare(expected: str | None, supplied: str | None) -> None:
    if expected is None:
        return
    if supplied is None or not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise HTTPException(
            401, "missing or invalid X-API-Key header", headers={"WWW-Authenticate": "X-API-Key"}
        )


def dependencies(api_key: str | None) -> list[Any]:
    """What protected routers depend on: the key check when API_KEY is set, else nothing."""
    return [Depends(require_api_key)] if api_key else []
