"""Prometheus metrics, in the text exposition format (no client library needed)."""

from __future__ import annotations

import bisect
import math
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


class Histogram:
    def __init__(self, buckets: Sequence[float]) -> None:
        self.buckets = tuple(buckets)
        self.counts = [0] * (len(self.buckets) + 1)
        self.total = 0.0
        self.n = 0

    def observe(self, value: float) -> None:
        self.counts[bisect.bisect_left(self.buckets, value)] += 1
        self.total += value
        self.n += 1

    def lines(self, name: str, labels: str) -> list[str]:
        out, running = [], 0
        sep = "," if labels else ""
        for bound, count in zip(self.buckets, self.counts, strict=False):
            running += count
            out.append(f'{name}_bucket{{{labels}{sep}le="{bound}"}} {running}')
        out.append(f'{name}_bucket{{{labels}{sep}le="+Inf"}} {self.n}')
        out.append(f"{name}_sum{{{labels}}} {self.total}")
        out.append(f"{name}_count{{{labels}}} {self.n}")
        return out


def _escape(value: Any) -> str:
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Requests, latency, errors, and the distribution of predictions."""

    def __init__(self) -> None:
        self.requests: dict[tuple[str, str, int], int] = defaultdict(int)
        self.latency: dict[str, Histogram] = {}
        self.model_errors = 0
        self.rejected: dict[str, int] = defaultdict(int)
        self.class_counts: dict[str, int] = defaultdict(int)
        self.value_hist: Histogram | None = None
        self.classification = True
        self.rows = 0
        self.model_loaded = 0

    def set_prediction_buckets(self, classification: bool, reference: Sequence[float]) -> None:
        self.classification = classification
        if not classification:
            finite = sorted(v for v in reference if isinstance(v, int | float) and math.isfinite(v))
            if finite:
                qs = [finite[min(len(finite) - 1, int(len(finite) * q / 10))] for q in range(1, 10)]
                self.value_hist = Histogram(sorted(set(qs)))
            else:
                self.value_hist = Histogram((0.0,))

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests[(route, method, status)] += 1
        hist = self.latency.get(route)
        if hist is None:
            hist = self.latency[route] = Histogram(LATENCY_BUCKETS)
        hist.observe(seconds)

    def observe_predictions(self, predictions: list[Any]) -> None:
        self.rows += len(predictions)
        if self.classification:
            counts = self.class_counts
            for p in predictions:
                counts[str(p)] += 1
        elif self.value_hist is not None:
            for p in predictions:
                self.value_hist.observe(float(p))

    def render(self, recorded_total: int) -> str:
        lines = [
            "# HELP http_requests_total Requests by route, method and status code.",
            "# TYPE http_requests_total counter",
        ]
        for (route, method, status), count in sorted(self.requests.items()):
            lines.append(
                f'http_requests_total{{route="{_escape(route)}",method="{method}",status="{status}"}} {count}'
            )
        lines += [
            "# HELP http_request_duration_seconds Request latency by route.",
            "# TYPE http_request_duration_seconds histogram",
        ]
        for route, hist in sorted(self.latency.items()):
            lines += hist.lines("http_request_duration_seconds", f'route="{_escape(route)}"')
        errors = sum(c for (_, _, s), c in self.requests.items() if s >= 400)
        lines += [
            "# HELP http_request_errors_total Requests answered with a 4xx or 5xx status.",
            "# TYPE http_request_errors_total counter",
            f"http_request_errors_total {errors}",
            "# HELP model_errors_total Inputs the model could not score.",
            "# TYPE model_errors_total counter",
            f"model_errors_total {self.model_errors}",
            "# HELP predictions_rows_total Rows scored.",
            "# TYPE predictions_rows_total counter",
            f"predictions_rows_total {self.rows}",
            "# HELP monitoring_inputs_recorded_total Input rows recorded for drift monitoring.",
            "# TYPE monitoring_inputs_recorded_total counter",
            f"monitoring_inputs_recorded_total {recorded_total}",
            "# HELP model_loaded 1 once the model is loaded and verified.",
            "# TYPE model_loaded gauge",
            f"model_loaded {self.model_loaded}",
        ]
        if self.classification:
            lines += [
                "# HELP predictions_total Predictions by predicted class.",
                "# TYPE predictions_total counter",
            ]
            for label, count in sorted(self.class_counts.items()):
                lines.append(f'predictions_total{{class="{_escape(label)}"}} {count}')
        elif self.value_hist is not None:
            lines += [
                "# HELP prediction_value Distribution of predicted values.",
                "# TYPE prediction_value histogram",
                *self.value_hist.lines("prediction_value", ""),
            ]
        return "\n".join(lines) + "\n"
