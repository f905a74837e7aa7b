"""The local pool's forkserver preloads more than a Dask worker: forked workers inherit it for
free. nbconvert's HTML exporter (every pipeline step renders one) and MLflow (what delivers the
runs of a step's ``%%track`` cells when the kernel exits)."""

from __future__ import annotations

import contextlib

import mlops_nb.pipeline._preload  # noqa: F401

with contextlib.suppress(Exception):
    import mlflow.tracking  # noqa: F401
    from nbconvert import HTMLExporter

    from mlops_nb.pipeline.execute import _exporter

    _exporter(HTMLExporter)
