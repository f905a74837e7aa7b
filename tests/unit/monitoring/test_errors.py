"""Bad inputs fail with a DriftDataError (a ValueError) that says what to do next."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drift_data import customers

import mlops_nb
from mlops_nb.exceptions import MlopsNbError
from mlops_nb.monitoring.errors import DriftDataError


def _fails(ref, cur, match: str, **kwargs) -> DriftDataError:
    with pytest.raises(DriftDataError, match=match) as info:
        mlops_nb.drift(ref, cur, **kwargs)
    assert isinstance(info.value, ValueError) and isinstance(info.value, MlopsNbError)
    assert info.value.exit_code == 2
    return info.value


def test_mismatched_columns_name_the_missing_ones_and_the_fix() -> None:
    err = _fails(customers(100), customers(100).drop(columns=["plan"]), "missing from the current")
    assert "plan" in str(err) and "columns=[...]" in str(err)
    err = _fails(customers(100), customers(100), "missing from the reference", columns=["nope"])
    assert "nope" in str(err)


def test_empty_frames() -> None:
    _fails(customers(100).iloc[:0], customers(100), "reference data has no rows")
    _fails(customers(100), customers(100).iloc[:0], "current data has no rows")
    _fails(pd.DataFrame(), customers(100), "no rows|no columns")


def test_all_null_columns() -> None:
    ref = customers(200)
    cur = customers(200).assign(income=np.nan)
    err = _fails(ref, cur, "'income' is entirely null in the current data")
    assert "columns=[...]" in str(err)
    _fails(ref.assign(plan=None), customers(200), "'plan' is entirely null in the reference")
    _fails(ref, customers(200).assign(age=np.inf), "no usable values .* current data for: age")


def test_unsupported_types_are_named_with_a_way_out() -> None:
    ref = customers(300).assign(
        when=pd.date_range("2024-01-01", periods=300, freq="h"),
        note=[f"free text number {i}" for i in range(300)],
        tags=[["a", "b"]] * 300,
    )
    err = _fails(ref, ref.copy(), "cannot compare these columns")
    text = str(err)
    assert "'when' is a date/time column" in text
    assert "'note' looks like free text" in text
    assert "'tags' holds list objects" in text
    assert "age" not in text
    # leaving them out works
    assert mlops_nb.drift(ref, ref.copy(), columns=["age", "plan"]).dataset_drift is False


def test_numeric_reference_against_strings_in_current() -> None:
    cur = customers(200).assign(age=lambda f: f.age.astype(str))
    _fails(customers(200), cur, "'age' is numeric in the reference but object in the current")


def test_bad_arguments() -> None:
    _fails(customers(50), customers(50), "sample=1 is not a row count", sample=1)
    _fails(customers(50), customers(50), "columns=\\[\\] selects nothing", columns=[])
    with pytest.raises(DriftDataError, match="needs reference and current"):
        mlops_nb.drift(customers(50))
    with pytest.raises(DriftDataError, match="is a int that pandas cannot make a table of"):
        mlops_nb.drift(42, customers(50))
    with pytest.raises(DriftDataError, match=r"dict .*\(All arrays must be of the same length\)"):
        mlops_nb.drift(customers(50), {"age": [1.0, 2.0], "plan": ["a"]})
    with pytest.raises(DriftDataError, match="either service=URL or"):
        mlops_nb.drift(customers(50), customers(50), service="http://127.0.0.1:1")


def test_duplicate_and_multi_level_column_names() -> None:
    ref = customers(200)
    err = _fails(pd.concat([ref, ref[["age"]]], axis=1), ref, "more than one column named 'age'")
    assert "unique name" in str(err)
    # 1 and "1" are the same name once columns are compared as strings
    clash = ref.assign(**{"1": 1.0}).rename(columns={"age": 1})
    _fails(ref, clash, "the current data has more than one column named '1'")
    _fails(pd.concat({"a": ref}, axis=1), ref, "multi-level column names; flatten them")


def test_one_row_reference_is_refused_for_its_size_not_called_free_text() -> None:
    err = _fails(customers(200).head(1), customers(200), "reference data has only 1 row")
    assert "free text" not in str(err)
    # a one-row current side is compared (its kinds come from the reference)
    assert mlops_nb.drift(customers(200), customers(200).head(1)).summary["current_rows"] == 1
    # a few distinct strings are categories, not free text
    small = pd.DataFrame({"c": ["a", "b", "c"], "x": [1.0, 2.0, 3.0]})
    assert mlops_nb.drift(small, small.head(2)).summary["columns"]["c"]["type"] == "cat"


@pytest.mark.parametrize(
    "values,match",
    [
        (["a", 1, 2.5] * 100, r"'plan' mixes value types \(100 str, 100 int, 100 float\)"),
        (["a"] + [3] * 298 + ["b"], r"'plan' mixes value types \(298 int, 2 str\)"),
        (pd.Series([1, 2, 3] * 100, dtype=object), r"numbers stored as Python objects.*int64"),
        ([{"k": 1}] * 300, "'plan' holds dict objects, which drift cannot compare"),
        ([b"x", b"y"] * 150, "'plan' holds bytes; decode them"),
    ],
    ids=["mixed", "strings-only-at-the-ends", "object-ints", "dicts", "bytes"],
)
def test_object_columns_say_what_they_hold_and_how_to_convert(values, match: str) -> None:
    ref = customers(300).assign(plan=values)
    err = _fails(ref, customers(300), match)
    assert "not numbers or strings" not in str(err) and "leave it out with columns=[...]" in str(
        err
    )


def test_categorical_text_against_numbers_is_refused() -> None:
    ref = customers(300).assign(plan=["1", "2", "3"] * 100)
    cur = customers(300).assign(plan=[1, 2, 3] * 100)
    _fails(ref, cur, "'plan' holds text values in the reference but number values in the current")
