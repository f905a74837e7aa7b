"""The widget's synced state reflects the result; the first display stays small."""

from __future__ import annotations

import json

from drift_data import customers

import mlops_nb
from mlops_nb.monitoring.widget import DriftWidget


def _drifted():
    return mlops_nb.drift(
        customers(3000, seed=1), customers(3000, seed=2, shift=("age", "income", "plan", "region"))
    )


def test_traits_carry_verdict_table_and_drifted_distributions() -> None:
    result = _drifted()
    w = result.widget()

    assert isinstance(w, DriftWidget)
    assert w.summary["dataset_drift"] is True
    assert w.summary["drift_share"] == result.drift_share
    assert list(w.summary["columns"]) == ["age", "income", "score", "tenure", "plan", "region"]
    assert w.summary["columns"]["age"]["drifted"] is True
    assert w.summary["columns"]["score"]["drifted"] is False
    assert set(result.drifted_columns) <= set(w.distributions)
    age = w.distributions["age"]
    assert age["kind"] == "num" and len(age["edges"]) == len(age["reference"]) + 1
    # the shift by +15 years moves the current mass to higher bins
    mid = len(age["reference"]) // 2
    assert sum(age["current"][mid:]) > sum(age["reference"][mid:]) + 0.3
    plan = w.distributions["plan"]
    assert plan["kind"] == "cat" and set(plan["labels"]) == {"basic", "plus", "pro"}
    assert w.report_state == "idle" and w.stattest_names["wasserstein"].startswith("Wasserstein")


def test_report_is_sent_only_when_asked_and_state_follows() -> None:
    w = _drifted().widget()
    sent: list[dict] = []
    w.send = lambda content, buffers=None: sent.append(content)  # type: ignore[method-assign]
    assert "<html" not in json.dumps(w.get_state(), default=str).lower()  # not in the state
    assert sent == []

    w._on_custom_msg(w, {"type": "load-report"}, [])

    assert w.report_state == "ready"
    assert sent[0]["type"] == "report" and "<html" in sent[0]["html"].lower()
    assert "age" in sent[0]["html"]


def test_a_failing_report_shows_an_error_instead_of_raising() -> None:
    def broken() -> str:
        raise RuntimeError("disk full")

    w = DriftWidget(report_loader=broken, summary={"columns": {}})
    w.load_report()
    assert w.report_state == "error" and "disk full" in w.report_error


def test_first_display_payload_is_under_1_mb_even_with_many_columns() -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    ref = pd.DataFrame(rng.normal(size=(20_000, 60)), columns=[f"f{i}" for i in range(60)])
    cur = pd.DataFrame(rng.normal(0.5, 1, size=(20_000, 60)), columns=ref.columns)
    result = mlops_nb.drift(ref, cur)
    bundle = result._repr_mimebundle_()
    state = result.widget().get_state()

    payload = len(json.dumps(bundle)) + len(json.dumps(state, default=str))
    assert result.summary["n_drifted"] == 60
    assert payload < 1_000_000
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["text/plain"].startswith("DriftResult(dataset_drift=True, drift_share=1")
    assert "No dataset drift" not in bundle["text/html"]
    assert "Dataset drift detected" in bundle["text/html"]


def test_es_module_is_bundled_and_loads_nothing_remote() -> None:
    from mlops_nb.monitoring.widget import ESM_PATH

    source = ESM_PATH.read_text(encoding="utf-8")
    assert str(DriftWidget._esm) == source  # the widget ships exactly this file
    assert "export default" in source
    import re

    assert not re.search(r"^\s*import\b|\bimport\(", source, re.M)  # no imports at all
    assert "http://" not in source.replace("http://www.w3.org/2000/svg", "")
    assert "https://" not in source
