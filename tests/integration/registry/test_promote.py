"""Promotion on a real sqlite registry: each gate passing and failing (the alias never moves on
a failure), registration once per run, decisions and history recorded on the versions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from integration.registry.seed import TARGET, Seeded

from mlops_nb.registry.api import client_for, promote
from mlops_nb.registry.constants import GateStatus
from mlops_nb.registry.errors import PromotionUsageError
from mlops_nb.registry.query import history, versions

pytestmark = pytest.mark.integration


def _alias(name: str, alias: str = "champion") -> str | None:
    from mlflow.exceptions import MlflowException

    try:
        return str(client_for().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def test_threshold_gate_passes_then_blocks_and_alias_stays(registry: Seeded) -> None:
    good = promote(registry.runs["good"], "cancer", require=["accuracy>=0.9"])
    assert good.passed and good.moved and good.version == "1" and good.registered
    [gate] = good.gates
    assert gate.gate == "threshold" and gate.status is GateStatus.PASSED
    assert gate.metric == "accuracy" and gate.threshold == 0.9 and gate.value > 0.9
    assert _alias("cancer") == "1"

    weak = promote(registry.runs["weak"], "cancer", require=["accuracy>=0.95"])
    assert weak.version == "2" and not weak.passed and not weak.moved and weak.exit_code == 1
    assert weak.gates[0].status is GateStatus.FAILED and weak.gates[0].value < 0.95
    assert "NOT PROMOTED" in weak.text() and "stays on version 1" in weak.text()
    assert _alias("cancer") == "1"  # a failed gate changes nothing

    missing = promote(registry.runs["weak"], "cancer", require=["f1>=0.5"])
    assert not missing.moved and "logged no metric 'f1'" in missing.gates[0].summary


def test_promoting_the_same_run_again_reuses_its_version(registry: Seeded) -> None:
    first = promote(registry.runs["good"], "cancer")
    again = promote(registry.runs["good"], "cancer")
    assert first.registered and not again.registered
    assert first.version == again.version == "1"
    assert [v.version for v in versions(client_for(), "cancer")] == ["1"]
    # SOURCE may also be the registered version itself
    by_uri = promote("models:/cancer/1", alias="staging")
    assert by_uri.version == "1" and _alias("cancer", "staging") == "1"


def test_no_regression_scores_both_models_on_the_same_held_out_data(
    registry: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    weak = promote(registry.runs["weak"], "cancer")
    assert weak.moved
    good = promote(
        registry.runs["good"],
        "cancer",
        no_regression=True,
        eval_data=registry.eval_csv,
        target=TARGET,
    )
    [gate] = good.gates
    assert gate.status is GateStatus.PASSED and gate.metric == "accuracy"
    assert gate.details["holder_version"] == "1" and gate.details["rows"] == 171
    # both scores are real: recompute them here
    import mlflow.pyfunc
    import pandas as pd
    from sklearn.metrics import accuracy_score

    data = pd.read_csv(registry.eval_csv)
    x, y = data.drop(columns=[TARGET]), data[TARGET]
    for version, score in (("2", gate.value), ("1", gate.threshold)):
        model = mlflow.pyfunc.load_model(f"models:/cancer/{version}")
        assert score == pytest.approx(accuracy_score(y, model.predict(x)))
    assert gate.value > gate.threshold
    assert "the run logged accuracy" in gate.summary and "eval.csv (171 rows)" in gate.summary
    assert _alias("cancer") == "2"

    # the weak model again: now it would regress against the champion. Scored as a cold
    # `mlops-nb promote` scores, in the worker process (this process has the loaders already)
    from mlops_nb.registry.gates import scorer

    workers: list[scorer.Worker] = []
    monkeypatch.setattr(scorer, "start", lambda uri: workers.append(scorer.Worker()) or workers[-1])
    back = promote(
        registry.runs["weak"],
        "cancer",
        no_regression=True,
        eval_data=registry.eval_csv,
        target=TARGET,
        max_drift_share=0.3,  # compared in the worker too, while the version is registered
        reference=registry.train_csv,
        current=registry.shifted_csv,
    )
    assert len(workers) == 1 and workers[0]._proc.wait(timeout=60) == 0
    regressed, drifted = back.gates
    assert not back.moved and regressed.status is GateStatus.FAILED
    assert "REGRESSION" in regressed.summary
    # the same scores as in this process: the weak model's as holder before, the champion's
    assert (regressed.value, regressed.threshold) == pytest.approx((gate.threshold, gate.value))
    from mlops_nb.registry.gates import drift

    here = drift.compare(registry.train_csv, registry.shifted_csv, 0.3, TARGET)
    assert drifted.status is GateStatus.FAILED and drifted.value == here.value > 0.3
    assert drifted.details == here.details and "mean radius" in drifted.details["drifted_columns"]
    assert _alias("cancer") == "2"


def test_the_worker_reads_local_models_without_mlflow(registry: Seeded) -> None:
    import mlflow.pyfunc
    import pandas as pd
    from sklearn.metrics import accuracy_score

    from mlops_nb.registry.api import _model_source
    from mlops_nb.registry.gates.scorer import Worker, score_model

    promote(registry.runs["good"], "cancer")
    model = _model_source(client_for(), "cancer", "1")
    assert model.uri == "models:/cancer/1" and model.local_dir is not None
    data = pd.read_csv(registry.eval_csv)
    x, y = data.drop(columns=[TARGET]), data[TARGET]
    worker = Worker()
    score = worker.submit(score_model, model, x, y, "accuracy", registry.uri)
    imported = worker.submit(
        eval, "[m for m in ('mlflow', 'sqlalchemy') if m in __import__('sys').modules]"
    )
    worker.shutdown()
    expected = accuracy_score(y, mlflow.pyfunc.load_model("models:/cancer/1").predict(x))
    assert score.result(timeout=120) == pytest.approx(expected)
    assert imported.result(timeout=10) == []  # scored without importing MLflow or its store


def test_no_regression_uses_the_evaluation_dataset_logged_with_the_run(registry: Seeded) -> None:
    result = promote(registry.runs["with_eval"], "cancer", no_regression=True, target=TARGET)
    assert result.moved
    assert "the run's logged evaluation dataset" in result.gates[0].summary
    with pytest.raises(PromotionUsageError, match="--eval-data PATH --target COL"):
        promote(registry.runs["weak"], "cancer", no_regression=True, target=TARGET)


def test_drift_gate_against_current_data(registry: Seeded) -> None:
    ok = promote(
        registry.runs["good"],
        "cancer",
        max_drift_share=0.3,
        reference=registry.train_csv,
        current=registry.eval_csv,
    )
    [gate] = ok.gates
    assert ok.moved and gate.gate == "drift" and gate.value <= 0.3
    assert gate.details["reference_rows"] == 398 and gate.details["current_rows"] == 171
    assert TARGET not in gate.details["columns"]  # the label is not a feature

    shifted = promote(
        registry.runs["weak"],
        "cancer",
        max_drift_share=0.3,
        reference=registry.train_csv,
        current=registry.shifted_csv,
    )
    [gate] = shifted.gates
    assert not shifted.moved and gate.status is GateStatus.FAILED and gate.value > 0.3
    assert "mean radius" in gate.details["drifted_columns"]
    assert _alias("cancer") == ok.version


def test_force_needs_a_reason_and_is_recorded(registry: Seeded) -> None:
    promote(registry.runs["good"], "cancer")
    with pytest.raises(PromotionUsageError, match="--reason"):
        promote(registry.runs["weak"], "cancer", require=["accuracy>=0.99"], force=True)
    forced = promote(
        registry.runs["weak"],
        "cancer",
        require=["accuracy>=0.99"],
        force=True,
        reason="rollback: incident 42",
    )
    assert forced.moved and forced.forced and not forced.passed
    assert forced.verdict().startswith("FORCED") and _alias("cancer") == "2"
    client = client_for()
    tags = client.get_model_version("cancer", "2").tags
    decision = json.loads(tags["mlops_nb.decision"])
    assert decision["forced"] and decision["reason"] == "rollback: incident 42"
    assert decision["from"] == "1" and decision["to"] == "2"
    assert tags["mlops_nb.gates_passed"] == "false"
    moves = history(client, "cancer")
    assert [(m.from_version, m.to_version, m.forced) for m in moves] == [
        (None, "1", False),
        ("1", "2", True),
    ]
    # the full decision is a JSON artifact on the version
    full = _artifact_json(client, forced.decision_uri)
    assert full["gates"][0]["status"] == "failed" and full["reason"] == "rollback: incident 42"


def _artifact_json(client: Any, uri: str | None) -> dict[str, Any]:
    import mlflow.artifacts

    assert uri is not None
    model_id, _, rel = uri[len("models:/") :].partition("/")
    base = client.get_logged_model(model_id).artifact_location
    return json.loads(mlflow.artifacts.load_text(f"{base}/{rel}"))


def test_bad_sources_are_usage_errors(registry: Seeded) -> None:
    with pytest.raises(PromotionUsageError, match="several models"):
        promote(registry.runs["two_models"], "cancer")
    with pytest.raises(PromotionUsageError, match="logged no model"):
        promote(registry.runs["no_model"], "cancer")
    with pytest.raises(PromotionUsageError, match="run id"):
        promote("not-a-run", "cancer")
    with pytest.raises(PromotionUsageError, match="METRIC OP NUMBER"):
        promote(registry.runs["good"], "cancer", require=["accuracy is high"])
    missing = registry.root / "missing.csv"
    with pytest.raises(PromotionUsageError, match=r"--current .*missing\.csv: no such file"):
        promote(
            registry.runs["good"],
            "cancer",
            max_drift_share=0.3,
            reference=registry.train_csv,
            current=missing,
        )
    with pytest.raises(PromotionUsageError, match=r"--eval-data .*missing\.csv: no such file"):
        promote(registry.runs["good"], "cancer", no_regression=True, eval_data=missing, target="t")
    # none of these touched the registry
    assert client_for().search_registered_models() == []
    two = promote(f"runs:/{registry.runs['two_models']}/b", "other")
    assert two.moved and two.version == "1"


def test_a_store_other_than_the_process_default(
    registry: Seeded, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the panel's server does: its own store is not the notebook's."""
    import os

    other = f"sqlite:///{registry.root / 'elsewhere.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", other)
    result = promote(
        registry.runs["good"],
        "cancer",
        no_regression=True,
        eval_data=registry.eval_csv,
        target=TARGET,
        tracking_uri=registry.uri,
    )
    assert result.moved and result.tracking_uri == registry.uri
    assert (
        str(client_for(registry.uri).get_model_version_by_alias("cancer", "champion").version)
        == "1"
    )
    assert os.environ["MLFLOW_TRACKING_URI"] == other  # put back
    assert not (registry.root / "elsewhere.db").exists()  # nothing touched there
