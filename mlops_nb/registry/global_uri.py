"""Some MLflow calls read the process-wide tracking URI instead of their client's: registering a
``models:/<model_id>`` source, ``pyfunc.load_model("models:/...")``, ``get_model_info``. A
promotion runs with it pointed at the promotion's store (the panel's server serves notebooks with
different stores), and puts it back afterwards. One promotion at a time per process."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

_lock = threading.RLock()


@contextlib.contextmanager
def tracking_uri(uri: str) -> Iterator[None]:
    import mlflow

    with _lock:
        before = os.environ.get("MLFLOW_TRACKING_URI")  # MLflow mirrors its global URI there
        if mlflow.get_tracking_uri() == uri:
            yield
            return
        mlflow.set_tracking_uri(uri)
        try:
            yield
        finally:
            mlflow.set_tracking_uri(before)  # type: ignore[arg-type]  # None unsets it
