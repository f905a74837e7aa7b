"""The one "get or create an MLflow experiment" of mlops-nb (tracking delivery, pipelines, sweeps).

An experiment that was deleted is restored (a user who deleted it and runs again expects the runs
to be visible), and one created concurrently by another process (parallel kernels, pipeline
steps, a delivery worker) is picked up instead of failing.
"""

from __future__ import annotations

from typing import Any


def get_or_create(client: Any, name: str) -> str:
    """The id of experiment ``name`` in ``client``'s store (an ``MlflowClient``), created or
    restored when needed."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    try:
        return str(client.create_experiment(name))
    except MlflowException:  # created concurrently by another process
        exp = client.get_experiment_by_name(name)
        if exp is None:
            raise
        return str(exp.experiment_id)
