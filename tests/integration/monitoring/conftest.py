"""A tiny real FastAPI service speaking the ``/monitoring/*`` contract, served by uvicorn on
127.0.0.1 in a thread: what ``drift(service=URL)`` and ``mlops-nb drift --service`` talk to.

It records the inputs of ``POST /predict`` in a bounded window and computes ``/monitoring/drift``
in the service (numpy/scipy, with the reference's statistics prepared once at start-up), as the
services made by ``mlops-nb productionize`` do.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pytest
from drift_data import customers
from support import free_port


def make_app(
    reference: pd.DataFrame, window: int = 1000, broken: bool = False, api_key: str | None = None
) -> Any:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

    from mlops_nb.monitoring.drift import build_summary, column_drift
    from mlops_nb.monitoring.frames import normalize
    from mlops_nb.monitoring.profile import build_profile, prepare_side

    profile = build_profile(reference, cap=None)
    recent: collections.deque[dict[str, Any]] = collections.deque(maxlen=window)
    seen = {"total": 0}
    app = FastAPI()

    @app.middleware("http")
    async def require_key(request: Request, call_next: Any) -> Any:
        if api_key and request.headers.get("x-api-key") != api_key:
            return JSONResponse({"detail": "missing or invalid X-API-Key header"}, 401)
        return await call_next(request)

    @app.post("/predict")
    def predict(payload: dict[str, Any]) -> dict[str, Any]:
        records = payload.get("records") or [payload]
        recent.extend(records)
        seen["total"] += len(records)
        return {"predictions": [0.5] * len(records)}

    @app.get("/monitoring/sample")
    def sample(n: int = 1000) -> dict[str, Any]:
        return {"records": list(recent)[-n:], "total_seen": seen["total"]}

    @app.get("/monitoring/reference")
    def reference_rows(n: int = 1000) -> dict[str, Any]:
        rows = reference.head(n).to_dict("records")
        return {"records": rows, "total": len(reference)}

    @app.get("/monitoring/drift")
    def drift_summary() -> dict[str, Any]:
        if broken:
            return {"dataset_drift": False}
        current = normalize(pd.DataFrame.from_records(list(recent)), profile.specs)
        values = prepare_side(current, profile.specs, "current")
        results = [column_drift(s, profile.values[s.name], values[s.name]) for s in profile.specs]
        summary = build_summary(
            results,
            reference_rows=len(profile.frame),
            current_rows=len(current),
            sampling={},
            source="service",
        )
        for key in ("drifted_columns", "sampling", "source"):
            summary.pop(key)
        for col in summary["columns"].values():
            col.pop("role")
        return summary

    return app


@dataclass
class Service:
    url: str
    reference: pd.DataFrame

    def send(self, frame: pd.DataFrame, batch: int = 100) -> None:
        import httpx

        with httpx.Client(base_url=self.url, timeout=30) as client:
            for start in range(0, len(frame), batch):
                rows = frame.iloc[start : start + batch].to_dict("records")
                client.post("/predict", json={"records": rows}).raise_for_status()


def _serve(app: Any) -> Iterator[str]:
    import uvicorn

    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test service did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def service() -> Iterator[Service]:
    reference = customers(2000, seed=1)
    for url in _serve(make_app(reference)):
        yield Service(url, reference)


@pytest.fixture
def keyed_service() -> Iterator[Service]:
    reference = customers(1500, seed=1)
    for url in _serve(make_app(reference, api_key="s3cret")):
        yield Service(url, reference)


@pytest.fixture
def broken_service() -> Iterator[str]:
    yield from _serve(make_app(customers(200, seed=1), broken=True))
