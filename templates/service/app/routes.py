"""Prediction, probe and metadata endpoints."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

from app.guards import log_error
from app.model import PredictionError
from app.payloads import PayloadError, invocation_rows, predict_rows
from app.schema import EXAMPLE, InvocationsResponse, PredictResponse, Record

_JSON = {"content-type": "application/json"}
_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing or invalid X-API-Key (when API_KEY is set)"},
    413: {"description": "Body or batch too large"},
    422: {"description": "Invalid input, with field-level messages"},
    503: {"description": "Model not loaded yet, or too many concurrent requests"},
}


def _dumps(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


_NOT_READY = _dumps({"detail": "the model is still loading; retry shortly"})


def _json(body: Any, status: int = 200) -> Response:
    return Response(_dumps(body), status_code=status, headers=_JSON)


def _not_ready() -> Response:
    return Response(_NOT_READY, status_code=503, headers=_JSON)


def _reply(result: tuple[int, bytes]) -> Response:
    return Response(result[1], status_code=result[0], headers=_JSON)


def score(service: Any, rows: list[Any]) -> tuple[int, bytes]:
    """Predict, record the inputs for monitoring, count the predictions: (status, JSON body)."""
    try:
        predictions = service.model.predict_rows(rows)
    except PredictionError as exc:
        service.metrics.model_errors += 1
        detail = [{"loc": ["body"], "msg": f"the model could not score this input: {exc}",
                   "type": "model_error"}]
        return 422, _dumps({"detail": detail})
    service.store.record(rows)
    service.metrics.observe_predictions(predictions)
    return 200, _dumps({"predictions": predictions})


def handle_predict(service: Any, body: bytes, content_type: str) -> tuple[int, bytes]:
    """POST /predict, from the raw body (also called by the middleware's fast path)."""
    if service.model is None:
        return 503, _NOT_READY
    try:
        rows = predict_rows(body, service.settings.max_batch_rows)
    except PayloadError as exc:
        return exc.status, _dumps({"detail": exc.errors})
    return score(service, rows)


def handle_invocations(service: Any, body: bytes, content_type: str) -> tuple[int, bytes]:
    """POST /invocations (MLflow's scoring protocol), from the raw body."""
    if service.model is None:
        return 503, _NOT_READY
    try:
        rows = invocation_rows(body, content_type, service.settings.max_batch_rows)
    except PayloadError as exc:
        return exc.status, _dumps({"detail": exc.errors})
    return score(service, rows)


#: POST handlers the middleware may call directly with the body it has read (no routing layer)
FAST_POST = {"/predict": handle_predict, "/invocations": handle_invocations}


def router() -> APIRouter:
    api = APIRouter()
    record_schema = Record.model_json_schema(by_alias=True)
    many = {"type": "array", "items": {"$ref": "#/components/schemas/Record"}}

    @api.post(
        "/predict",
        response_model=PredictResponse,
        responses=_ERRORS,
        summary="Predict for one record or a list of records",
        tags=["predict"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {"oneOf": [{"$ref": "#/components/schemas/Record"}, many]},
                        "example": EXAMPLE,
                    }
                },
            }
        },
    )
    async def predict(request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/json")
        return _reply(handle_predict(request.app.state.service, await request.body(), content_type))

    @api.post(
        "/invocations",
        response_model=InvocationsResponse,
        responses=_ERRORS,
        summary="MLflow scoring protocol (dataframe_split, dataframe_records, instances, inputs, CSV)",
        tags=["predict"],
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "example": {"dataframe_records": [EXAMPLE]},
                        "schema": {"type": "object"},
                    },
                    "text/csv": {"schema": {"type": "string"}},
                },
            }
        },
    )
    async def invocations(request: Request) -> Response:
        content_type = request.headers.get("content-type", "application/json")
        service = request.app.state.service
        return _reply(handle_invocations(service, await request.body(), content_type))

    @api.get("/healthz", tags=["probes"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @api.get("/readyz", tags=["probes"], summary="Readiness: 503 until the model is loaded")
    async def readyz(request: Request) -> Response:
        service = request.app.state.service
        if service.model is None:
            detail = service.load_error or "loading"
            return _json({"status": "not ready", "detail": detail}, 503)
        return _json({"status": "ready"})

    @api.get("/metadata", tags=["model"], summary="Model, run, training metrics, digest, versions")
    async def metadata(request: Request) -> Response:
        service = request.app.state.service
        if service.model is None:
            return _not_ready()
        return _json(service.model.metadata)

    @api.get("/metrics", tags=["probes"], summary="Prometheus metrics", response_class=PlainTextResponse)
    async def metrics(request: Request) -> Response:
        service = request.app.state.service
        text = service.metrics.render(service.store.total_seen)
        return Response(text, media_type="text/plain; version=0.0.4")

    api.record_schema = record_schema  # type: ignore[attr-defined]
    return api


def internal_error(request: Request, exc: Exception) -> JSONResponse:
    log_error("unhandled error", path=request.url.path, error=repr(exc))
    return JSONResponse({"detail": "internal error"}, status_code=500)
