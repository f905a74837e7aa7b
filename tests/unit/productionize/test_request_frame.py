"""The request frame the feature code runs on (``feature_runtime.complete``): its fast path for
the common dtypes gives exactly what the general cast gives, value for value and dtype for dtype,
for every kind of value a request can carry."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops_nb.productionize import feature_runtime as rt

VALUES: dict[str, list[Any]] = {
    "floats": [1.5, -2.0, 0.0, 1e300, float("nan"), None, 3],
    "whole floats": [1.0, -2.0, 0.0, 7.0],
    "ints": [1, -2, 0, 2**40],
    "bools": [True, False, True],
    "text": ["a", "b", None, "c", float("nan")],
    "mixed": ["a", 1, 2.5, None],
    "inf": [float("inf"), 1.0],
}
DTYPES = ["float64", "float32", "int64", "bool", "object", "category", "string"]


def _state(dtype: str, inputs: bool, placeholder: Any = None) -> rt.FeatureState:
    return rt.FeatureState(
        raw_columns=["x", "other"],
        raw_dtypes={"x": dtype, "other": dtype},
        inputs=["x"] if inputs else [],
        placeholders={"other": placeholder},
        categories={"x": ["a", "b"], "other": ["a", "b"]},
    )


def _both(raw: pd.DataFrame, state: rt.FeatureState, monkeypatch: Any) -> tuple[Any, Any]:
    def outcome() -> Any:
        try:
            return rt.complete(raw, state)
        except rt.FeatureInputError as exc:
            return f"error: {exc}"

    fast = outcome()
    with monkeypatch.context() as patch:
        patch.setattr(rt, "_fast_cast", lambda values, dtype: None)
        patch.setattr(rt, "_fast_fill", lambda value, dtype, n: None)
        slow = outcome()
    return fast, slow


def _assert_same(fast: Any, slow: Any) -> None:
    if isinstance(slow, str):
        assert fast == slow
        return
    pd.testing.assert_frame_equal(fast, slow, check_exact=True)
    for column in slow.columns:  # the very same Python types in object columns
        assert [type(v) for v in fast[column]] == [type(v) for v in slow[column]]


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")  # pandas' own float32 cast
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("values", list(VALUES), ids=list(VALUES))
def test_input_columns_are_cast_alike(dtype: str, values: str, monkeypatch: Any) -> None:
    rows = [(v, "ignored") for v in VALUES[values]]
    raw = pd.DataFrame.from_records(rows, columns=["x", "unused"])
    for n in (1, len(rows)):
        fast, slow = _both(raw.head(n), _state(dtype, True, "a"), monkeypatch)
        _assert_same(fast, slow)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("placeholder", [None, 2.5, 3, "S", True, float("nan")])
def test_columns_the_api_leaves_out_are_filled_alike(
    dtype: str, placeholder: Any, monkeypatch: Any
) -> None:
    raw = pd.DataFrame({"x": [1.0, 2.0, 3.0]})
    for n in (1, 3):
        fast, slow = _both(raw.head(n), _state("float64", True, placeholder), monkeypatch)
        _assert_same(fast, slow)
    state = _state(dtype, True, placeholder)
    state.raw_dtypes["x"] = "float64"
    fast, slow = _both(raw, state, monkeypatch)
    _assert_same(fast, slow)


def test_numpy_typed_requests_are_cast_alike(monkeypatch: Any) -> None:
    raw = pd.DataFrame(
        {
            "x": np.array([1, 2, 3], dtype=np.int32),
            "other": np.array([0.5, np.nan, 2.0], dtype=np.float32),
        }
    )
    for dtype in DTYPES:
        state = _state(dtype, True)
        state.inputs = ["x", "other"]
        fast, slow = _both(raw, state, monkeypatch)
        _assert_same(fast, slow)
