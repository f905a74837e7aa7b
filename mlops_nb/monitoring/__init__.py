"""Drift monitoring with Evidently, inline in the notebook and against running services.

``mlops_nb.drift(reference, current)`` (see :mod:`mlops_nb.monitoring.api`) returns a
:class:`~mlops_nb.monitoring.result.DriftResult`. Importing this package is cheap: Evidently,
MLflow, plotly and httpx load only when a report, a run, a figure or a service needs them.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DriftResult", "ReferenceProfile", "drift", "reference_profile"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mlops_nb.monitoring import api

        return getattr(api, name)
    raise AttributeError(f"module 'mlops_nb.monitoring' has no attribute {name!r}")
