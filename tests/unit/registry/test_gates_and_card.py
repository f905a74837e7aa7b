"""Pure parts of the registry: requirement parsing, thresholds, the primary metric, the fidelity
verdict, decision text, and the card's rendering (escaping, author sections)."""

from __future__ import annotations

import pytest

from mlops_nb.registry.card import AUTHOR_MARK, Block, Card, Section, render_html, render_markdown
from mlops_nb.registry.constants import GateStatus
from mlops_nb.registry.errors import PromotionUsageError
from mlops_nb.registry.gates import fidelity, scoring, thresholds
from mlops_nb.registry.result import GateResult, PromotionResult
from mlops_nb.registry.source import parse_models_uri


@pytest.mark.parametrize(
    ("text", "metric", "op", "value"),
    [
        ("accuracy>=0.9", "accuracy", ">=", 0.9),
        (" test_rmse < 12.5 ", "test_rmse", "<", 12.5),
        ("val/loss<=1e-3", "val/loss", "<=", 0.001),
        ("f1==1", "f1", "==", 1.0),
    ],
)
def test_requirements_parse(text: str, metric: str, op: str, value: float) -> None:
    req = thresholds.parse_requirement(text)
    assert (req.metric, req.op, req.value) == (metric, op, value)


@pytest.mark.parametrize("text", ["accuracy", "accuracy >= high", ">=0.9", "accuracy => 0.9"])
def test_malformed_requirements_are_usage_errors(text: str) -> None:
    with pytest.raises(PromotionUsageError, match="METRIC OP NUMBER"):
        thresholds.parse_requirement(text)


def test_thresholds_report_value_bound_and_missing_metrics() -> None:
    reqs = [thresholds.parse_requirement(t) for t in ("accuracy>=0.9", "rmse<2", "auc>0.5")]
    results = thresholds.check(reqs, {"accuracy": 0.95, "rmse": 2.0})
    assert [r.status for r in results] == [GateStatus.PASSED, GateStatus.FAILED, GateStatus.FAILED]
    assert results[0].value == 0.95 and results[0].threshold == 0.9
    assert "logged no metric 'auc' (logged: accuracy, rmse)" in results[2].summary


def test_primary_metric_is_stated() -> None:
    chosen = scoring.choose(None, ["test_rmse", "r2_score"], [1.5, 2.5])
    assert chosen.scorer.name == "r2" and chosen.why == "the run logged r2_score"
    assert scoring.choose(None, ["loss"], ["a", "b"]).scorer.name == "accuracy"
    assert scoring.choose(None, [], [0.1, 2.7, 3.3]).why.startswith("regression target")
    assert scoring.choose("rmse", ["accuracy"], [1.0]).scorer.higher_is_better is False
    with pytest.raises(PromotionUsageError, match="mlops-nb scores"):
        scoring.choose("brier", [], [1])


def test_fidelity_verdict_only_for_a_service_of_the_candidate() -> None:
    assert fidelity.check(None, None, "r1", "m", "1").status is GateStatus.SKIPPED
    other = fidelity.check({"run_id": "r2"}, "svc", "r1", "m", "1")
    assert other.status is GateStatus.SKIPPED and "not the candidate" in other.summary
    unknown = fidelity.check({"run_id": "r1"}, "svc", "r1", "m", "1")
    assert unknown.status is GateStatus.SKIPPED and "no fidelity verdict" in unknown.summary
    failed = fidelity.check(
        {"registered_model": "m", "registered_version": "1", "fidelity": {"passed": False}},
        "svc",
        None,
        "m",
        "1",
    )
    assert failed.status is GateStatus.FAILED


def _result(**kw: object) -> PromotionResult:
    values: dict[str, object] = dict(
        name="m",
        version="3",
        alias="champion",
        passed=False,
        moved=False,
        gates=[GateResult("drift", GateStatus.FAILED, "share 0.6", value=0.6, threshold=0.3)],
        previous_version="2",
        source="abc",
        run_id="abc",
        model_uri="models:/m/3",
        registered=True,
    )
    values.update(kw)
    return PromotionResult(**values)  # type: ignore[arg-type]


def test_decision_text_and_round_trip() -> None:
    refused = _result()
    assert refused.exit_code == 1
    assert refused.verdict().startswith("NOT PROMOTED: drift failed; @champion stays on version 2")
    assert "✗ drift: share 0.6" in refused.text()
    forced = _result(moved=True, forced=True, reason="hotfix")
    assert forced.exit_code == 0 and "FORCED" in forced.verdict() and "hotfix" in forced.verdict()
    assert PromotionResult.from_dict(forced.as_dict()) == forced


def test_card_markdown_and_html_escape_and_mark_author_sections() -> None:
    card = Card(
        "m",
        "1",
        "Model card: m version 1",
        [
            Section(
                "Parameters",
                [Block("table", header=["param", "value"], rows=[["a|b", "<script>x</script>"]])],
            ),
            Section("Intended use", [Block("author", "who should use it")]),
        ],
    )
    md, html = render_markdown(card), render_html(card)
    assert "| a\\|b | &lt;script>x&lt;/script> |" in md  # Markdown cells: no pipes, no markup
    assert "<script>" not in html and "&lt;script&gt;x&lt;/script&gt;" in html
    assert md.count(AUTHOR_MARK) == html.count(AUTHOR_MARK) == 1
    assert "To be written by the model's author:** who should use it" in md


def test_models_uris() -> None:
    assert parse_models_uri("models:/cancer@champion") == ("cancer", None, "champion")
    assert parse_models_uri("models:/cancer/3") == ("cancer", "3", None)
    with pytest.raises(PromotionUsageError):
        parse_models_uri("models:/cancer/latest/x")


def test_a_worker_when_a_second_core_pays_off(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from mlops_nb.registry.gates import scorer

    monkeypatch.setattr(os, "getloadavg", lambda: (3.5, 3.0, 3.0))  # a busy 2-core machine
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert scorer.second_core(with_mlflow=False)  # reading the models itself: still worth it
    assert not scorer.second_core(with_mlflow=True)  # a second MLflow import: not when busy
    monkeypatch.setattr(os, "getloadavg", lambda: (0.2, 0.2, 0.2))
    assert scorer.second_core(with_mlflow=True)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert not scorer.second_core(with_mlflow=False)  # one usable core: in place
    assert scorer.local_store("sqlite:///x.db") and not scorer.local_store("http://127.0.0.1:5000")
