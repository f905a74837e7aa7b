"""Bound the work on large inputs: a seeded, uniform sample of rows, stated in the result.

Strategy: a frame with more rows than the cap is replaced by a uniform random sample of exactly
``cap`` rows, drawn without replacement with ``numpy.random.default_rng(seed)`` and kept in the
original row order. Each side is sampled independently (reference with ``seed``, current with
``seed + 1``), so the same inputs always give the same sample and the same verdict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from mlops_nb.monitoring.errors import DriftDataError

DEFAULT_MAX_ROWS = 100_000
DEFAULT_SEED = 0


@dataclass(frozen=True)
class SampleNote:
    """What was sampled, for the summary and the widget."""

    side: str
    rows: int
    used: int
    seed: int

    @property
    def sampled(self) -> bool:
        return self.used < self.rows

    def describe(self) -> str:
        if not self.sampled:
            return f"{self.side}: all {self.rows:,} rows"
        return (
            f"{self.side}: uniform random sample of {self.used:,} of {self.rows:,} rows "
            f"(seed {self.seed}, without replacement)"
        )

    def to_dict(self) -> dict[str, object]:
        return {**asdict(self), "sampled": self.sampled}


def resolve_cap(sample: int | bool | None) -> int | None:
    """``None``/``True`` → the default cap; ``False`` → no sampling; an int → that cap."""
    if sample is None or sample is True:
        return DEFAULT_MAX_ROWS
    if sample is False:
        return None
    if isinstance(sample, int) and sample >= 2:
        return sample
    raise DriftDataError(
        f"sample={sample!r} is not a row count; pass an int >= 2, None (default cap of "
        f"{DEFAULT_MAX_ROWS:,} rows) or False (use every row)"
    )


def sample_rows(
    frame: pd.DataFrame, cap: int | None, *, side: str, seed: int = DEFAULT_SEED
) -> tuple[pd.DataFrame, SampleNote]:
    """``frame``, or a seeded uniform sample of ``cap`` of its rows; and a note saying which."""
    rows = len(frame)
    if cap is None or rows <= cap:
        return frame, SampleNote(side, rows, rows, seed)
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(rows, size=cap, replace=False))
    return frame.iloc[keep], SampleNote(side, rows, cap, seed)
