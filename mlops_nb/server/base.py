"""The base of every route: typed requests in (pydantic), typed JSON replies out, JSON errors."""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import Any, TypeVar

from jupyter_server.base.handlers import APIHandler
from pydantic import BaseModel, ValidationError
from tornado.web import HTTPError

from mlops_nb.server.context import SETTINGS_KEY, PanelContext
from mlops_nb.server.paths import PathRefused, confine, relative

M = TypeVar("M", bound=BaseModel)
MAX_BODY = 64_000


class ApiError(HTTPError):
    """An HTTP error whose JSON body carries ``extra`` fields besides the message."""

    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(status, None)
        self.message = message
        self.extra = extra


def validation_message(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(x) for x in error["loc"]) or "request"
        parts.append(f"'{where}': {error['msg']}")
    return "; ".join(parts)


class PanelHandler(APIHandler):
    """Base of the ``/mlops-nb/`` routes. Subclasses decorate every verb with
    ``@tornado.web.authenticated``; a test fails when one does not."""

    @property
    def panel(self) -> PanelContext:
        context: PanelContext = self.settings[SETTINGS_KEY]
        return context

    def reply(self, data: BaseModel | dict[str, Any], status: int = 200) -> None:
        """A typed response model; a plain dict only for routes without a schema yet."""
        self.set_status(status)
        self.set_header("Content-Type", "application/json")
        self.finish(data.model_dump_json() if isinstance(data, BaseModel) else json.dumps(data))

    def write_error(self, status_code: int, **kwargs: Any) -> None:
        exc = kwargs.get("exc_info", (None, None, None))[1]
        self.set_header("Content-Type", "application/json")
        if isinstance(exc, ApiError):
            self.finish(json.dumps({"message": exc.message, **exc.extra}))
            return
        if isinstance(exc, HTTPError) and exc.log_message:
            try:
                message = exc.log_message % exc.args
            except (TypeError, ValueError):
                message = exc.log_message
            self.finish(json.dumps({"message": message}))
            return
        super().write_error(status_code, **kwargs)

    def query(self, model: type[M]) -> M:
        """The query string as ``model`` (400 naming each wrong field). A bare number is
        JupyterLab's cache-buster (``ServerConnection`` appends ``?<timestamp>`` to GETs)."""
        raw = {
            name: self.get_query_argument(name)
            for name in self.request.query_arguments
            if not name.isdigit()
        }
        return self._validate(model, raw)

    def json_body(self) -> dict[str, Any]:
        """The JSON body as a dict (routes without a request schema yet)."""
        if len(self.request.body or b"") > MAX_BODY:
            raise ApiError(413, f"the request body is over {MAX_BODY} bytes")
        try:
            raw = json.loads(self.request.body or b"{}")
        except ValueError as exc:
            raise ApiError(400, f"the request body is not JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise ApiError(400, "the request body must be a JSON object")
        return raw

    def body(self, model: type[M]) -> M:
        """The JSON body as ``model`` (400 naming each wrong field)."""
        return self._validate(model, self.json_body())

    @staticmethod
    def _validate(model: type[M], raw: dict[str, Any]) -> M:
        try:
            return model.model_validate(raw)
        except ValidationError as exc:
            raise ApiError(400, validation_message(exc)) from exc

    def notebook(self, value: str) -> Path:
        """The notebook named by the request, confined to the server's root."""
        return self.confined(value, suffix=".ipynb")

    def confined(self, value: str, **options: Any) -> Path:
        try:
            return confine(self.panel.root, value, **options)
        except PathRefused as exc:
            raise ApiError(exc.status, exc.message) from exc

    def rel(self, path: Path) -> str:
        return relative(self.panel.root, path)


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
