"""Prometheus metrics (``prometheus_client``, one registry per app) and the ASGI middleware that
times every request under its route's path template (taken from the router, never listed here)."""

from __future__ import annotations

import math
import time
from collections import Counter as _Tally
from collections.abc import Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    """Requests, latency, errors, and the distribution of predictions."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: counters and histograms only
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "http_requests",
            "Requests by route, method and status code.",
            ["route", "method", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "http_request_duration_seconds",
            "Request latency by route.",
            ["route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.model_errors = Counter("model_errors", "Inputs the model could not score.", registry=r)
        self.rows = Counter("predictions_rows", "Rows scored.", registry=r)
        self.recorded = Counter(
            "monitoring_inputs_recorded", "Input rows recorded for drift monitoring.", registry=r
        )
        self.model_loaded = Gauge(
            "model_loaded", "1 once the model is loaded and verified.", registry=r
        )
        self.classes: Counter | None = None
        self.values: Histogram | None = None
        self._per_class: dict[Any, Any] = {}

    def set_prediction_buckets(self, classification: bool, reference: Sequence[Any]) -> None:
        """Count classes; or put regression values in a histogram cut at the reference's deciles."""
        if classification:
            self.classes = Counter(
                "predictions", "Predictions by predicted class.", ["class"], registry=self.registry
            )
            return
        finite = sorted(
            float(v) for v in reference if isinstance(v, int | float) and math.isfinite(v)
        )
        qs = (
            [finite[min(len(finite) - 1, len(finite) * q // 10)] for q in range(1, 10)]
            if finite
            else [0.0]
        )
        self.values = Histogram(
            "prediction_value",
            "Distribution of predicted values.",
            buckets=sorted(set(qs)),
            registry=self.registry,
        )

    def observe_predictions(self, predictions: list[Any]) -> None:
        self.rows.inc(len(predictions))
        if self.classes is not None:
            # one increment per class seen in this request (a batch is counted in C first)
            counts = {predictions[0]: 1} if len(predictions) == 1 else _Tally(predictions)
            for p, n in counts.items():
                child = self._per_class.get(p)
                if child is None:
                    child = self._per_class[p] = self.classes.labels(str(p))
                child.inc(n)
        elif self.values is not None:
            for p in predictions:
                self.values.observe(float(p))

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class RequestMetrics:
    """Pure ASGI middleware: counts and times each request under ``scope["route"].path`` (the
    route the router matched; ``other`` when none did)."""

    def __init__(self, app: Any, metrics: Metrics, access_log: Any = None) -> None:
        self.app = app
        self.metrics = metrics
        self.access_log = access_log
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            key = (route.path if route is not None else "other", scope["method"], status)
            children = self._children.get(key)
            if children is None:
                children = self._children[key] = (
                    self.metrics.requests.labels(*key),
                    self.metrics.latency.labels(key[0]),
                )
            children[0].inc()
            children[1].observe(elapsed)
            if self.access_log is not None:
                self.access_log(
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 3),
                )
