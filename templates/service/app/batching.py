"""Adaptive micro-batching: single-record requests that are waiting at the same moment are scored
as one batch, up to ``max_rows`` (bounded: a full batch is scored at once).

The first request of a batch opens it, and the batch is scored two turns of the event loop
later: once the loop has polled its sockets again after the batch opened, so requests whose
bytes arrive meanwhile join it. Closed-loop clients then fall into step: their answers go out
together and their next requests come in together, so one model call serves them all (at
concurrency 8, almost every batch holds 8 rows; closing the batch one turn earlier, it held 3-4).
A lone request waits for nothing but that one poll, which finds nothing to read (microseconds,
no timer). Scoring a few rows costs about what one row costs, for scikit-learn (its input
validation dominates) and onnxruntime (a run's fixed cost) alike; the benchmark decides the
default."""

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
        """The prediction for one row (a future resolved when its batch is scored)."""
        loop = self.loop
        if loop is None:  # asking asyncio for the running loop costs a getpid() system call
            loop = self.loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self.rows:
            loop.call_soon(self._after_next_poll)
        self.rows.append(row)
        self.waiters.append(future)
        if len(self.rows) >= self.max_rows:
            self.flush()
        return future

    def _after_next_poll(self) -> None:
        """A turn after the batch opened: the loop has polled its sockets since, and the requests
        that came in are queued behind this callback; the flush queued now runs after them."""
        if self.rows and self.loop is not None:
            self.loop.call_soon(self.flush)

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
