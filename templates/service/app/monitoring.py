"""Drift monitoring inside the service: a bounded store of the inputs served, the training
reference sample, and a drift check that reproduces Evidently 0.7's default tests with numpy only
(``app/statistics.py``; Evidently and SciPy are too large for the image).

Default tests (as Evidently's ``DataDriftPreset``): with a reference of <= 1000 rows, numeric
columns use the Kolmogorov-Smirnov p-value (drift when <= 0.05) and categorical columns the
chi-square p-value (< 0.05), or a two-proportion z-test for <= 2 values; with > 1000 rows, numeric
columns use the Wasserstein distance normed by the reference's std (drift when >= 0.1) and
categorical ones the Jensen-Shannon distance (>= 0.1). Integer columns with <= 10 distinct values in
the reference are categorical, and numeric columns with <= 5 distinct values are tested like
categorical ones. The dataset drifts when the share of drifted columns is >= 0.5.
"""

from __future__ import annotations

import asyncio
import csv
import json
import time
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app import statistics
from app.schema import COLUMN_TYPES, INPUT_COLUMNS

SHARE_THRESHOLD = 0.5
MAX_SAMPLE = 10_000  # n is capped here


class InputStore:
    """The most recent input rows (a ring buffer), optionally flushed to rotating JSONL files."""

    def __init__(self, capacity: int, directory: Path | None = None, max_files: int = 5) -> None:
        self.rows: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self.total_seen = 0
        self.directory = directory
        self.max_files = max_files
        self._pending: list[tuple[Any, ...]] = []

    def record(self, rows: list[tuple[Any, ...]]) -> None:
        """O(rows), no I/O: called on the request path."""
        self.rows.extend(rows)
        self.total_seen += len(rows)
        if self.directory is not None:
            self._pending.extend(rows)
            if len(self._pending) > self.rows.maxlen:  # type: ignore[operator]
                del self._pending[: len(self._pending) - self.rows.maxlen]  # type: ignore[operator]

    def latest(self, n: int) -> list[tuple[Any, ...]]:
        if n <= 0:
            return []
        rows = list(self.rows)
        return rows[-n:]

    def flush(self) -> int:
        """Append pending rows to a new JSONL file; keep the newest ``max_files`` files."""
        if self.directory is None or not self._pending:
            return 0
        pending, self._pending = self._pending, []
        self.directory.mkdir(parents=True, exist_ok=True)
        path = self.directory / f"inputs-{time.strftime('%Y%m%dT%H%M%S')}-{self.total_seen}.jsonl"
        with path.open("w") as handle:
            for row in pending:
                handle.write(
                    json.dumps(dict(zip(INPUT_COLUMNS, row, strict=True)), default=str) + "\n"
                )
        files = sorted(self.directory.glob("inputs-*.jsonl"))
        for old in files[: -self.max_files]:
            old.unlink(missing_ok=True)
        return len(pending)

    async def flush_forever(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await asyncio.to_thread(self.flush)


INTEGER_CARDINALITY_LIMIT = 10  # integer columns with this few values are categorical


def _is_numeric(column: str) -> bool:
    return COLUMN_TYPES.get(column) in ("number", "integer")


@dataclass
class ColumnReference:
    name: str
    numeric: bool
    values: np.ndarray  # non-missing reference values
    std: float


class Reference:
    """The training reference sample and its statistics, computed once at startup."""

    def __init__(self, path: Path) -> None:
        with path.open(newline="") as handle:
            reader = csv.DictReader(handle)
            raw: dict[str, list[Any]] = {c: [] for c in INPUT_COLUMNS}
            self.records: list[dict[str, Any]] = []
            for row in reader:
                record = {}
                for column in INPUT_COLUMNS:
                    value = _parse(row.get(column), COLUMN_TYPES.get(column, "string"))
                    record[column] = value
                    raw[column].append(value)
                self.records.append(record)
        self.rows = len(self.records)
        self.columns: dict[str, ColumnReference] = {}
        for column in INPUT_COLUMNS:
            numeric = _is_numeric(column)
            if numeric and COLUMN_TYPES.get(column) == "integer":  # Evidently 0.7's rule
                numeric = len({v for v in raw[column] if v is not None}) > INTEGER_CARDINALITY_LIMIT
            values = _clean(raw[column], numeric)
            std = float(np.std(values)) if numeric and len(values) else 0.0
            self.columns[column] = ColumnReference(column, numeric, values, std)


def _parse(value: str | None, kind: str) -> Any:
    if value is None or value == "":
        return None
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(float(value))
    if kind == "boolean":
        return value in ("True", "true", "1")
    return value


def _clean(values: list[Any], numeric: bool) -> np.ndarray:
    if numeric:
        array = np.asarray([np.nan if v is None else v for v in values], dtype=np.float64)
        return array[~np.isnan(array)]
    return np.asarray([str(v) for v in values if v is not None], dtype=object)


def _counts(keys: list[Any], values: np.ndarray) -> np.ndarray:
    uniques, counts = np.unique(values, return_counts=True)
    lookup = dict(zip(uniques.tolist(), counts.tolist(), strict=True))
    return np.asarray([lookup.get(k, 0) for k in keys], dtype=np.float64)


def _stattest(
    ref: ColumnReference, cur: np.ndarray, reference_rows: int
) -> tuple[str, float, float, bool]:
    """(name, score, threshold, drifted) as Evidently 0.7 chooses and computes them."""
    n_values = (
        len(np.unique(np.concatenate([ref.values, cur])))
        if ref.numeric
        else len(set(ref.values.tolist()) | set(cur.tolist()))
    )
    small = reference_rows <= 1000
    as_categorical = not ref.numeric or n_values <= 5
    if small and as_categorical and n_values <= 2:
        return ("z", *_z_test(ref.values, cur))
    if small and as_categorical:
        return ("chisquare", *_chi_square(ref.values, cur))
    if small:
        p_value = statistics.ks_pvalue(ref.values, cur)
        return "ks", p_value, 0.05, p_value <= 0.05
    if as_categorical:
        return ("jensenshannon", *_jensen_shannon(ref, cur, categorical=True))
    if ref.numeric:
        norm = max(ref.std, 0.001)
        score = statistics.wasserstein(ref.values, cur) / norm
        return "wasserstein", score, 0.1, score >= 0.1
    return ("jensenshannon", *_jensen_shannon(ref, cur, categorical=True))


def _keys(ref: np.ndarray, cur: np.ndarray) -> list[Any]:
    return list(set(ref.tolist()) | set(cur.tolist()))


def _z_test(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, bool]:
    keys = sorted(_keys(ref, cur), key=str)
    if len(set(ref.tolist())) == 1 and len(set(cur.tolist())) == 1 and ref[0] == cur[0]:
        return 1.0, 0.05, False
    p1 = float(np.sum(ref != keys[0])) / len(ref)
    p2 = float(np.sum(cur != keys[0])) / len(cur)
    pooled = (p1 * len(ref) + p2 * len(cur)) / (len(ref) + len(cur))
    denom = np.sqrt(pooled * (1 - pooled) * (1.0 / len(ref) + 1.0 / len(cur)))
    z = (p1 - p2) / denom if denom else 0.0
    p_value = statistics.normal_sf_two_sided(float(z))
    return p_value, 0.05, p_value < 0.05


def _chi_square(ref: np.ndarray, cur: np.ndarray) -> tuple[float, float, bool]:
    keys = _keys(ref, cur)
    expected = _counts(keys, ref) * (len(cur) / len(ref))
    observed = _counts(keys, cur)
    with np.errstate(all="ignore"):
        p_value = statistics.chisquare_pvalue(observed, expected)
    if np.isnan(p_value):
        p_value = 0.0
    return p_value, 0.05, p_value < 0.05


def _jensen_shannon(
    ref: ColumnReference, cur: np.ndarray, categorical: bool
) -> tuple[float, float, bool]:
    if ref.numeric and len(np.unique(ref.values)) > 20:
        combined = np.concatenate([ref.values, cur])
        bins = np.histogram_bin_edges(combined, bins="sturges")
        p = np.histogram(ref.values, bins)[0] / len(ref.values)
        q = np.histogram(cur, bins)[0] / len(cur)
    else:
        keys = _keys(ref.values, cur)
        p = _counts(keys, ref.values) / len(ref.values)
        q = _counts(keys, cur) / len(cur)
    score = statistics.jensenshannon(p, q)
    return score, 0.1, score >= 0.1


def compute_drift(reference: Reference, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    columns: dict[str, Any] = {}
    for index, name in enumerate(INPUT_COLUMNS):
        ref = reference.columns[name]
        current = _clean([row[index] for row in rows], ref.numeric)
        if len(ref.values) == 0 or len(current) == 0:
            continue
        stattest, score, threshold, drifted = _stattest(ref, current, reference.rows)
        columns[name] = {
            "type": "num" if ref.numeric else "cat",
            "stattest": stattest,
            "score": score,
            "threshold": threshold,
            "drifted": bool(drifted),
        }
    n_drifted = sum(1 for c in columns.values() if c["drifted"])
    share = n_drifted / len(columns) if columns else 0.0
    return {
        "dataset_drift": bool(columns) and share >= SHARE_THRESHOLD,
        "drift_share": share,
        "n_drifted": n_drifted,
        "n_columns": len(columns),
        "share_threshold": SHARE_THRESHOLD,
        "reference_rows": reference.rows,
        "current_rows": len(rows),
        "columns": columns,
    }


def router(settings: Any) -> APIRouter:
    from app import security

    api = APIRouter(
        prefix="/monitoring",
        tags=["monitoring"],
        dependencies=security.dependencies(settings.api_key),
        responses={401: {"description": "Missing or invalid X-API-Key (when API_KEY is set)"}},
    )
    not_loaded: dict[int | str, dict[str, Any]] = {
        503: {"description": "The reference sample is not loaded yet"}
    }

    @api.get("/sample", summary="Most recent input records served")
    async def sample(request: Request, n: int = Query(1000, ge=1, le=MAX_SAMPLE)) -> dict[str, Any]:
        store: InputStore = request.app.state.service.store
        rows = store.latest(n)
        return {
            "records": [dict(zip(INPUT_COLUMNS, row, strict=True)) for row in rows],
            "total_seen": store.total_seen,
        }

    @api.get("/reference", summary="The training reference sample", responses=not_loaded)
    async def reference(request: Request, n: int = Query(1000, ge=1, le=MAX_SAMPLE)) -> Any:
        ref: Reference | None = request.app.state.service.reference
        if ref is None:
            return JSONResponse(
                {"detail": "the reference sample is not loaded yet"}, status_code=503
            )
        return {"records": ref.records[:n], "total": ref.rows}

    @api.get(
        "/drift",
        summary="Drift of recorded inputs against the training reference",
        responses={
            **not_loaded,
            409: {"description": "Too few input rows recorded yet (MONITOR_MIN_ROWS)"},
        },
    )
    async def drift(request: Request, n: int | None = Query(None, ge=1, le=MAX_SAMPLE)) -> Any:
        service = request.app.state.service
        ref: Reference | None = service.reference
        if ref is None:
            return JSONResponse(
                {"detail": "the reference sample is not loaded yet"}, status_code=503
            )
        store: InputStore = service.store
        rows = store.latest(min(n or len(store.rows), MAX_SAMPLE))
        needed = service.settings.monitor_min_rows
        if len(rows) < needed:
            return JSONResponse(
                {
                    "detail": f"only {len(rows)} input rows recorded; "
                    f"drift needs at least {needed}",
                    "current_rows": len(rows),
                    "min_rows": needed,
                },
                status_code=409,
            )
        return await asyncio.to_thread(compute_drift, ref, rows)

    return api
