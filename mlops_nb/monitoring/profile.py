"""The reference's side of every test, computed once and reused.

A :class:`ReferenceProfile` holds the (sampled) reference with, per column, what the tests need
(sorted values, standard deviation, value counts). :func:`reference_profile` builds one, or
returns the one built earlier for the same content: profiles are cached by a digest of the
reference's values, so repeated checks against the same reference in a notebook skip that work
without going stale when the frame is edited in place. Pass a profile as ``reference=`` to
skip even the digest.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from mlops_nb.monitoring.errors import DriftDataError
from mlops_nb.monitoring.frames import ColumnSpec, infer_specs, normalize
from mlops_nb.monitoring.sampling import DEFAULT_SEED, SampleNote, sample_rows
from mlops_nb.monitoring.stats import ColumnValues

CACHE_SIZE = 4


@dataclass(frozen=True)
class ReferenceProfile:
    """A prepared reference: the compared columns, their values, and how it was sampled."""

    specs: tuple[ColumnSpec, ...]
    frame: pd.DataFrame  # normalised, sampled: what the full Evidently report is run on
    values: dict[str, ColumnValues]
    note: SampleNote
    digest: str

    @property
    def columns(self) -> list[str]:
        return [s.name for s in self.specs]


def prepare_column(spec: ColumnSpec, column: pd.Series) -> ColumnValues:
    """One normalised column (see :func:`.frames.normalize`) as the drift tests take it."""
    if spec.kind == "num":
        return ColumnValues.numerical(column.to_numpy(dtype="float64", na_value=np.nan))
    clean = column.replace([-np.inf, np.inf], np.nan) if column.dtype.kind == "f" else column
    counts = clean.value_counts(dropna=True, sort=False)
    return ColumnValues.from_counts(dict(zip(counts.index.tolist(), counts.tolist(), strict=True)))


def prepare_side(
    frame: pd.DataFrame, specs: Sequence[ColumnSpec], side: str
) -> dict[str, ColumnValues]:
    """Per-column test inputs for one side; refuses columns with no finite value left."""
    values = {s.name: prepare_column(s, frame[s.name]) for s in specs}
    empty = [name for name, v in values.items() if v.n == 0]
    if empty:
        raise DriftDataError(
            f"no usable values (only nulls or infinities) in the {side} data for: "
            f"{', '.join(empty)}; fill them or leave them out with columns=[...]"
        )
    return values


def build_profile(
    reference: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    cap: int | None,
    seed: int = DEFAULT_SEED,
    digest: str = "",
) -> ReferenceProfile:
    """Validate, sample and prepare a reference (no cache)."""
    specs = infer_specs(reference, columns=columns, target=target, prediction=prediction)
    sampled, note = sample_rows(reference, cap, side="reference", seed=seed)
    frame = normalize(sampled, specs)
    values = prepare_side(frame, specs, "reference")
    return ReferenceProfile(tuple(specs), frame, values, note, digest)


_cache: OrderedDict[tuple[object, ...], ReferenceProfile] = OrderedDict()
_lock = threading.Lock()


def reference_profile(
    reference: pd.DataFrame,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    cap: int | None,
    seed: int = DEFAULT_SEED,
) -> ReferenceProfile:
    """:func:`build_profile`, reusing the profile of an identical reference when there is one."""
    digest = frame_digest(reference)
    if digest is None:  # unhashable cells (lists, dicts): no cache; validation explains
        return build_profile(
            reference, columns=columns, target=target, prediction=prediction, cap=cap, seed=seed
        )
    key = (digest, tuple(columns or ()), columns is None, target, prediction, cap, seed)
    with _lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    profile = build_profile(
        reference,
        columns=columns,
        target=target,
        prediction=prediction,
        cap=cap,
        seed=seed,
        digest=digest,
    )
    with _lock:
        _cache[key] = profile
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return profile


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def frame_digest(frame: pd.DataFrame) -> str | None:
    """A digest of a frame's column names, dtypes and values (not its index); None if unhashable."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(str(frame.shape).encode())
    for name in frame.columns:
        col = frame[name]
        if col.dtype.kind in "fiub" and not isinstance(col.dtype, pd.api.extensions.ExtensionDtype):
            h.update(np.ascontiguousarray(col.to_numpy()).tobytes())
        else:
            try:
                hashed = pd.util.hash_pandas_object(col, index=False)
            except TypeError:
                return None
            h.update(hashed.to_numpy().tobytes())
    return h.hexdigest()
