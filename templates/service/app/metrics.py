"""Prometheus metrics (``prometheus_client``, one registry per app) and the ASGI middleware that
times every request under its route's path template (taken from the router, never listed here).

What changes on every request (requests, latency, rows scored, predicted classes or values, rows
recorded) is tallied in plain numbers by :class:`Tallies`, a custom collector (prometheus_client's
documented way to expose numbers kept elsewhere) that turns them into metric families when
``/metrics`` is scraped. A ``Counter`` or ``Histogram`` takes a lock on every update (0.3-0.7 µs
each, five updates a request); the tallies need none, because every update and every scrape runs
on the event loop's thread (a large batch is scored in the threadpool, but counted on the loop
once it is scored). Rare events (a model error, the model loaded) stay ``prometheus_client``'s own
``Counter`` and ``Gauge``.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import Counter as _Count
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class _Histogram:
    """One histogram's counts: one per bucket (not cumulative), one above the last bound, and the
    sum of the values. A value equal to a bound is counted in that bound's bucket (``le``)."""

    __slots__ = ("bounds", "counts", "total")

    def __init__(self, bounds: Sequence[float]) -> None:
        self.bounds = tuple(bounds)
        self.counts = [0] * (len(self.bounds) + 1)
        self.total = 0.0

    def observe(self, value: float) -> None:
        self.counts[bisect_left(self.bounds, value)] += 1
        self.total += value

    def buckets(self) -> list[tuple[str, float]]:
        """Cumulative counts under each ``le`` label, ``+Inf`` last (Prometheus' format)."""
        out, running = [], 0
        for bound, count in zip((*self.bounds, math.inf), self.counts, strict=True):
            running += count
            out.append((floatToGoString(bound), float(running)))
        return out


class Tallies(Collector):
    """The per-request numbers, kept on the event loop's thread and collected when scraped."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = {}
        self.latency: dict[str, _Histogram] = {}
        self.rows = 0
        self.recorded = 0
        self.classes: dict[Any, int] | None = None  # predicted class -> count (a classifier)
        self.values: _Histogram | None = None  # predicted values (a regressor)

    def request(self, route: str, method: str, status: int, seconds: float) -> None:
        key = (route, method, status)
        self.requests[key] = self.requests.get(key, 0) + 1
        latency = self.latency.get(route)
        if latency is None:
            latency = self.latency[route] = _Histogram(LATENCY_BUCKETS)
        latency.observe(seconds)

    def collect(self) -> Iterator[Metric]:
        requests = CounterMetricFamily(
            "http_requests",
            "Requests by route, method and status code.",
            labels=["route", "method", "status"],
        )
        for (route, method, status), n in self.requests.items():
            requests.add_metric([route, method, str(status)], n)
        yield requests
        latency = HistogramMetricFamily(
            "http_request_duration_seconds", "Request latency by route.", labels=["route"]
        )
        for route, histogram in self.latency.items():
            latency.add_metric([route], histogram.buckets(), histogram.total)
        yield latency
        yield CounterMetricFamily("predictions_rows", "Rows scored.", value=self.rows)
        yield CounterMetricFamily(
            "monitoring_inputs_recorded",
            "Input rows recorded for drift monitoring.",
            value=self.recorded,
        )
        if self.classes is not None:
            classes = CounterMetricFamily(
                "predictions", "Predictions by predicted class.", labels=["class"]
            )
            for label, n in self.classes.items():  # the model's classes: no two print alike
                classes.add_metric([str(label)], n)
            yield classes
        if self.values is not None:
            values = HistogramMetricFamily("prediction_value", "Distribution of predicted values.")
            values.add_metric([], self.values.buckets(), self.values.total)
            yield values


class Metrics:
    """Requests, latency, errors, and the distribution of predictions."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series
        self.registry = CollectorRegistry()
        self.tallies = Tallies()
        self.registry.register(self.tallies)
        r = self.registry
        self.model_errors = Counter("model_errors", "Inputs the model could not score.", registry=r)
        self.model_loaded = Gauge(
            "model_loaded", "1 once the model is loaded and verified.", registry=r
        )

    def set_prediction_buckets(self, classification: bool, reference: Sequence[Any]) -> None:
        """Count classes; or put regression values in a histogram cut at the reference's deciles."""
        if classification:
            self.tallies.classes = {}
            return
        finite = sorted(
            float(v) for v in reference if isinstance(v, int | float) and math.isfinite(v)
        )
        qs = (
            [finite[min(len(finite) - 1, len(finite) * q // 10)] for q in range(1, 10)]
            if finite
            else [0.0]
        )
        self.tallies.values = _Histogram(sorted(set(qs)))

    def observe_predictions(self, predictions: list[Any]) -> None:
        tallies = self.tallies
        tallies.rows += len(predictions)
        classes = tallies.classes
        if classes is not None:
            if len(predictions) == 1:
                p = predictions[0]
                classes[p] = classes.get(p, 0) + 1
            else:  # a batch is counted in C first
                for p, n in _Count(predictions).items():
                    classes[p] = classes.get(p, 0) + n
        elif tallies.values is not None:
            for p in predictions:
                tallies.values.observe(float(p))

    def record_inputs(self, rows: int) -> None:
        self.tallies.recorded += rows

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


class RequestMetrics:
    """Pure ASGI middleware: counts and times each request under ``scope["route"].path`` (the
    route the router matched; ``other`` when none did)."""

    def __init__(self, app: Any, metrics: Metrics, access_log: Any = None) -> None:
        self.app = app
        self.access_log = access_log
        self.tallies = metrics.tallies

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
            self.tallies.request(*key, elapsed)
            if self.access_log is not None:
                self.access_log(
                    method=scope["method"],
                    path=scope["path"],
                    status=status,
                    ms=round(elapsed * 1000, 3),
                )
