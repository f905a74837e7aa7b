"""Prediction, probe and metadata endpoints: one router per concern."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic_core import to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from app import limits, security
from app.engines import PredictionError
from app.payloads import CSV_CELLS, PayloadError, Rows, invocation_rows, predict_rows
from app.schema import (
    COLUMN_TYPES,
    EXAMPLE,
    INPUT_COLUMNS,
    InvocationsResponse,
    PredictResponse,
    Record,
)
from app.settings import Settings

_JSON = "application/json"


def _dumps(body: Any) -> bytes:
    return to_json(body)  # predictions are finite (checked where they are made)


class ScoringRoute(APIRoute):
    """The scoring routes' class: FastAPI's documented extension point (a custom ``APIRoute`` whose
    ``get_route_handler`` is replaced). The route is an ordinary one for matching, OpenAPI and
    exception handlers, but its endpoint takes the ``Request`` and answers it itself: FastAPI's
    per-request dependency solving and body handling (~50 µs, more than the whole prediction;
    ``benchmarks/bench_serve.py`` measures it) are skipped. The one dependency such a route may
    declare, the API key (``security.require_api_key``), is checked here; an endpoint that takes
    anything but the ``Request``, or a route with any other dependency, falls back to FastAPI's
    own handler, so nothing is silently skipped.

    Such a handler is served by :func:`_serve`, not by FastAPI's copy of Starlette's
    ``request_response``, which adds two exit stacks for dependencies with ``yield``: a route that
    solves no dependency has nothing to put on them, and entering and leaving them costs a few
    µs a request. That holds for routes on the app's own router (``app.main._add_routes``);
    routes of a router added with ``include_router`` are served by FastAPI's adapter, as
    before."""

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        super().__init__(path, endpoint, **kwargs)
        if self._answers_itself() and getattr(self, "max_body_size", None) is None:
            self.app = _serve(self.get_route_handler())

    def _answers_itself(self) -> bool:
        """The endpoint takes the ``Request`` alone, and the route depends on nothing but the
        API key: anything else (a parameter, a dependency) is FastAPI's to solve."""
        params = list(inspect.signature(self.endpoint).parameters.values())
        request_only = len(params) == 1 and params[0].annotation in (Request, "Request")
        return request_only and all(
            d.dependency is security.require_api_key for d in self.dependencies
        )

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        endpoint = self.endpoint
        if not self._answers_itself():
            return super().get_route_handler()
        declared = self.dependencies
        if not declared:
            return endpoint

        async def checked(request: Request) -> Response:
            security.check_key(request)
            return await endpoint(request)

        return checked


def _serve(handler: Callable[[Request], Coroutine[Any, Any, Response]]) -> ASGIApp:
    """The ASGI app of a route whose handler takes the ``Request`` and answers it: Starlette's
    ``request_response`` without its per-route exception wrapper. That wrapper hands an
    exception to the app's exception handlers before it leaves the route; the app's
    ``ExceptionMiddleware`` (always in FastAPI's stack, between the user middleware and the
    router) hands it to the same handlers, with a request on the same scope, one layer out. Nothing
    between the two answers or times a response (``RequestMetrics`` is outside both), so the
    answer is the same, without two closures and a wrapper around each ``send`` per request.
    ``test_scoring_route_errors_reach_the_app_s_exception_handlers`` checks that answer."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        response = await handler(Request(scope, receive, send))
        await response(scope, receive, send)

    return app


def _detail(description: str, example: Any) -> dict[str, Any]:
    schema = {"type": "object", "properties": {"detail": {}}, "required": ["detail"]}
    return {
        "description": description,
        "content": {_JSON: {"schema": schema, "example": {"detail": example}}},
    }


ERRORS: dict[int | str, dict[str, Any]] = {
    400: _detail("Invalid Content-Length header", "invalid Content-Length header"),
    401: _detail(
        "Missing or invalid X-API-Key (when API_KEY is set)", "missing or invalid X-API-Key header"
    ),
    408: _detail(
        "The body did not arrive in time (BODY_TIMEOUT)",
        "the request body did not arrive within 30 s",
    ),
    413: _detail("Body over MAX_BODY_BYTES", "body over 10000000 bytes"),
    422: _detail(
        "Invalid input, with field-level messages",
        [{"loc": ["body", "age"], "msg": "Field required", "type": "missing"}],
    ),
    503: _detail(
        "The model is not loaded (yet), or too many requests are being scored",
        "the model is still loading; retry shortly",
    ),
}


def _record_schema() -> dict[str, Any]:
    schema = Record.model_json_schema(by_alias=True)
    schema.pop("examples", None)
    return schema


def _request_bodies(settings: Settings) -> tuple[dict[str, Any], dict[str, Any]]:
    """The OpenAPI request bodies of /predict and /invocations: exactly what the parsers accept."""
    record = _record_schema()
    many = {"type": "array", "items": record, "minItems": 1, "maxItems": settings.max_batch_rows}
    predict = {
        "required": True,
        "content": {_JSON: {"schema": {"oneOf": [record, many]}, "example": EXAMPLE}},
    }
    row_list = {"type": "array", "minItems": 1, "maxItems": settings.max_batch_rows}
    split = {
        "type": "object",
        "properties": {
            "columns": {
                "type": "array",
                "items": {"type": "string", "enum": INPUT_COLUMNS},
                "uniqueItems": True,
            },
            "data": {**row_list, "items": {"type": "array"}},
        },
        "required": ["data"],
    }
    columnar = {
        "type": "object",
        "properties": {
            c: {"type": "array", "items": record["properties"][c]} for c in INPUT_COLUMNS
        },
        "required": INPUT_COLUMNS,
    }

    def only(key: str, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "properties": {key: schema},
            "required": [key],
            "additionalProperties": False,
        }

    records = {**many}
    invocations = {
        "required": True,
        "content": {
            _JSON: {
                "schema": {
                    "oneOf": [
                        only("dataframe_split", split),
                        only("dataframe_records", records),
                        only("instances", records),
                        only("inputs", {"oneOf": [records, columnar]}),
                    ]
                },
                "example": {"dataframe_records": [EXAMPLE]},
            },
            "text/csv": {
                "schema": {
                    "type": "string",
                    "description": "a header row with the column names, then one row per record",
                    "pattern": _csv_pattern(set(record.get("required", []))),
                }
            },
        },
    }
    return predict, invocations


def _csv_pattern(required: set[str]) -> str:
    """A regular expression for the CSV bodies /invocations accepts (header, then data rows)."""
    cells = []
    for column in INPUT_COLUMNS:
        value = CSV_CELLS.get(COLUMN_TYPES.get(column, "string"), CSV_CELLS["string"])
        cells.append(value if column in required else f"({value})?")
    header = ",".join(re.escape(c) for c in INPUT_COLUMNS)
    row = ",".join(cells)
    return f"^{header}\r?\n({row}\r?\n)*{row}(\r?\n)?$"


async def _score(request: Request, rows: Rows, one_record: bool) -> Response:
    """Predict, record the inputs for monitoring, count the predictions."""
    service = request.app.state.service
    model = service.model
    try:
        if one_record and service.batcher is not None and len(rows) == 1:
            with service.slots:
                predictions = [await service.batcher.submit(rows[0])]
        elif len(rows) >= service.settings.threadpool_rows:
            with service.slots:  # large batches leave the event loop free for other requests
                predictions = await run_in_threadpool(model.predict_rows, rows)
        else:
            predictions = model.predict_rows(rows)
    except PredictionError as exc:
        service.metrics.model_errors.inc()
        detail = [
            {
                "loc": ["body"],
                "msg": f"the model could not score this input: {exc}",
                "type": "model_error",
            }
        ]
        return Response(_dumps({"detail": detail}), status_code=422, media_type=_JSON)
    service.store.record(rows)
    service.metrics.record_inputs(len(rows))
    service.metrics.observe_predictions(predictions)
    return Response(_dumps({"predictions": predictions}), media_type=_JSON)


def _require_model(request: Request) -> Any:
    service = request.app.state.service
    if service.model is None:
        if service.load_error is not None:
            raise HTTPException(
                503, f"the model failed to load ({service.load_error}); see the service log"
            )
        raise HTTPException(
            503, "the model is still loading; retry shortly", headers={"Retry-After": "1"}
        )
    return service


def _payload_error(exc: PayloadError) -> Response:
    return Response(_dumps({"detail": exc.errors}), status_code=exc.status, media_type=_JSON)


def prediction_router(settings: Settings) -> APIRouter:
    api = APIRouter(
        tags=["predict"],
        dependencies=security.dependencies(settings.api_key),
        responses=ERRORS,
        route_class=ScoringRoute,
    )
    predict_body, invocations_body = _request_bodies(settings)

    @api.post(
        "/predict",
        response_model=PredictResponse,
        summary="Predict for one record or a list of records",
        openapi_extra={"requestBody": predict_body},
    )
    async def predict(request: Request) -> Response:
        _require_model(request)
        body = await limits.read_body(request, settings.max_body_bytes, settings.body_timeout)
        try:
            rows = predict_rows(body, settings.max_batch_rows)
        except PayloadError as exc:
            return _payload_error(exc)
        one = body.lstrip()[:1] == b"{"
        return await _score(request, rows, one)

    @api.post(
        "/invocations",
        response_model=InvocationsResponse,
        summary="MLflow scoring: dataframe_split, dataframe_records, instances, inputs or CSV",
        openapi_extra={"requestBody": invocations_body},
    )
    async def invocations(request: Request) -> Response:
        _require_model(request)  # 503 before reading a body that cannot be scored
        body = await limits.read_body(request, settings.max_body_bytes, settings.body_timeout)
        content_type = request.headers.get("content-type", _JSON)
        try:
            rows = invocation_rows(body, content_type, settings.max_batch_rows)
        except PayloadError as exc:
            return _payload_error(exc)
        return await _score(request, rows, len(rows) == 1)

    @api.get(
        "/metadata",
        tags=["model"],
        summary="Model, engine and parity check, run, training metrics, digest, versions",
        response_model=dict[str, Any],
    )
    async def metadata(request: Request) -> Response:
        return JSONResponse(dict(_require_model(request).model.metadata))

    return api


def probe_router(settings: Settings) -> APIRouter:
    api = APIRouter(tags=["probes"])
    ready = {
        "type": "object",
        "properties": {"status": {"type": "string"}, "detail": {"type": "string"}},
    }

    @api.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get(
        "/readyz",
        summary="Readiness: 503 until the model is loaded (or with the reason it failed to load)",
        responses={503: {"description": "Not ready", "content": {_JSON: {"schema": ready}}}},
    )
    async def readyz(request: Request) -> JSONResponse:
        service = request.app.state.service
        if service.model is None:
            detail = (
                f"the model failed to load: {service.load_error}"
                if service.load_error
                else "loading"
            )
            return JSONResponse({"status": "not ready", "detail": detail}, status_code=503)
        return JSONResponse({"status": "ready"})

    return api


def metrics_router(settings: Settings) -> APIRouter:
    from app.metrics import CONTENT_TYPE

    api = APIRouter(tags=["probes"], dependencies=security.dependencies(settings.api_key))

    @api.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {"content": {"text/plain": {"schema": {"type": "string"}}}},
            401: ERRORS[401],
        },
    )
    async def metrics(request: Request) -> Response:
        return Response(request.app.state.service.metrics.render(), media_type=CONTENT_TYPE)

    return api
