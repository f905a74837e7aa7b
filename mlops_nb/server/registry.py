"""The Models tab's routes: registered models, their versions and history, a version's card,
and promotion as a background job. Parse, call :mod:`mlops_nb.registry`, map its errors.

``GET models``, ``GET models/<name>``, ``GET models/<name>/versions/<v>/card``,
``POST promote`` (→ a job of kind ``promote`` polled at ``jobs/<id>``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import tornado
from tornado.ioloop import IOLoop

from mlops_nb.config import Settings
from mlops_nb.server.base import ApiError, PanelHandler, library
from mlops_nb.server.jobs import Progress, to_jsonable
from mlops_nb.server.paths import confine

FEATURE = "The model registry"


def _client(settings: Settings) -> Any:
    client_for = library("mlops_nb.registry.api", "client_for", FEATURE)
    return client_for(settings.tracking_uri)


class RegistryHandler(PanelHandler):
    """Shared by the registry routes: the store (a notebook's, else the server's) and errors."""

    def store(self, notebook: Any) -> Settings:
        if notebook in (None, ""):
            return self.panel.settings
        return self.panel.settings_for(self.notebook(notebook))

    async def call(self, fn: Any, *args: Any) -> Any:
        from mlops_nb.exceptions import ConfigError
        from mlops_nb.registry.errors import ModelNotFound, RegistryError

        try:
            return await IOLoop.current().run_in_executor(None, fn, *args)
        except ImportError as exc:
            raise ApiError(501, f"the model registry needs MLflow: {exc}") from exc
        except ModelNotFound as exc:
            raise ApiError(404, str(exc)) from exc
        except (ConfigError, RegistryError) as exc:
            raise ApiError(400, str(exc)) from exc


def _models(settings: Settings) -> dict[str, Any]:
    list_models = library("mlops_nb.registry.query", "list_models", FEATURE)
    models = list_models(_client(settings))
    return {"tracking_uri": settings.tracking_uri, "models": [m.as_dict() for m in models]}


def _model(settings: Settings, name: str) -> dict[str, Any]:
    from mlops_nb.registry import query

    client = _client(settings)
    versions = query.versions(client, name)
    history = query.history(client, name, attempts=True)
    return {
        "name": name,
        "tracking_uri": settings.tracking_uri,
        "versions": [v.as_dict() for v in versions],
        "history": [h.as_dict() for h in history],
    }


def _card(settings: Settings, name: str, version: str) -> dict[str, Any]:
    from mlops_nb.registry import query

    found: dict[str, Any] = query.card(_client(settings), f"{name}/{version}").as_dict()
    return found


class ModelsHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        settings = self.store(self.get_argument("notebook", None))
        self.reply(await self.call(_models, settings))


class ModelHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        settings = self.store(self.get_argument("notebook", None))
        self.reply(await self.call(_model, settings, name))


class CardHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str, version: str) -> None:
        if not version.isdigit():
            raise ApiError(400, f"version must be a number, got {version!r}")
        settings = self.store(self.get_argument("notebook", None))
        self.reply(await self.call(_card, settings, name, version))


_TEXT = ("source", "name", "alias", "target", "metric", "service", "reason")
_PATHS = ("eval_data", "reference", "current")


class PromoteHandler(RegistryHandler):
    """Run a promotion's gates as a background job; each gate's result is a progress event."""

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_body()
        settings = self.store(body.get("notebook"))
        kwargs: dict[str, Any] = {}
        for key in _TEXT:
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise ApiError(400, f"'{key}' must be a string")
            if value:
                kwargs[key] = value
        if "source" not in kwargs or "name" not in kwargs:
            raise ApiError(
                400, "'source' (a run id) and 'name' (the registered model) are required"
            )
        for key in _PATHS:
            value = body.get(key)
            if value:
                if not isinstance(value, str):
                    raise ApiError(400, f"'{key}' must be a path string")
                kwargs[key] = self._path(value, key)
        require = body.get("require", [])
        if not isinstance(require, list) or not all(isinstance(r, str) for r in require):
            raise ApiError(400, "'require' must be a list of strings like 'accuracy>=0.9'")
        kwargs["require"] = require
        for key in ("no_regression", "force"):
            value = body.get(key, False)
            if not isinstance(value, bool):
                raise ApiError(400, f"'{key}' must be true or false")
            kwargs[key] = value
        for key in ("max_drift_share", "tolerance"):
            value = body.get(key)
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ApiError(400, f"'{key}' must be a number")
                kwargs[key] = float(value)
        promote = library("mlops_nb.registry.api", "promote", FEATURE)
        source, name = kwargs.pop("source"), kwargs.pop("name")

        def work(progress: Progress) -> Any:
            def event(e: Any) -> None:
                progress({"event": "PromotionEvent", **to_jsonable(e)})

            result = promote(
                source, name, tracking_uri=settings.tracking_uri, progress=event, **kwargs
            )
            return result.as_dict()

        from mlops_nb.server.handlers import submit

        submit(self, "promote", name, work)

    def _path(self, value: str, what: str) -> Path:
        try:
            return confine(self.panel.root, value, what=what)
        except tornado.web.HTTPError as exc:
            raise ApiError(exc.status_code, exc.log_message or "bad path") from exc


#: (path under /mlops-nb/, handler), added to the panel's routes
ROUTES: list[tuple[str, type]] = [
    ("models", ModelsHandler),
    (r"models/([^/]+)", ModelHandler),
    (r"models/([^/]+)/versions/([^/]+)/card", CardHandler),
    ("promote", PromoteHandler),
]
