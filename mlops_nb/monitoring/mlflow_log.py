"""Log a drift result to an MLflow run: the HTML report, the JSON summary, a ``drift_share`` metric.

Which run: the one given (an MLflow ``Run``/``ActiveRun`` or a run id), else MLflow's active run.
MLflow is imported only when a run is given or already imported (no import, no active run), so
``drift()`` without MLflow in play stays fast.
"""

from __future__ import annotations

import sys
from typing import Any

from mlops_nb.exceptions import ConfigError

REPORT_PATH = "drift/report.html"
SUMMARY_PATH = "drift/summary.json"


def active_run_id() -> str | None:
    """MLflow's active run in this thread, if MLflow is in use."""
    if "mlflow" not in sys.modules:
        return None
    import mlflow

    run = mlflow.active_run()
    return run.info.run_id if run is not None else None


def run_id_of(run: Any) -> str:
    if isinstance(run, str) and run:
        return run
    info = getattr(run, "info", None)
    run_id = getattr(info, "run_id", None)
    if isinstance(run_id, str):
        return run_id
    raise ConfigError(
        f"log_to={run!r} is not an MLflow run; pass a run (mlflow.start_run()), a run id, "
        "or None to use the active run"
    )


def log_result(result: Any, run: Any = None) -> str:
    """Log ``result`` to ``run`` (or the active run); returns the run id."""
    run_id = run_id_of(run) if run is not None else active_run_id()
    if run_id is None:
        raise ConfigError(
            "no MLflow run to log the drift result to: pass log_to=run or start one with "
            "mlflow.start_run()"
        )
    from mlflow import MlflowClient

    summary = result.summary
    client = MlflowClient()
    client.log_metric(run_id, "drift_share", float(summary["drift_share"]))
    client.log_metric(run_id, "drift_n_drifted", float(summary["n_drifted"]))
    client.log_metric(run_id, "dataset_drift", float(bool(summary["dataset_drift"])))
    client.log_dict(run_id, summary, SUMMARY_PATH)
    if result.has_report:
        client.log_text(run_id, result.to_html(), REPORT_PATH)
    return run_id
