"""MLflow's process-wide tracking URI, pointed at a given store for the length of a block.

Some MLflow calls read the process-wide URI instead of their client's: ``mlflow.sklearn.log_model``
(``%%track``'s delivery logs to the record's store), registering a ``models:/<model_id>`` source,
``pyfunc.load_model("models:/...")``, ``get_model_info`` (a promotion, on the promotion's store:
the panel's server serves notebooks with different stores). :func:`tracking_uri` points it at
``uri`` and puts back what was there: a URI the user set, or none (an unset URI stays unset: it
is not pinned to the default it resolved to, nor exported to child processes through
``MLFLOW_TRACKING_URI``). One block at a time per process (one re-entrant lock for every caller).
"""

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
