"""Synthetic tables with known drift, shared by the drift tests (import as ``from drift_data``)."""

from __future__ import annotations

import numpy as np
import pandas as pd

NUMERIC = ["age", "income", "score", "tenure"]
CATEGORICAL = ["plan", "region"]


def customers(n: int, *, seed: int = 0, shift: tuple[str, ...] = ()) -> pd.DataFrame:
    """A customer table; columns named in ``shift`` are moved well away from the reference."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.normal(40, 10, n),
            "income": rng.lognormal(10, 0.5, n),
            "score": rng.uniform(0, 1, n),
            "tenure": rng.gamma(2.0, 12.0, n),
            "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
            "region": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    if "age" in shift:
        frame["age"] = frame["age"] + 15
    if "income" in shift:
        frame["income"] = frame["income"] * 2.5
    if "score" in shift:
        frame["score"] = rng.uniform(0.5, 1.5, n)
    if "tenure" in shift:
        frame["tenure"] = frame["tenure"] * 3
    if "plan" in shift:
        frame["plan"] = rng.choice(["basic", "plus", "pro"], n, p=[0.1, 0.3, 0.6])
    if "region" in shift:
        frame["region"] = rng.choice(["north", "south", "east", "west"], n, p=[0.7, 0.1, 0.1, 0.1])
    return frame
