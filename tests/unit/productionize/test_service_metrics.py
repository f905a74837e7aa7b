"""The service's Prometheus metrics (``templates/service/app/metrics.py``): the per-request
numbers are tallied without prometheus_client's locks and exposed through a custom collector;
what a scrape shows must be what prometheus_client's own ``Counter`` and ``Histogram`` would show
for the same requests and predictions."""

from __future__ import annotations

import random
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from support import scraped, template_module

METRICS = template_module("service", "app", "metrics.py")


def _requests(rng: random.Random) -> list[tuple[str, str, int, float]]:
    """Routes, statuses and latencies, some exactly on a bucket bound (``le`` includes it)."""
    routes = [("/predict", "POST"), ("/invocations", "POST"), ("other", "GET")]
    out = []
    for _ in range(500):
        route, method = rng.choice(routes)
        status = rng.choice([200, 200, 200, 422, 503])
        seconds = (
            rng.choice(METRICS.LATENCY_BUCKETS) if rng.random() < 0.2 else rng.expovariate(200)
        )
        out.append((route, method, status, seconds))
    out.append(("/predict", "POST", 200, 99.0))  # above the last bound: +Inf only
    return out


def test_requests_and_latency_show_what_prometheus_clients_own_metrics_would() -> None:
    requests = _requests(random.Random(7))
    metrics = METRICS.Metrics()
    for r in requests:
        metrics.tallies.request(*r)

    registry = CollectorRegistry()
    counter = Counter("http_requests", "d", ["route", "method", "status"], registry=registry)
    histogram = Histogram(
        "http_request_duration_seconds",
        "d",
        ["route"],
        buckets=METRICS.LATENCY_BUCKETS,
        registry=registry,
    )
    for route, method, status, seconds in requests:
        counter.labels(route, method, str(status)).inc()
        histogram.labels(route).observe(seconds)

    names = {"http_requests", "http_request_duration_seconds"}
    ours, theirs = scraped(metrics.render(), names), scraped(generate_latest(registry), names)
    sums = {k: ours.pop(k) - theirs.pop(k) for k in list(ours) if k[0].endswith("_sum")}
    assert ours == theirs
    assert all(abs(d) < 1e-9 for d in sums.values()), sums
    assert ours[("http_requests_total", (("method", "GET"), ("route", "other"), ("status", "503")))]


def _classes_scraped(metrics: Any) -> dict[str, float]:
    samples = scraped(metrics.render(), {"predictions", "predictions_rows"})
    return {dict(labels).get("class", name): v for (name, labels), v in samples.items()}


def test_predicted_classes_rows_and_recorded_inputs_are_counted_per_request() -> None:
    metrics = METRICS.Metrics()
    metrics.set_prediction_buckets(True, [])
    answered: list[Any] = []
    for predictions in (["yes"], ["no", "yes", "yes"], ["maybe"], ["yes"] * 40):
        metrics.observe_predictions(predictions)
        metrics.record_inputs(len(predictions))
        answered += predictions

    assert _classes_scraped(metrics) == {
        "yes": answered.count("yes"),
        "no": 1,
        "maybe": 1,
        "predictions_rows_total": len(answered),
    }
    recorded = scraped(metrics.render(), {"monitoring_inputs_recorded"})
    assert recorded == {("monitoring_inputs_recorded_total", ()): len(answered)}


def test_regression_values_land_in_the_reference_deciles_as_prometheus_client_would() -> None:
    rng = random.Random(3)
    reference = [rng.gauss(50, 10) for _ in range(1000)]
    metrics = METRICS.Metrics()
    metrics.set_prediction_buckets(False, reference)
    bounds = metrics.tallies.values.bounds
    assert len(bounds) == 9  # the deciles of the reference predictions
    values = [rng.gauss(50, 15) for _ in range(300)] + list(bounds)  # and each bound itself
    for i in range(0, len(values), 7):
        metrics.observe_predictions(values[i : i + 7])

    registry = CollectorRegistry()
    histogram = Histogram("prediction_value", "d", buckets=bounds, registry=registry)
    for v in values:
        histogram.observe(v)
    names = {"prediction_value"}
    ours, theirs = scraped(metrics.render(), names), scraped(generate_latest(registry), names)
    total = ("prediction_value_sum", ())
    assert abs(ours.pop(total) - theirs.pop(total)) < 1e-6
    assert ours == theirs
    assert ours[("prediction_value_count", ())] == len(values)
