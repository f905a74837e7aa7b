"""The base of every route: JSON replies, JSON errors with a message, request parsing."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any

from jupyter_server.base.handlers import APIHandler
from tornado.web import HTTPError

from mlops_nb.server.context import SETTINGS_KEY, PanelContext
from mlops_nb.server.paths import confine, relative


class ApiError(HTTPError):
    """An HTTP error whose JSON body carries ``extra`` fields besides the message."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(status, None)
        self.message = message
        self.extra = extra


class PanelHandler(APIHandler):
    """Base of the ``/mlops-nb/`` routes. Subclasses decorate every verb with
    ``@tornado.web.authenticated``; a test fails when one does not."""

    @property
    def panel(self) -> PanelContext:
        context: PanelContext = self.settings[SETTINGS_KEY]
        return context

    def reply(self, data: Any, status: int = 200) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, ApiError):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": exc.message, **exc.extra}))
            return
        super().write_error(status_code, **kwargs)

    def json_body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, f"the request body is not JSON: {exc}") from exc
        if not isinstance(body, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return body

    def notebook(self, value: Any) -> Path:
        """The notebook named by the request, confined to the server's root."""
        if value is not None and not isinstance(value, str):
            raise ApiError(400, "'notebook' must be a path string")
        try:
            return confine(self.panel.root, value, suffix=".ipynb")
        except HTTPError as exc:
            raise ApiError(exc.status_code, exc.log_message or "bad path") from exc

    def rel(self, path: Path) -> str:
        return relative(self.panel.root, path)

    def int_argument(self, name: str, default: int, low: int, high: int) -> int:
        raw = self.get_argument(name, None)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError as exc:
            raise ApiError(400, f"{name!r} must be an integer, got {raw!r}") from exc
        if not low <= value <= high:
            raise ApiError(400, f"{name!r} must be between {low} and {high}, got {value}")
        return value


def library(module: str, name: str, feature: str) -> Any:
    """A function of another part of mlops-nb, imported when first needed; 501 when that part
    is not installed (or not finished) in this environment."""
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ApiError(
            501,
            f"{feature} is not available in this installation ({module}.{name}: {exc}). "
            "Install or upgrade mlops-nb: pip install -U 'mlops-nb[all]'",
        ) from exc
