"""Adaptive micro-batching: single-record requests that are waiting at the same moment are scored
as one batch. The first request of a batch schedules the flush for the event loop's next turn, so
a lone request waits for nothing, and requests that arrive together (up to ``max_rows``) share
one model call. Scoring a few rows costs about what one row costs for scikit-learn (its input
validation dominates), far less so for onnxruntime; the benchmark decides the default."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from app.engines import PredictionError


class MicroBatcher:
    def __init__(self, predict: Callable[[list[Any]], list[Any]], max_rows: int) -> None:
        self.predict = predict
        self.max_rows = max_rows
        self.rows: list[Any] = []
        self.waiters: list[asyncio.Future[Any]] = []
        self.loop: asyncio.AbstractEventLoop | None = None  # the serving loop, once it submits

    def submit(self, row: Any) -> asyncio.Future[Any]:
        """The prediction for one row (a future resolved on the next turn of the loop)."""
        loop = self.loop
        if loop is None:  # asking asyncio for the running loop costs a getpid() system call
            loop = self.loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self.rows:
            loop.call_soon(self.flush)
        self.rows.append(row)
        self.waiters.append(future)
        if len(self.rows) >= self.max_rows:
            self.flush()
        return future

    def flush(self) -> None:
        rows, waiters = self.rows, self.waiters
        if not rows:
            return
        self.rows, self.waiters = [], []
        try:
            predictions = self.predict(rows)
        except PredictionError:
            for row, waiter in zip(rows, waiters, strict=True):  # find which rows the model refuses
                self._one(row, waiter)
            return
        except Exception as exc:  # reaches each waiting request, which answers it
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for prediction, waiter in zip(predictions, waiters, strict=True):
            if not waiter.done():
                waiter.set_result(prediction)

    def _one(self, row: Any, waiter: asyncio.Future[Any]) -> None:
        try:
            result = self.predict([row])[0]
        except Exception as exc:
            if not waiter.done():
                waiter.set_exception(exc)
            return
        if not waiter.done():
            waiter.set_result(result)
