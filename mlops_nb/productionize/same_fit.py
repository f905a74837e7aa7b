"""Whether two fitted models are the same fitted object, value for value.

Used to keep the engine chosen for ``train.py``'s model while the kernel still ran, when the
notebook's own model turns out to be identical. Pickled bytes are no test of that: a tree's node
array carries padding bytes and NaN payloads that differ between equal fits. This walks what
pickle would save (``__reduce_ex__``) and compares the values; anything it cannot compare counts
as different, so the caller converts the notebook's model afresh.
"""

from __future__ import annotations

import math
import types
from typing import Any

import numpy as np

_PLAIN = (str, bytes, int, bool, type(None), complex)
_BY_IDENTITY = (type, types.FunctionType, types.BuiltinFunctionType, types.ModuleType)
_MAX_DEPTH = 64


def same_fit(a: Any, b: Any) -> bool:
    """True only when ``a`` and ``b`` hold equal values everywhere (NaN equals NaN)."""
    try:
        return _same(a, b, 0)
    except Exception:  # an object this cannot walk is treated as different
        return False


def _same(a: Any, b: Any, depth: int) -> bool:
    if depth > _MAX_DEPTH or type(a) is not type(b):
        return False
    if isinstance(a, np.ndarray):
        return _same_array(a, b, depth)
    if isinstance(a, float | np.floating):
        return bool(a == b or (math.isnan(a) and math.isnan(b)))
    if isinstance(a, (*_PLAIN, np.generic)):
        return bool(a == b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], depth + 1) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(_same(x, y, depth + 1) for x, y in zip(a, b, strict=True))
    if isinstance(a, _BY_IDENTITY):
        return a is b
    return _same(a.__reduce_ex__(4), b.__reduce_ex__(4), depth + 1)


def _same_array(a: np.ndarray, b: np.ndarray, depth: int) -> bool:
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.names:
        return all(_same_array(a[name], b[name], depth + 1) for name in a.dtype.names)
    if a.dtype.kind == "O":
        return all(_same(x, y, depth + 1) for x, y in zip(a.ravel(), b.ravel(), strict=True))
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
