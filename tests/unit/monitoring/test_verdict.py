"""Known drift and no drift: the verdict and the drifted columns a user reads."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from drift_data import customers

import mlops_nb


def test_shifted_columns_are_the_drifted_ones_and_the_dataset_drifts() -> None:
    ref = customers(3000, seed=1)
    cur = customers(3000, seed=2, shift=("age", "income", "plan", "region"))

    result = mlops_nb.drift(ref, cur)

    assert result.dataset_drift is True
    assert result.drifted_columns == ["age", "income", "plan", "region"]
    summary = result.summary
    assert summary["n_drifted"] == 4 and summary["n_columns"] == 6
    assert summary["drift_share"] == pytest.approx(4 / 6)
    assert summary["columns"]["age"]["stattest"] == "wasserstein"
    assert summary["columns"]["plan"]["stattest"] == "jensenshannon"
    assert summary["columns"]["plan"]["type"] == "cat"
    json.dumps(summary)  # a plain, serialisable dict


def test_same_distribution_gives_no_drift() -> None:
    result = mlops_nb.drift(customers(3000, seed=1), customers(3000, seed=2))

    assert result.dataset_drift is False
    assert result.drifted_columns == []
    assert all(c["score"] < c["threshold"] for c in result.summary["columns"].values())


def test_drift_below_the_share_threshold_is_reported_per_column_only() -> None:
    result = mlops_nb.drift(customers(3000, seed=1), customers(3000, seed=2, shift=("score",)))

    assert result.drifted_columns == ["score"]
    assert result.dataset_drift is False  # 1 of 6 < 50%


def test_columns_target_and_prediction_select_and_mark_columns() -> None:
    ref = customers(2000, seed=1).assign(label=lambda f: (f.age > 40).astype(int))
    cur = customers(2000, seed=2, shift=("age",)).assign(label=lambda f: (f.age > 40).astype(int))
    ref["pred"] = ref["label"]
    cur["pred"] = cur["label"]

    result = mlops_nb.drift(ref, cur, columns=["age", "plan"], target="label", prediction="pred")

    cols = result.summary["columns"]
    assert list(cols) == ["age", "plan", "label", "pred"]
    assert cols["label"]["role"] == "target" and cols["pred"]["role"] == "prediction"
    assert cols["label"]["type"] == "cat"  # 2 integer values: categorical, as in Evidently
    assert {"age", "label", "pred"} <= set(result.drifted_columns)


def test_current_may_carry_extra_columns() -> None:
    cur = customers(1500, seed=2).assign(request_id=range(1500))
    assert "request_id" not in mlops_nb.drift(customers(1500, seed=1), cur).summary["columns"]


def test_records_and_files_are_accepted(tmp_path) -> None:
    ref = customers(1500, seed=1)
    cur = customers(1500, seed=2, shift=("age", "income", "tenure"))
    ref.to_csv(tmp_path / "ref.csv", index=False)
    cur.to_parquet(tmp_path / "cur.parquet")

    from_files = mlops_nb.drift(tmp_path / "ref.csv", str(tmp_path / "cur.parquet"))
    from_records = mlops_nb.drift(ref.to_dict("records"), cur.to_dict("records"))

    assert from_files.drifted_columns == from_records.drifted_columns == ["age", "income", "tenure"]


def test_non_string_column_names_work() -> None:
    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.normal(size=(1500, 2)))
    cur = pd.DataFrame(rng.normal(size=(1500, 2)) + np.array([3.0, 0.0]))
    assert mlops_nb.drift(ref, cur).drifted_columns == ["0"]
