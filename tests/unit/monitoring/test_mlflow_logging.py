"""Logged to MLflow when a run is given or active: HTML report, JSON summary, drift_share."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drift_data import customers

import mlops_nb
from mlops_nb.exceptions import ConfigError


def _artifacts(run_id: str, tmp: Path) -> dict[str, str]:
    import mlflow

    out = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path="drift", dst_path=tmp)
    return {p.name: p.read_text(encoding="utf-8") for p in Path(out).iterdir()}


def test_given_run_gets_report_summary_and_metric(isolated: Path) -> None:
    import mlflow

    with mlflow.start_run() as run:
        pass
    ref, cur = customers(500, seed=1), customers(500, seed=2, shift=("age", "income", "plan"))

    result = mlops_nb.drift(ref, cur, log_to=run)

    logged = mlflow.get_run(run.info.run_id)
    assert logged.data.metrics["drift_share"] == pytest.approx(result.drift_share)
    assert logged.data.metrics["dataset_drift"] == 1.0
    files = _artifacts(run.info.run_id, isolated / "dl")
    assert json.loads(files["summary.json"])["drifted_columns"] == result.drifted_columns
    assert '"column_name": "income"' in files["report.html"]


def test_active_run_is_used_and_false_opts_out(isolated: Path) -> None:
    import mlflow

    ref, cur = customers(300, seed=1), customers(300, seed=2)
    with mlflow.start_run() as run:
        mlops_nb.drift(ref, cur)
    with mlflow.start_run() as skipped:
        mlops_nb.drift(ref, cur, log_to=False)

    assert mlflow.get_run(run.info.run_id).data.metrics["drift_share"] == 0.0
    assert "drift_share" not in mlflow.get_run(skipped.info.run_id).data.metrics


def test_a_run_id_works_and_garbage_is_refused(isolated: Path) -> None:
    import mlflow

    with mlflow.start_run() as run:
        pass
    mlops_nb.drift(customers(200, seed=1), customers(200, seed=2), log_to=run.info.run_id)
    assert "drift_share" in mlflow.get_run(run.info.run_id).data.metrics
    with pytest.raises(ConfigError, match="not an MLflow run"):
        mlops_nb.drift(customers(200, seed=1), customers(200, seed=2), log_to=3.5)
