"""Feature helpers shared by the team's housing notebooks."""

import numpy as np
import pandas as pd


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.dropna(subset=["area_m2"]).copy()
    out["building_age"] = out["building_age"].fillna(out["building_age"].median())
    out["has_balcony"] = out["has_balcony"].astype(int)
    return out


def add_features(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.copy()
    out["area_per_room"] = out["area_m2"] / out["rooms"]
    out["log_area"] = np.log1p(out["area_m2"])
    return out
