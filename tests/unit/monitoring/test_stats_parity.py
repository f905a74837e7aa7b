"""The summary's scores and verdicts are Evidently 0.7's own, test by test.

Each case takes a branch of Evidently's default test choice; the scores are compared with the
``ValueDrift`` values of ``Report([DataDriftPreset()])`` run on the same data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from drift_data import customers

import mlops_nb


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


CASES = {
    # > 1000 reference rows: wasserstein (numerical) and jensenshannon (categorical)
    "large-mixed": (customers(1500, seed=1), customers(1800, seed=2, shift=("age", "plan"))),
    # <= 1000 rows: K-S (numerical) and chi-square (categorical)
    "small-mixed": (customers(400, seed=3), customers(300, seed=4, shift=("income", "region"))),
    # few-valued columns: jensenshannon (> 1000 rows) / chi-square and Z (<= 1000 rows)
    "few-values-large": (
        pd.DataFrame({"k": _rng(5).choice([0.0, 1.0, 2.5], 1500), "b": _rng(6).random(1500) < 0.3}),
        pd.DataFrame({"k": _rng(7).choice([0.0, 1.0, 2.5], 1200), "b": _rng(8).random(1200) < 0.6}),
    ),
    "few-values-small": (
        pd.DataFrame(
            {
                "k": _rng(9).choice([1.0, 2.0, 3.0, 4.0], 600),
                "flag": _rng(10).choice(["y", "n"], 600),
                "code": _rng(11).integers(0, 3, 600),
            }
        ),
        pd.DataFrame(
            {
                "k": _rng(12).choice([1.0, 2.0, 3.0, 4.0], 500, p=[0.1, 0.2, 0.3, 0.4]),
                "flag": _rng(13).choice(["y", "n"], 500, p=[0.8, 0.2]),
                "code": _rng(14).integers(0, 4, 500),  # a value the reference never had
            }
        ),
    ),
    "nulls-and-infinities": (
        customers(1200, seed=15).assign(
            age=lambda f: f.age.where(f.index % 7 != 0),
            income=lambda f: f.income.replace(f.income.iloc[3], np.inf),
        ),
        customers(1100, seed=16, shift=("tenure",)).assign(
            plan=lambda f: f.plan.where(f.index % 5 != 0)
        ),
    ),
}


def _evidently_values(ref: pd.DataFrame, cur: pd.DataFrame) -> tuple[dict[str, tuple], float]:
    from evidently import Report
    from evidently.presets import DataDriftPreset

    snapshot = Report([DataDriftPreset()]).run(cur, ref)
    values, share = {}, None
    for metric in snapshot.dict()["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            values[config["column"]] = (metric["value"], config["method"], config["threshold"])
        elif config["type"].endswith("DriftedColumnsCount"):
            share = metric["value"]["share"]
    return values, share


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # Evidently's
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")  # own numpy use
@pytest.mark.parametrize("case", list(CASES))
def test_scores_tests_and_share_match_evidently(case: str) -> None:
    ref, cur = CASES[case]

    ours = mlops_nb.drift(ref, cur).summary
    theirs, share = _evidently_values(ref, cur)

    from mlops_nb.monitoring.stats import STATTEST_NAMES

    assert set(ours["columns"]) == set(theirs)
    for name, col in ours["columns"].items():
        value, method, threshold = theirs[name]
        assert STATTEST_NAMES[col["stattest"]] == method, name
        assert col["score"] == pytest.approx(value, rel=1e-9, abs=1e-12), name
        assert col["threshold"] == threshold, name
    assert ours["drift_share"] == pytest.approx(share)


def test_full_report_uses_the_same_columns_and_kinds() -> None:
    ref = customers(400, seed=3).assign(code=lambda f: f.index % 4)
    cur = customers(300, seed=4).assign(code=lambda f: f.index % 4)
    result = mlops_nb.drift(ref, cur)

    report = result.report.dict()
    methods = {
        m["config"]["column"]: m["config"]["method"]
        for m in report["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }
    assert methods["code"] == "chi-square p_value"  # integer with 4 values: categorical
    assert set(methods) == set(result.summary["columns"])


def test_nullable_and_category_dtypes_agree_with_the_full_report() -> None:
    def frame(shift: int, seed: int) -> pd.DataFrame:
        rng = _rng(seed)
        n = 1500
        out = pd.DataFrame(
            {
                "i": pd.array(rng.integers(0, 4 + shift, n), dtype="Int64"),
                "j": pd.array(rng.integers(0, 100, n), dtype="Int64"),
                "b": pd.array(rng.random(n) < 0.3 + 0.3 * shift, dtype="boolean"),
                "s": pd.array(rng.choice(["a", "b"], n), dtype="string"),
                "c": pd.Categorical(rng.choice(["x", "y", "z"], n)),
                "f": pd.array(rng.normal(shift, 1, n), dtype="Float64"),
            }
        )
        out.loc[::17, "i"] = pd.NA
        out.loc[::13, "s"] = pd.NA
        return out

    result = mlops_nb.drift(frame(0, 1), frame(1, 2))
    report = {
        m["config"]["column"]: m["value"]
        for m in result.report.dict()["metrics"]
        if m["config"]["type"].endswith("ValueDrift")
    }

    kinds = {name: col["type"] for name, col in result.summary["columns"].items()}
    assert kinds == {"i": "cat", "j": "num", "b": "cat", "s": "cat", "c": "cat", "f": "num"}
    for name, col in result.summary["columns"].items():
        assert col["score"] == pytest.approx(report[name], rel=1e-9, abs=1e-12), name
    assert result.drifted_columns == ["i", "b", "f"]
