"""Steps run one task at a time (as an exported DAG's tasks run them): one MLflow pipeline run per
orchestrator run, whose status follows the latest attempt of each step (a retry that succeeds
turns a FAILED pipeline run FINISHED again)."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.pipeline.helpers import children, executions, runs

from mlops_nb.pipeline.api import run_pipeline

pytestmark = pytest.mark.integration


def _pipeline_runs(experiment: str) -> dict[str, object]:
    return {
        r.data.tags["mlops_nb.orchestrator_run"]: r
        for r in runs(experiment)
        if r.data.tags.get("mlops_nb.kind") == "pipeline"
    }


def test_tasks_of_one_orchestrator_run_share_a_pipeline_run(chain: Path) -> None:
    root = chain.parent
    assert run_pipeline(chain, only="a", orchestrator_run="dag:1").ok
    (root / "fail-b.flag").write_text("make b fail")
    failed = run_pipeline(chain, only="b", orchestrator_run="dag:1")
    assert failed.steps["b"].status == "FAILED"
    [parent] = _pipeline_runs("chain").values()
    assert parent.info.status == "FAILED"  # type: ignore[attr-defined]

    (root / "fail-b.flag").unlink()  # the orchestrator retries the task
    retried = run_pipeline(chain, only="b", orchestrator_run="dag:1")
    assert retried.ok and retried.run_id == parent.info.run_id  # type: ignore[attr-defined]
    [parent] = _pipeline_runs("chain").values()
    assert parent.info.status == "FINISHED"  # type: ignore[attr-defined]
    steps = [
        (r.info.run_name, r.info.status)
        for r in runs("chain")
        if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id  # type: ignore[attr-defined]
    ]
    assert steps == [("a", "FINISHED"), ("b", "FAILED"), ("b", "FINISHED")]
    assert executions(root) == ["a", "b"]  # the failed attempt raised before it logged

    # the next DAG run: a cached task records a cached child under a new pipeline run
    cached = run_pipeline(chain, only="a", orchestrator_run="dag:2")
    assert cached.steps["a"].status == "CACHED"
    by_run = _pipeline_runs("chain")
    assert set(by_run) == {"dag:1", "dag:2"}
    second = children("chain", by_run["dag:2"].info.run_id)  # type: ignore[attr-defined]
    assert second["a"].data.tags["mlops_nb.cached"] == "true"
    assert executions(root) == ["a", "b"]
