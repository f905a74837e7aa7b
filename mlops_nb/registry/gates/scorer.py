"""Where the no-regression gate's models are scored: in this process, or in a second one.

Loading a model costs more than scoring it: scikit-learn and, for the models MLflow saves with
skops by default, ``skops.io``, whose import walks every scikit-learn estimator (~1.5 s); through
``mlflow.pyfunc`` (~1.5 s of imports) and a ``models:/`` URI (the store's SQLAlchemy and alembic
again) more still. A process that has not loaded them yet (``mlops-nb promote`` just started)
starts a worker process at once (:func:`start`): it imports scikit-learn and skops on the second
core while this one imports MLflow's store, registers the version and checks drift, then loads
and scores the candidate and the alias holder. A process that already holds them (a notebook,
the panel's server), or a machine with one core, scores in place. Both ways run
:func:`score_model`: a model whose files are on this machine and that :mod:`.model_files`
reproduces exactly is loaded without MLflow; any other through ``mlflow.pyfunc``. The same model,
the same data, the same metric.
"""

from __future__ import annotations

import sys
from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass
from typing import Any

from mlops_nb.registry.errors import RegistryError


@dataclass(frozen=True)
class ModelSource:
    """A registered version to score: its ``models:/NAME/VERSION`` URI, and its folder when the
    version's files are on this machine (its download URI, resolved by the caller)."""

    uri: str
    local_dir: str | None = None


def score_model(
    model: ModelSource, features: Any, target: Any, metric: str, tracking_uri: str
) -> float:
    """``model`` predicting ``features``, scored with ``metric`` (a name of
    :data:`scoring.SCORERS`). A model that cannot predict the data raises :class:`RegistryError`
    (a failed candidate)."""
    from mlops_nb.registry.gates.scoring import SCORERS

    try:
        predictions = _predict(model, features, tracking_uri)
    except Exception as exc:  # whatever the model raises fails it
        raise RegistryError(str(exc) or type(exc).__name__) from exc
    return float(SCORERS[metric].fn(target, predictions))


def _predict(model: ModelSource, features: Any, tracking_uri: str) -> Any:
    if model.local_dir is not None:
        from mlops_nb.registry.gates import model_files

        try:
            return model_files.load(model.local_dir).predict(features)
        except model_files.NotDirect:
            pass  # MLflow's own loader below
    import mlflow.pyfunc

    if mlflow.get_tracking_uri() != tracking_uri:  # a worker: the promotion's store
        mlflow.set_tracking_uri(tracking_uri)
    # suppress_warnings: no comparison of the model's pip requirements with this environment
    # (it maps every installed distribution, ~1 s); a mismatch that matters fails the prediction
    return mlflow.pyfunc.load_model(model.uri, suppress_warnings=True).predict(features)


def _warm(with_mlflow: bool) -> None:
    """The worker's first task: import what loading and scoring a model needs (MLflow's pyfunc
    only when the models' files are not expected on this machine)."""
    import importlib.util

    import pandas  # noqa: F401
    import yaml  # noqa: F401

    if importlib.util.find_spec("sklearn") is not None:
        import sklearn.metrics  # noqa: F401
    if importlib.util.find_spec("skops") is not None:
        import skops.io  # noqa: F401
    if with_mlflow:
        import mlflow.pyfunc  # noqa: F401


class InPlace(Executor):
    """Runs a submitted call at once, in this process (the warm case)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # handed to whoever reads the result
            future.set_exception(exc)
        return future


class Worker(Executor):
    """``python -m mlops_nb.registry.gates.scorer``: a child process that imports the model
    loaders at once, then runs the calls it is sent, one at a time, in order (module-level
    functions and their arguments, pickled over its stdin and stdout). No ``multiprocessing``:
    it would run the caller's ``__main__`` again (spawn) or fork a threaded process."""

    def __init__(self, with_mlflow: bool = False) -> None:
        import subprocess
        import threading
        from collections import deque

        self._proc = subprocess.Popen(
            [sys.executable, "-m", __name__, *(["--mlflow"] if with_mlflow else [])],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._pending: deque[Future[Any]] = deque()
        self._lock = threading.Lock()
        self._outbox: deque[bytes | None] = deque()
        self._wake = threading.Condition(self._lock)
        threading.Thread(target=self._write, name="mlops-nb-scorer-in", daemon=True).start()
        threading.Thread(target=self._read, name="mlops-nb-scorer-out", daemon=True).start()

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
        import pickle

        future: Future[Any] = Future()
        payload = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        with self._wake:
            if self._proc.poll() is not None:
                future.set_exception(BrokenExecutor("the scoring process has exited"))
                return future
            self._pending.append(future)
            self._outbox.append(payload)
            self._wake.notify()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Close its input: the worker ends after the calls already sent (never killed while
        it may hold a model's files open)."""
        with self._wake:
            self._outbox.append(None)
            self._wake.notify()
        if wait:
            self._proc.wait()

    def _write(self) -> None:  # sends while the caller goes on (a data frame fills the pipe)
        assert self._proc.stdin is not None
        while True:
            with self._wake:
                while not self._outbox:
                    self._wake.wait()
                payload = self._outbox.popleft()
            try:
                if payload is None:
                    self._proc.stdin.close()
                    return
                self._proc.stdin.write(len(payload).to_bytes(8, "big") + payload)
                self._proc.stdin.flush()
            except OSError:  # the worker died: _read fails what is pending
                return

    def _read(self) -> None:
        import pickle

        assert self._proc.stdout is not None
        while True:
            header = self._proc.stdout.read(8)
            message = self._proc.stdout.read(int.from_bytes(header, "big")) if header else b""
            with self._lock:
                if not message or not self._pending:
                    break
                future = self._pending.popleft()
            ok, value = pickle.loads(message)
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)
        with self._lock:
            while self._pending:
                self._pending.popleft().set_exception(
                    BrokenExecutor("the scoring process exited before answering")
                )


def warm_here() -> bool:
    """Whether this process has loaded a model loader already (a notebook that logged one)."""
    return "mlflow.pyfunc" in sys.modules or "skops.io" in sys.modules


def second_core(with_mlflow: bool) -> bool:
    """Whether a worker process pays off: this process may use more than one core and, when
    the worker must import MLflow too (~2 s of CPU this process spends anyway), fewer processes
    run (the last minute's load average) than there are cores. A worker that reads the models
    itself adds little CPU (an interpreter and pandas, ~0.4 s): on a busy machine too, two
    processes sharing the cores end sooner than one doing both halves in turn."""
    import os

    affinity = getattr(os, "sched_getaffinity", None)
    cpus = len(affinity(0)) if affinity is not None else (os.cpu_count() or 1)
    if cpus < 2:
        return False
    return not with_mlflow or os.getloadavg()[0] < cpus


def local_store(tracking_uri: str) -> bool:
    """Whether the models' files are expected on this machine: a sqlite or file store (the
    models are then read without MLflow); else the worker imports ``mlflow.pyfunc`` too."""
    return not tracking_uri.startswith(("http:", "https:", "databricks"))


def start(tracking_uri: str) -> Executor:
    """A worker process already importing the model loaders when this process has not and a
    second core pays off; else :class:`InPlace`."""
    with_mlflow = not local_store(tracking_uri)
    if warm_here() or not second_core(with_mlflow):
        return InPlace()
    return Worker(with_mlflow=with_mlflow)


def _serve() -> None:
    """The worker's loop: its answers go to the real stdout; whatever the models print goes to
    stderr."""
    import os
    import pickle

    answers = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    calls = sys.stdin.buffer
    _warm(with_mlflow="--mlflow" in sys.argv[1:])
    while header := calls.read(8):
        fn, args, kwargs = pickle.loads(calls.read(int.from_bytes(header, "big")))
        try:
            answer = (True, fn(*args, **kwargs))
        except Exception as exc:
            answer = (False, exc)
        try:
            message = pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:  # an exception that does not pickle: its text does
            message = pickle.dumps((False, RegistryError(f"{type(exc).__name__}: {exc}")))
        answers.write(len(message).to_bytes(8, "big") + message)
        answers.flush()
    answers.close()
    from mlops_nb import _exit

    _exit.now(0)  # no interpreter teardown (~1 s of CPU) while the caller's pipes stay open


if __name__ == "__main__":
    _serve()
