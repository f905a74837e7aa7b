"""Large inputs are sampled with a stated, seeded strategy."""

from __future__ import annotations

from drift_data import customers

import mlops_nb


def test_large_inputs_are_sampled_reproducibly_and_the_result_says_so() -> None:
    ref = customers(6000, seed=1)
    cur = customers(9000, seed=2, shift=("age", "income", "plan", "region"))

    first = mlops_nb.drift(ref, cur, sample=2500)
    again = mlops_nb.drift(ref, cur, sample=2500)

    sampling = first.summary["sampling"]
    assert sampling["reference"] == {
        "side": "reference",
        "rows": 6000,
        "used": 2500,
        "seed": 0,
        "sampled": True,
    }
    assert sampling["current"]["rows"] == 9000 and sampling["current"]["used"] == 2500
    assert first.summary["reference_rows"] == first.summary["current_rows"] == 2500
    assert first.summary["columns"] == again.summary["columns"]
    assert first.drifted_columns == ["age", "income", "plan", "region"]
    note = first.widget().note
    assert "uniform random sample of 2,500 of 9,000 rows (seed 1" in note
    assert "reference: uniform random sample of 2,500 of 6,000 rows (seed 0" in note


def test_small_inputs_are_not_sampled_and_the_note_says_all_rows() -> None:
    result = mlops_nb.drift(customers(1200, seed=1), customers(1300, seed=2))
    assert result.summary["sampling"]["current"]["sampled"] is False
    assert result.sampling_text() == "reference: all 1,200 rows; current: all 1,300 rows"


def test_sample_false_uses_every_row_and_another_seed_another_sample() -> None:
    ref, cur = customers(3000, seed=1), customers(3000, seed=2)
    assert mlops_nb.drift(ref, cur, sample=False).summary["current_rows"] == 3000
    a = mlops_nb.drift(ref, cur, sample=1500, seed=0).summary["columns"]["age"]["score"]
    b = mlops_nb.drift(ref, cur, sample=1500, seed=7).summary["columns"]["age"]["score"]
    assert a != b
