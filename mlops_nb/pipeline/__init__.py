"""Pipelines: papermill-executed notebooks as cached DAG steps, local or on Dask, exported to
Airflow and Kubeflow Pipelines (:func:`export`). The library API is :mod:`.api`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlops_nb.pipeline.orchestrators import Export


def export(*args: Any, **kwargs: Any) -> Export:
    """The pipeline as an Airflow 3 DAG or a KFP v2 pipeline; see
    :func:`mlops_nb.pipeline.api.export` (imported on call: this package stays light)."""
    from mlops_nb.pipeline.api import export as _export

    return _export(*args, **kwargs)
