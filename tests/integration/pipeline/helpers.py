"""Helpers of the pipeline integration tests (import as ``integration.pipeline.helpers``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from support import TEST_NOTEBOOKS

PIPELINE_NOTEBOOKS = TEST_NOTEBOOKS / "pipeline"

CHAIN = """
name: chain
steps:
  - name: a
    notebook: a.ipynb
    parameters: {step: a, inputs: [raw.txt], output: a.txt, text: A}
    inputs: [raw.txt]
    outputs: [a.txt]
  - name: b
    notebook: b.ipynb
    parameters: {step: b, inputs: [a.txt], output: b.txt, text: B, fail_if_exists: fail-b.flag}
    inputs: [a.txt]
    outputs: [b.txt]
  - name: c
    notebook: c.ipynb
    parameters: {step: c, inputs: [b.txt], output: c.txt, text: C}
    needs: [b]
    inputs: [b.txt]
    outputs: [c.txt]
  - name: side
    notebook: side.ipynb
    parameters: {step: side, output: side.txt, text: S}
    outputs: [side.txt]
"""


def executions(root: Path) -> list[str]:
    """Steps that actually executed, in order (each step notebook appends its name)."""
    log = root / "executions.log"
    return log.read_text().split() if log.exists() else []


def runs(experiment: str) -> list[Any]:
    """Every run of ``experiment`` in the test's tracking store, oldest first."""
    from mlflow.tracking import MlflowClient

    from mlops_nb.config import get_settings

    client = MlflowClient(get_settings().tracking_uri)
    exp = client.get_experiment_by_name(experiment)
    if exp is None:
        return []
    found = client.search_runs([exp.experiment_id], max_results=1000)
    return sorted(found, key=lambda r: r.info.start_time)


def children(experiment: str, parent_id: str) -> dict[str, Any]:
    """Child runs of ``parent_id`` by run name."""
    return {
        r.info.run_name: r
        for r in runs(experiment)
        if r.data.tags.get("mlflow.parentRunId") == parent_id
    }
