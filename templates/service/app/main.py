"""The app factory: ``uvicorn --factory app.main:create_app`` (``python -m app.server`` runs it).

The model is loaded once, in ``lifespan``, in the background: ``/healthz`` answers at once and
``/readyz`` says 503 until the model file's sha256 is checked and the model is loaded (or says why
it could not be loaded).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app import logs, model, monitoring, routes
from app.batching import MicroBatcher
from app.limits import ScoringSlots
from app.metrics import Metrics, RequestMetrics
from app.schema import INPUT_COLUMNS, SERVICE_NAME
from app.settings import Settings

#: seconds between the service saying ready and reading its drift reference
REFERENCE_DELAY = 1.0


class ServiceState:
    """Everything the routes share; built per app, never at import time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.model: model.LoadedModel | None = None
        self.reference: monitoring.Reference | None = None
        self.load_error: str | None = None
        self.reference_error: str | None = None
        self.reference_done = asyncio.Event()  # set once the reference is loaded, or failed to
        self.reference_wanted = asyncio.Event()  # a monitoring route asked for it
        self.batcher: MicroBatcher | None = None
        self.metrics = Metrics()
        self.slots = ScoringSlots(settings.max_concurrency)
        self.store = monitoring.InputStore(
            settings.monitor_capacity, settings.monitor_dir, settings.monitor_files
        )

    def load(self) -> None:
        """Load, check and warm up the model: after this the service is ready."""
        loaded = model.load(self.settings.model_dir, self.settings.engine)
        example = json.loads((self.settings.model_dir / "input_example.json").read_text())
        rows = [tuple(r[c] for c in INPUT_COLUMNS) for r in example["records"][:5]]
        loaded.predict_rows(rows)  # warm up the prediction path before saying ready
        regression = loaded.classes is None
        # a regressor's prediction histogram is cut at the deciles of its reference predictions
        sample = monitoring.reference_rows(self.reference_path, 1000) if regression else []
        predictions = loaded.predict_rows(sample) if sample else []
        self.metrics.set_prediction_buckets(not regression, predictions)
        if _micro_batch(self.settings.micro_batch):
            self.batcher = MicroBatcher(loaded.predict_rows, self.settings.micro_batch_rows)
        self.model = loaded
        self.metrics.model_loaded.set(1)

    def load_reference(self) -> None:
        """The drift reference, loaded once the service is ready (drift requests wait for it)."""
        self.reference = monitoring.Reference(self.reference_path)

    @property
    def reference_path(self) -> Path:
        return self.settings.model_dir / "reference.csv"

    async def loaded_reference(self, timeout: float = 10.0) -> monitoring.Reference | None:
        """The reference, waiting up to ``timeout`` seconds while it is being loaded."""
        if self.reference is None and not self.reference_done.is_set():
            self.reference_wanted.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.reference_done.wait(), timeout)
        return self.reference


def _settle_memory() -> None:
    """Once start-up is over: what it made (modules, the app, the model, the reference) is
    long-lived, so it is collected once and frozen out of later collections, and collection is
    turned back on (``app/server.py`` turns it off while the process starts)."""
    gc.collect()
    gc.freeze()
    gc.enable()


def _micro_batch(setting: str) -> bool:
    """MICRO_BATCH=on|off|auto; auto is on for every engine: bench_serve.py measures it about
    2.5 times as fast for scikit-learn and the feature code (one call on a few rows costs about
    what one row costs), and ~25% faster for onnxruntime at concurrency 8 (a run costs ~8 µs
    whatever the rows, ~30 µs between requests, when its code has left the CPU's caches). A
    lone request waits for nothing but one more poll of the loop (app/batching.py)."""
    return setting not in ("off", "0", "false")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    logs.configure(settings.log_level)
    state = ServiceState(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async def load() -> None:
            try:
                await asyncio.to_thread(state.load)
                engine = state.model.engine.name if state.model else None
                logs.event("model loaded", engine=engine)
            except Exception as exc:  # reported by /readyz and the log; the process stays up
                state.load_error = model.short_reason(exc)
                logs.event(
                    "model failed to load", logging.ERROR, error=f"{type(exc).__name__}: {exc}"
                )
            # parsing the reference holds the interpreter for ~0.1 s: the first readiness probes
            # are answered first, unless a monitoring route asks for it sooner
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(state.reference_wanted.wait(), REFERENCE_DELAY)
            try:
                await asyncio.to_thread(state.load_reference)
            except Exception as exc:  # the model still serves; the drift routes say why
                state.reference_error = (
                    "reference.csv is missing"
                    if isinstance(exc, FileNotFoundError)
                    else f"{type(exc).__name__} while reading reference.csv"
                )
                logs.event(
                    "reference failed to load", logging.ERROR, error=f"{type(exc).__name__}: {exc}"
                )
            finally:
                state.reference_done.set()
                await asyncio.to_thread(_settle_memory)

        loader = asyncio.create_task(load())
        flusher = None
        if settings.monitor_dir is not None:
            flusher = asyncio.create_task(state.store.flush_forever(settings.monitor_flush_seconds))
        try:
            yield
        finally:
            for task in (loader, flusher):
                if task is not None:
                    task.cancel()
            state.store.flush()

    app = FastAPI(
        title=SERVICE_NAME,
        description="Model service generated by mlops-nb. POST /predict with one record or a list.",
        version="1",
        lifespan=lifespan,
        # the service has its own Prometheus metrics and JSON logs: FastAPI's native OpenTelemetry
        # hooks off (each would check its providers on every request)
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    app.state.service = state
    _add_routes(
        app,
        routes.prediction_router(settings),
        routes.probe_router(settings),
        routes.metrics_router(settings),
        monitoring.router(settings),
    )
    app.add_exception_handler(RequestValidationError, _validation_error)  # type: ignore[arg-type]
    app.add_exception_handler(Exception, _internal_error)
    access = (lambda **fields: logs.event("request", **fields)) if settings.access_log else None
    app.add_middleware(RequestMetrics, metrics=state.metrics, access_log=access)
    return app


def _add_routes(app: FastAPI, *routers: APIRouter) -> None:
    """Add the routers' routes to the app's own router, as they are, ahead of its documentation
    routes (``/predict`` is matched first; no two paths overlap, so the order changes nothing else).

    Each ``APIRoute`` already carries what its ``APIRouter`` declares (prefix, tags, dependencies,
    responses, route class): FastAPI merges them when the route is created. ``app.include_router``
    would instead keep each router as a branch that FastAPI walks again on every request; for
    ``POST /predict`` that walk costs about as much as the model call (``benchmarks/bench_serve.py``
    measures both, in process). Nothing is included with a prefix of its own, so nothing else
    differs."""
    app.router.routes[:0] = [route for router in routers for route in router.routes]


async def _validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    details = [
        {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"detail": details}, status_code=422)


async def _internal_error(request: Request, exc: Exception) -> JSONResponse:
    logs.event("unhandled error", logging.ERROR, path=request.url.path, error=repr(exc))
    return JSONResponse({"detail": "internal error"}, status_code=500)
