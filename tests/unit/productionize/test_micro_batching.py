"""The service's micro-batching (``templates/service/app/batching.py``) on a real event loop, the
standard one and uvloop (the service's): requests waiting together share one model call, those
that arrive while the loop polls once more join it, a lone request is answered without a timer,
a full batch is scored at once, and a row the model refuses fails alone."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
import uvloop
from support import template_module

BATCHING = template_module("service", "app", "batching.py")
REFUSED = BATCHING.PredictionError  # the class batching.py catches (from its app.engines)


LOOPS = [
    pytest.param(asyncio.new_event_loop, id="asyncio"),
    pytest.param(uvloop.new_event_loop, id="uvloop"),  # the service's (uvicorn[standard])
]
Runner = Callable[[Coroutine[Any, Any, Any]], Any]


@pytest.fixture(params=LOOPS)
def run(request: pytest.FixtureRequest) -> Runner:
    """Runs a coroutine to completion on a new loop of the kind the test is parametrised with."""
    new_loop: Callable[[], asyncio.AbstractEventLoop] = request.param

    def runner(main: Coroutine[Any, Any, Any]) -> Any:
        loop = new_loop()
        try:
            return loop.run_until_complete(main)
        finally:
            loop.close()

    return runner


class Model:
    """Doubles each row; refuses negative rows like a model refusing an input."""

    def __init__(self) -> None:
        self.calls: list[list[int]] = []

    def __call__(self, rows: list[int]) -> list[int]:
        self.calls.append(list(rows))
        if any(r < 0 for r in rows):
            raise REFUSED("negative")
        return [2 * r for r in rows]


def test_requests_waiting_together_and_those_arriving_a_turn_later_share_one_call(
    run: Runner,
) -> None:
    model = Model()

    async def main() -> list[int]:
        batcher = BATCHING.MicroBatcher(model, 64)
        first = [batcher.submit(r) for r in (1, 2, 3)]
        await asyncio.sleep(0)  # one turn of the loop: a request read in the next poll
        later = batcher.submit(4)
        return list(await asyncio.gather(*first, later))

    assert run(main()) == [2, 4, 6, 8]
    assert model.calls == [[1, 2, 3, 4]]


def test_a_lone_request_is_answered_within_a_few_turns_without_a_timer(run: Runner) -> None:
    model = Model()

    async def main() -> tuple[int, int]:
        batcher = BATCHING.MicroBatcher(model, 64)
        future = batcher.submit(5)
        turns = 0
        while not future.done():
            await asyncio.sleep(0)
            turns += 1
            assert turns < 5, "the batch was not scored within a few turns of the loop"
        return future.result(), turns

    answer, turns = run(main())
    assert answer == 10 and turns <= 3
    assert model.calls == [[5]]


def test_a_full_batch_is_scored_at_once_and_the_rest_open_the_next(run: Runner) -> None:
    model = Model()

    async def main() -> list[int]:
        batcher = BATCHING.MicroBatcher(model, 3)
        futures = [batcher.submit(r) for r in range(7)]
        assert model.calls == [[0, 1, 2], [3, 4, 5]]  # before the loop turns at all
        return list(await asyncio.gather(*futures))

    assert run(main()) == [0, 2, 4, 6, 8, 10, 12]
    assert model.calls == [[0, 1, 2], [3, 4, 5], [6]]


def test_a_refused_row_fails_alone_and_any_other_error_reaches_every_request(run: Runner) -> None:
    model = Model()

    async def refused() -> list[Any]:
        batcher = BATCHING.MicroBatcher(model, 64)
        futures = [batcher.submit(r) for r in (1, -1, 3)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    one, bad, three = run(refused())
    assert (one, three) == (2, 6) and isinstance(bad, REFUSED)
    assert model.calls == [[1, -1, 3], [1], [-1], [3]]  # the batch, then row by row

    def broken(rows: list[int]) -> list[int]:
        raise RuntimeError("the engine is gone")

    async def failing() -> list[Any]:
        batcher = BATCHING.MicroBatcher(broken, 64)
        futures = [batcher.submit(r) for r in (1, 2)]
        return list(await asyncio.gather(*futures, return_exceptions=True))

    assert [str(e) for e in run(failing())] == ["the engine is gone"] * 2
