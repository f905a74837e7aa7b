"""Whether the service may skip the feature code: only when it passes the API's columns through
(selected, reordered, renamed), value for value; any step that changes a value keeps it."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from mlops_nb.productionize.passthrough import find

RNG = np.random.default_rng(3)
REQUESTS = pd.DataFrame(
    {
        "age": np.where(RNG.random(40) < 0.2, np.nan, RNG.normal(38, 12, 40)),
        "fare": RNG.exponential(30, 40),
        "sibsp": RNG.integers(0, 5, 40),
        "sex": RNG.choice(["male", "female"], 40).astype(object),
        "id": np.arange(40),
    }
)


def check(transform: Any, columns: list[str] | None = None) -> list[str] | None:
    return find(lambda frame, _state: transform(frame), None, REQUESTS, columns or []).columns


@pytest.mark.parametrize(
    ("name", "transform", "expected"),
    [
        ("the frame as it is", lambda d: d, list(REQUESTS.columns)),
        ("a selection", lambda d: d[["fare", "age"]], ["fare", "age"]),
        ("a drop", lambda d: d.drop(columns=["id"]), ["age", "fare", "sibsp", "sex"]),
        (
            "renamed",
            lambda d: d.rename(columns={"age": "a", "fare": "f"})[["f", "a"]],
            ["fare", "age"],
        ),
        ("an integer column as floats", lambda d: d[["sibsp"]].astype(float), ["sibsp"]),
        ("an array of numbers", lambda d: d[["age", "fare"]].to_numpy(), ["age", "fare"]),
        ("a column twice", lambda d: d.assign(age2=d["age"])[["age", "age2"]], ["age", "age"]),
    ],
)
def test_selections_pass_through(name: str, transform: Any, expected: list[str]) -> None:
    assert check(transform) == expected, name


@pytest.mark.parametrize(
    ("name", "transform"),
    [
        ("a fill of missing values", lambda d: d[["age", "fare"]].fillna(30.0)),
        ("a clip", lambda d: d[["age"]].clip(0, 100)),
        ("arithmetic", lambda d: d.assign(fare=d["fare"] + 1)[["fare"]]),
        ("an absolute value", lambda d: d[["fare"]].abs()),
        ("a log", lambda d: np.log1p(d[["fare"]])),
        ("an encoding", lambda d: d.assign(sex=(d["sex"] == "male").astype(int))[["sex"]]),
        ("one-hot columns", lambda d: pd.get_dummies(d[["sex"]])),
        ("a category mapping", lambda d: d.assign(sex=d["sex"].map({"male": "m", "female": "f"}))),
        ("a rounding to integers", lambda d: d[["fare"]].round()),
        ("a derived column", lambda d: d.assign(total=d["fare"] * d["sibsp"])),
        ("a constant column", lambda d: d.assign(one=1.0)[["fare", "one"]]),
        ("a row-dependent value", lambda d: d.assign(age=d["age"] - d["age"].mean())[["age"]]),
    ],
)
def test_value_changes_keep_the_feature_code(name: str, transform: Any) -> None:
    assert check(transform) is None, name


def test_code_that_rejects_values_keeps_the_feature_code() -> None:
    def strict(frame: pd.DataFrame) -> pd.DataFrame:
        if frame["age"].isna().any():
            raise ValueError("age is missing")
        return frame[["age"]]

    verdict = find(lambda frame, _state: strict(frame), None, REQUESTS.dropna(), [])
    assert verdict.columns is None
    assert "raised ValueError" in verdict.reason


def test_the_engines_columns_are_read_by_name() -> None:
    renamed = find(
        lambda d, _s: d.rename(columns={"age": "A", "fare": "F"}), None, REQUESTS, ["F", "A"]
    )
    assert renamed.columns == ["fare", "age"]
    missing = find(lambda d, _s: d[["age"]], None, REQUESTS, ["age", "fare"])
    assert missing.columns is None


def test_a_sparse_output_is_not_a_pass_through() -> None:
    from scipy import sparse

    verdict = find(lambda d, _s: sparse.csr_matrix(d[["fare"]].to_numpy()), None, REQUESTS, [])
    assert verdict.columns is None


def test_a_column_the_api_does_not_ask_for_is_fed_its_training_value() -> None:
    """A model fitted on the whole frame reads columns the API leaves out (their training value
    fills them): they are constants; any other constant column keeps the feature code."""
    state = SimpleNamespace(placeholders={"cabin": None, "parch": 0}, raw_dtypes={})

    def whole_frame(frame: pd.DataFrame) -> pd.DataFrame:
        return frame.assign(cabin=None, parch=0)[["fare", "cabin", "sex", "parch"]]

    verdict = find(lambda d, _s: whole_frame(d), state, REQUESTS, [])
    assert verdict.columns == ["fare", None, "sex", None]
    assert verdict.constants == [None, None, None, 0]
    assert "2 training value(s)" in verdict.reason
    other = find(lambda d, _s: whole_frame(d).assign(parch=1), state, REQUESTS, [])
    assert other.columns is None
