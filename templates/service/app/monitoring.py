"""Drift monitoring inside the service: a bounded store of the inputs served, the training
reference sample, and the drift check of Evidently 0.7's default tests.

The tests live in ``app/statistics.py``: a byte-for-byte copy of ``mlops_nb.monitoring.stats``,
the module ``mlops_nb.drift`` runs (numpy only: Evidently and SciPy are too large for the image).
Number columns are numerical, integer columns numerical above 10 distinct reference values, and
everything else categorical (compared as strings).
"""

from __future__ import annotations

import asyncio
import csv
import itertools
import json
import time
from collections import deque
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from app import statistics
from app.schema import COLUMN_TYPES, INPUT_COLUMNS

MAX_SAMPLE = statistics.EXACT_KS_UP_TO  # n is capped here: KS p-values stay exact (no SciPy)


class InputStore:
    """The most recent input rows (a ring buffer), optionally flushed to rotating JSONL files."""

    def __init__(self, capacity: int, directory: Path | None = None, max_files: int = 5) -> None:
        self.rows: deque[tuple[Any, ...]] = deque(maxlen=capacity)
        self.total_seen = 0
        self.directory = directory
        self.max_files = max_files
        self._pending: list[tuple[Any, ...]] = []

    def record(self, rows: Any) -> None:
        """O(rows), no I/O: called on the request path (tuples, or the rows of a number matrix)."""
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


class Reference:
    """The training reference sample and each column's side of the tests, prepared at startup."""

    def __init__(self, path: Path) -> None:
        rows = reference_rows(path)
        self.records: list[dict[str, Any]] = [
            dict(zip(INPUT_COLUMNS, row, strict=True)) for row in rows
        ]
        self.rows = len(rows)
        raw = {column: [row[i] for row in rows] for i, column in enumerate(INPUT_COLUMNS)}
        self.kinds = {column: _kind(column, raw[column]) for column in INPUT_COLUMNS}
        self.columns = {
            column: _prepare(self.kinds[column], raw[column]) for column in INPUT_COLUMNS
        }


def reference_rows(path: Path, limit: int | None = None) -> list[tuple[Any, ...]]:
    """The reference sample's rows (the first ``limit``, or all), parsed as request rows
    (``INPUT_COLUMNS`` order)."""
    kinds = [COLUMN_TYPES.get(c, "string") for c in INPUT_COLUMNS]
    with path.open(newline="") as handle:
        reader = csv.DictReader(handle)
        return [
            tuple(_parse(row.get(c), k) for c, k in zip(INPUT_COLUMNS, kinds, strict=True))
            for row in itertools.islice(reader, limit)
        ]


def _kind(column: str, values: list[Any]) -> str:
    json_type = COLUMN_TYPES.get(column)
    if json_type == "number":
        return "num"
    if json_type == "integer":
        return statistics.integer_kind(len({v for v in values if v is not None}))
    return "cat"


def _prepare(kind: str, values: list[Any]) -> statistics.ColumnValues:
    if kind == "num":
        return statistics.ColumnValues.numerical(values)
    return statistics.ColumnValues.categorical(str(v) for v in values if v is not None)


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


def compute_drift(reference: Reference, rows: list[tuple[Any, ...]]) -> dict[str, Any]:
    """Each column's default test (``app/statistics.py``, the same module as mlops_nb.drift's)."""
    columns: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for index, name in enumerate(INPUT_COLUMNS):
        ref = reference.columns[name]
        current = _prepare(reference.kinds[name], [row[index] for row in rows])
        if ref.n == 0 or current.n == 0:
            side = "training reference" if ref.n == 0 else "recorded inputs"
            skipped[name] = f"not compared: no values in the {side} (every one is null)"
            continue
        result = statistics.run_test(ref, current)
        columns[name] = {
            "type": reference.kinds[name],
            "stattest": result.stattest,
            "score": result.score,
            "threshold": result.threshold,
            "drifted": result.drifted,
        }
    return {
        **statistics.dataset_verdict([c["drifted"] for c in columns.values()]),
        "reference_rows": reference.rows,
        "current_rows": len(rows),
        "columns": columns,
        "skipped_columns": skipped,
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
        503: {
            "description": "The reference sample is not loaded: still loading (retry shortly) "
            "or it failed to load (see the service log)",
            "content": {"application/json": {"schema": NOT_LOADED_SCHEMA}},
        }
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
        service = request.app.state.service
        ref: Reference | None = await service.loaded_reference()
        if ref is None:
            return _not_loaded(service)
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
        ref: Reference | None = await service.loaded_reference()
        if ref is None:
            return _not_loaded(service)
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


#: the monitoring routes' 503: ``reference`` says whether to retry ("loading") or not ("failed")
NOT_LOADED_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "detail": {"type": "string"},
        "reference": {"type": "string", "enum": ["loading", "failed"]},
    },
    "required": ["detail", "reference"],
}


def _not_loaded(service: Any) -> JSONResponse:
    reason = service.reference_error
    if reason:
        detail = f"the reference sample failed to load ({reason}); see the service log"
        return JSONResponse({"detail": detail, "reference": "failed"}, status_code=503)
    detail = "the reference sample is not loaded yet; retry shortly"
    return JSONResponse({"detail": detail, "reference": "loading"}, status_code=503)
