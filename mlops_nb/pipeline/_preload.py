"""Imported once by the local executor's forkserver, so pooled workers start warm."""

from __future__ import annotations

import contextlib

from mlops_nb.pipeline._imports import skip_slow_optional_imports

skip_slow_optional_imports()

with contextlib.suppress(Exception):  # a worker that cannot warm up imports on first use
    import mlflow.tracking  # noqa: F401
    import papermill  # noqa: F401
    from nbconvert import HTMLExporter

    from mlops_nb.pipeline.execute import _exporter

    _exporter(HTMLExporter)
