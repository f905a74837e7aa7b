"""The Models tab's routes: registered models, their versions and history, a version's card,
and promotion as a background job. Parse, call :mod:`mlops_nb.registry`, map its errors.

``GET models``, ``GET models/<name>``, ``GET models/<name>/versions/<v>/card``,
``POST promote`` (→ a job of kind ``promote`` polled at ``jobs/<id>``).
"""

from __future__ import annotations

from typing import Any

import tornado
from pydantic import ValidationError
from tornado.ioloop import IOLoop

from mlops_nb.config import Settings
from mlops_nb.server import schemas
from mlops_nb.server.base import ApiError, PanelHandler, library
from mlops_nb.server.jobs import Progress, to_jsonable

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


def _models(settings: Settings) -> schemas.ModelsResponse:
    list_models = library("mlops_nb.registry.query", "list_models", FEATURE)
    models = list_models(_client(settings))
    return schemas.ModelsResponse(
        tracking_uri=settings.tracking_uri,
        models=[schemas.ModelSummary.model_validate(m.as_dict()) for m in models],
    )


def decision(raw: dict[str, Any] | None) -> schemas.Decision | None:
    """A version's compact decision tag as the typed :class:`~.schemas.Decision`; None when
    there is none or it is unreadable (a tag is free text anyone can write)."""
    if not raw:
        return None
    try:
        gates = [
            schemas.DecisionGate(
                gate=str(g[0]),
                status=g[1],
                value=g[2] if len(g) > 2 else None,
                threshold=g[3] if len(g) > 3 else None,
            )
            for g in raw.get("gates", [])
        ]
        return schemas.Decision(
            alias=raw["alias"],
            from_version=raw.get("from"),
            to_version=str(raw["to"]),
            passed=bool(raw.get("passed")),
            moved=bool(raw.get("moved")),
            forced=bool(raw.get("forced")),
            reason=raw.get("reason"),
            by=str(raw.get("by", "")),
            at=str(raw.get("at", "")),
            gates=gates,
        )
    except (KeyError, IndexError, TypeError, ValidationError):
        return None


def _model(settings: Settings, name: str) -> schemas.ModelResponse:
    from mlops_nb.registry import query

    client = _client(settings)
    versions = []
    for v in query.versions(client, name):
        data = v.as_dict()
        data["last_decision"] = decision(data["last_decision"])
        versions.append(schemas.VersionSummary.model_validate(data))
    history = query.history(client, name, attempts=True)
    return schemas.ModelResponse(
        name=name,
        tracking_uri=settings.tracking_uri,
        versions=versions,
        history=[schemas.HistoryEntry.model_validate(h.as_dict()) for h in history],
    )


def _card(settings: Settings, name: str, version: str) -> schemas.CardResponse:
    from mlops_nb.registry import query

    found = query.card(_client(settings), f"{name}/{version}")
    return schemas.CardResponse.model_validate(found.as_dict())


def promotion_result(result: Any) -> schemas.PromotionResult:
    """A :class:`mlops_nb.registry.result.PromotionResult` as the typed reply."""
    return schemas.PromotionResult.model_validate({**result.as_dict(), "verdict": result.verdict()})


class ModelsHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        settings = self.store(self.query(schemas.StoreQuery).notebook)
        self.reply(await self.call(_models, settings))


class ModelHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str) -> None:
        settings = self.store(self.query(schemas.StoreQuery).notebook)
        self.reply(await self.call(_model, settings, name))


class CardHandler(RegistryHandler):
    @tornado.web.authenticated
    async def get(self, name: str, version: str) -> None:
        if not version.isdigit():
            raise ApiError(400, f"version must be a number, got {version!r}")
        settings = self.store(self.query(schemas.StoreQuery).notebook)
        self.reply(await self.call(_card, settings, name, version))


#: request fields passed to ``promote`` as they are; the paths are confined to the root first
_PATHS = ("eval_data", "reference", "current")


class PromoteHandler(RegistryHandler):
    """Run a promotion's gates as a background job; each step's result is a progress event."""

    @tornado.web.authenticated
    def post(self) -> None:
        request = self.body(schemas.PromoteRequest)
        settings = self.store(request.notebook)
        kwargs: dict[str, Any] = request.model_dump(
            exclude={"source", "name", "notebook", *_PATHS}, exclude_none=True
        )
        for key in _PATHS:
            value = getattr(request, key)
            if value is not None:
                kwargs[key] = self.confined(value, what=key)
        promote = library("mlops_nb.registry.api", "promote", FEATURE)
        source, name = request.source, request.name

        def work(progress: Progress) -> Any:
            def event(e: Any) -> None:
                progress({"event": "PromotionEvent", **to_jsonable(e)})

            result = promote(
                source, name, tracking_uri=settings.tracking_uri, progress=event, **kwargs
            )
            return promotion_result(result)

        from mlops_nb.server.handlers import submit

        submit(self, "promote", name, work)


#: (path under /mlops-nb/, handler), added to the panel's routes
ROUTES: list[tuple[str, type]] = [
    ("models", ModelsHandler),
    (r"models/([^/]+)", ModelHandler),
    (r"models/([^/]+)/versions/([^/]+)/card", CardHandler),
    ("promote", PromoteHandler),
]
