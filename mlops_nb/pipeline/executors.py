"""Where notebook executions run. Every executor has the same small interface:

``submit(fn, *args, **kwargs) -> concurrent.futures.Future``, ``slots`` (how many run at once) and
``close()``. The runner and the sweep only ever use that.

- :class:`LocalExecutor` (default): a pool of worker processes on this machine. Workers are warmed
  up (papermill, MLflow, nbconvert imported) as they start, so a step pays only for its kernel.
- :class:`DaskExecutor`: a ``distributed.Client``; a ``LocalCluster`` when no scheduler address is
  given, else ``--scheduler tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``. Workers need the same
  environment (mlops-nb and the notebooks' libraries), the notebooks and data at the same paths
  (a shared filesystem), and a tracking URI they can reach: with workers on other machines use a
  tracking *server* (``MLFLOW_TRACKING_URI=http://...``), not a sqlite file.
"""

from __future__ import annotations

import concurrent.futures as cf
import os
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from mlops_nb.exceptions import ConfigError, require

T = TypeVar("T")
EXECUTORS = ("local", "dask")


class Executor(Protocol):
    name: str

    @property
    def slots(self) -> int: ...

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]: ...

    def close(self) -> None: ...


def _warm_up() -> None:
    """Pool initializer: pay the imports once per worker, not once per step."""
    try:
        import mlflow.tracking  # noqa: F401
        import papermill  # noqa: F401
        from nbconvert import HTMLExporter

        from mlops_nb.pipeline.execute import _exporter

        _exporter(HTMLExporter)
    except Exception:  # a worker that cannot warm up still works (it imports on first use)
        pass


class LocalExecutor:
    """A process pool on this machine (``spawn``ed workers: safe with threads in the parent)."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self._jobs = max(1, jobs or os.cpu_count() or 1)
        self._pool: cf.ProcessPoolExecutor | None = None

    @property
    def slots(self) -> int:
        return self._jobs

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        if self._pool is None:
            import multiprocessing

            self._pool = cf.ProcessPoolExecutor(
                max_workers=self._jobs,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_warm_up,
            )
        return self._pool.submit(fn, *args, **kwargs)

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None


class DaskExecutor:
    """A Dask cluster: ``LocalCluster`` (processes) by default, or an existing scheduler."""

    name = "dask"

    def __init__(self, scheduler: str | None = None, jobs: int | None = None) -> None:
        require("distributed", "dask", "--executor dask")
        from distributed import Client, LocalCluster

        address = scheduler or os.environ.get("DASK_SCHEDULER_ADDRESS") or None
        self._cluster: Any = None
        if address:
            try:
                self.client = Client(address, timeout="20s")
            except OSError as exc:
                raise ConfigError(
                    f"cannot reach the Dask scheduler at {address} ({exc}); start it with "
                    "`dask scheduler` and its workers with `dask worker ADDRESS`, or omit "
                    "--scheduler to use a local cluster"
                ) from None
        else:
            self._cluster = LocalCluster(
                n_workers=max(1, jobs or os.cpu_count() or 1),
                processes=True,
                threads_per_worker=1,
                dashboard_address=None,
            )
            self.client = Client(self._cluster)
        self._jobs = jobs

    @property
    def slots(self) -> int:
        threads = sum(self.client.nthreads().values()) or 1
        return min(threads, self._jobs) if self._jobs else threads

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        result: cf.Future[T] = cf.Future()
        future = self.client.submit(fn, *args, pure=False, **kwargs)

        def transfer(done: Any) -> None:
            try:
                result.set_result(done.result())
            except BaseException as exc:
                result.set_exception(exc)

        future.add_done_callback(transfer)
        return result

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    kind: str = "local", *, scheduler: str | None = None, jobs: int | None = None
) -> Executor:
    """The executor named ``kind`` (``local`` or ``dask``)."""
    if jobs is not None and jobs < 1:
        raise ConfigError(f"-j/--jobs must be at least 1 (got {jobs})")
    if kind == "local":
        if scheduler:
            raise ConfigError("--scheduler needs --executor dask")
        return LocalExecutor(jobs)
    if kind == "dask":
        return DaskExecutor(scheduler, jobs)
    raise ConfigError(f"unknown executor {kind!r}; choose one of: {', '.join(EXECUTORS)}")
