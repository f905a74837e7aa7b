"""Repeated checks against the same reference reuse its prepared statistics."""

from __future__ import annotations

from drift_data import customers

import mlops_nb
from mlops_nb.monitoring import profile as profile_mod
from mlops_nb.monitoring.api import reference_profile


def test_same_reference_content_reuses_the_profile_and_edits_invalidate_it(monkeypatch) -> None:
    profile_mod.clear_cache()
    built = []
    real = profile_mod.build_profile
    monkeypatch.setattr(
        profile_mod, "build_profile", lambda *a, **k: built.append(1) or real(*a, **k)
    )
    ref = customers(2000, seed=1)

    mlops_nb.drift(ref, customers(2000, seed=2))
    mlops_nb.drift(ref.copy(), customers(2000, seed=3, shift=("age",)))
    assert len(built) == 1  # same values, another object: reused

    ref.loc[0, "age"] = 1000.0  # edited in place
    mlops_nb.drift(ref, customers(2000, seed=2))
    assert len(built) == 2


def test_an_explicit_profile_gives_the_same_result_as_the_frame() -> None:
    ref = customers(2500, seed=1)
    cur = customers(2500, seed=2, shift=("income", "plan", "region", "tenure"))
    prepared = reference_profile(ref)

    assert prepared.columns == list(ref.columns)
    assert mlops_nb.drift(prepared, cur).summary == mlops_nb.drift(ref, cur).summary


def test_a_profile_serves_a_subset_of_its_columns() -> None:
    prepared = reference_profile(customers(2000, seed=1))
    cur = customers(2000, seed=2, shift=("age", "plan"))
    result = mlops_nb.drift(prepared, cur, columns=["age", "score"])
    assert list(result.summary["columns"]) == ["age", "score"]
    assert result.drifted_columns == ["age"]


def test_a_profile_refuses_columns_it_does_not_have() -> None:
    import pytest

    from mlops_nb.monitoring.errors import DriftDataError

    prepared = reference_profile(customers(300, seed=1), columns=["age"])
    with pytest.raises(DriftDataError, match="build a new one"):
        mlops_nb.drift(prepared, customers(300), columns=["plan"])
