"""mlops-nb: take a notebook to production without leaving Jupyter.

Public API (each imported lazily, so ``import mlops_nb`` stays fast and imports neither MLflow nor
Evidently):

- :func:`track` -- context manager recording a block as one MLflow run (what ``%%track`` uses)
- :func:`flush` -- wait until queued runs are delivered to the tracking store
- :func:`sync` -- deliver everything in the outbox (what ``mlops-nb sync`` runs)
- :func:`run_notebook` -- execute a parametrised notebook as one run (``mlops-nb run``)
- :func:`productionize` -- notebook to FastAPI service and Docker image (``mlops-nb productionize``)
- :func:`drift` -- data drift between a reference and current data, or a running service
- :func:`promote` -- register a run's model and move an alias behind gates (``mlops-nb promote``)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from mlops_nb._version import __version__

_LAZY = {
    "track": "mlops_nb.tracking.api",
    "flush": "mlops_nb.tracking.api",
    "sync": "mlops_nb.tracking.api",
    "configure": "mlops_nb.config",
    "run_notebook": "mlops_nb.pipeline.api",
    "run_pipeline": "mlops_nb.pipeline.api",
    "sweep": "mlops_nb.pipeline.api",
    "productionize": "mlops_nb.productionize.api",
    "drift": "mlops_nb.monitoring.api",
    "promote": "mlops_nb.registry.api",
}

__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:  # pragma: no cover
    from mlops_nb.config import configure as configure


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'mlops_nb' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext mlops_nb``: register ``%%track`` and ``%mlops`` (cheap: MLflow loads later)."""
    from mlops_nb.tracking.magics import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from mlops_nb.tracking.magics import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "mlops_nb.server"}]


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    return [{"src": "labextension", "dest": "mlops-nb"}]
