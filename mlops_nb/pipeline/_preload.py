"""Imported by every worker as it starts (Dask's ``--preload``, the local pool's forkserver), so
the first notebook it runs does not wait for papermill. Not MLflow: the runs of the notebooks a
worker executes are opened and closed by the process that submitted them."""

from __future__ import annotations

import contextlib

from mlops_nb.pipeline._imports import skip_slow_optional_imports

skip_slow_optional_imports()

with contextlib.suppress(Exception):  # a worker that cannot warm up imports on first use
    import mlops_nb.pipeline.execute  # noqa: F401 - papermill, nbformat, the kernel manager
