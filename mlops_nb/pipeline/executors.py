"""Where notebook executions run. Every executor has the same small interface:

``submit(fn, *args, **kwargs) -> concurrent.futures.Future``, ``slots`` (how many run at once) and
``close()``. The runner and the sweep only ever use that.

- :class:`LocalExecutor` (default): a pool of worker processes on this machine, forked from a
  server that imported papermill, nbconvert and MLflow once, and kept warm for the next run in
  the same process (tests, the JupyterLab server), so a step pays only for its kernel.
- :class:`DaskExecutor`: a ``distributed.Client``; a ``LocalCluster`` when no scheduler address is
  given, else ``--scheduler tcp://host:8786`` or ``DASK_SCHEDULER_ADDRESS``. Workers need the same
  environment (mlops-nb and the notebooks' libraries) and the notebooks and data at the same paths
  (a shared filesystem). The runs are opened and closed by the submitting process
  (:func:`~.notebook_run.open_run` / :func:`~.notebook_run.close_run`), so a worker only executes;
  it needs a tracking URI it can reach only for the notebooks' own ``%%track`` cells: with
  workers on other machines use a tracking *server* (``MLFLOW_TRACKING_URI=http://...``), not a
  sqlite file. Start workers with ``dask worker ADDRESS --preload mlops_nb.pipeline._preload`` so
  they import papermill as they start rather than in the first task (the LocalCluster does this).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
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


PRELOAD = "mlops_nb.pipeline._preload"
PRELOAD_LOCAL = "mlops_nb.pipeline._preload_local"


_POOLS: dict[int, cf.ProcessPoolExecutor] = {}
_ENV_PREFIXES = ("MLOPS_NB_", "MLFLOW_")


def _shared_pool(jobs: int, *, fresh: bool = False) -> cf.ProcessPoolExecutor:
    """One warm pool per size and process, reused by every pipeline and sweep it runs.

    Workers fork from a ``forkserver`` that imported papermill, nbconvert and MLflow once
    (:mod:`._preload_local`), so a new worker costs milliseconds and a step pays only for its
    kernel. No worker outlives this process, even killed (:mod:`.watchdog`).
    """
    pool = _POOLS.get(jobs)
    if pool is None or fresh:
        import atexit
        import multiprocessing

        from mlops_nb.pipeline.watchdog import watch_runner

        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload([PRELOAD_LOCAL])
        pool = cf.ProcessPoolExecutor(
            max_workers=jobs, mp_context=ctx, initializer=watch_runner, initargs=(os.getpid(),)
        )
        if not _POOLS:
            atexit.register(_close_pools)
        _POOLS[jobs] = pool
    return pool


def _close_pools() -> None:
    for pool in _POOLS.values():
        pool.shutdown(wait=False, cancel_futures=True)
    _POOLS.clear()


def _environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k.startswith(_ENV_PREFIXES)}


def call_with_environment(
    env: dict[str, str], fn: Callable[..., T], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> T:
    """Run ``fn`` in a pooled worker with the caller's mlops-nb/MLflow environment (a warm
    worker outlives the environment it was started in)."""
    for key in [k for k in os.environ if k.startswith(_ENV_PREFIXES)]:
        if key not in env:
            del os.environ[key]
    os.environ.update(env)
    from mlops_nb import config

    config._overrides.clear()
    return fn(*args, **kwargs)


class LocalExecutor:
    """Worker processes on this machine (a shared, warm pool; see :func:`_shared_pool`)."""

    name = "local"

    def __init__(self, jobs: int | None = None) -> None:
        self._jobs = max(1, jobs or os.cpu_count() or 1)

    @property
    def slots(self) -> int:
        return self._jobs

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        from concurrent.futures.process import BrokenProcessPool

        env = _environment()
        try:
            pool = _shared_pool(self._jobs)
            return pool.submit(call_with_environment, env, fn, args, kwargs)
        except (BrokenProcessPool, RuntimeError):  # a worker died earlier: start a new pool
            pool = _shared_pool(self._jobs, fresh=True)
            return pool.submit(call_with_environment, env, fn, args, kwargs)

    def warm(self) -> None:
        """Start the workers in the background (overlaps with creating the pipeline's run)."""
        import concurrent.futures.process  # noqa: F401 - imported here, not concurrently
        import multiprocessing  # noqa: F401
        import threading

        def start() -> None:
            with contextlib.suppress(Exception):
                _shared_pool(self._jobs).submit(int).result()

        threading.Thread(target=start, name="mlops-nb-pool-warmup", daemon=True).start()

    def close(self) -> None:
        """Nothing to release: the pool stays warm for the next run in this process."""


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
                self.client = Client(address)  # timeout: distributed.comm.timeouts.connect
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
                preload=[PRELOAD],  # workers import papermill as they start (not MLflow)
            )
            self.client = Client(self._cluster)
        self._jobs = jobs
        # Dask's own concurrent.futures view of the client: standard futures, no conversion
        self._executor = self.client.get_executor(pure=False)
        threads = sum(self.client.nthreads().values()) or 1
        self._slots = min(threads, jobs) if jobs else threads

    @property
    def slots(self) -> int:
        return self._slots

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> cf.Future[T]:
        future: cf.Future[T] = self._executor.submit(fn, *args, **kwargs)
        return future

    def close(self) -> None:
        self.client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(
    kind: str = "local", *, scheduler: str | None = None, jobs: int | None = None
) -> Executor:
    """The executor named ``kind`` (``local`` or ``dask``)."""
    check_executor(kind, scheduler=scheduler, jobs=jobs)
    if kind == "local":
        return LocalExecutor(jobs)
    return DaskExecutor(scheduler, jobs)


def check_executor(kind: str, *, scheduler: str | None = None, jobs: int | None = None) -> None:
    """Raise what :func:`make_executor` would for bad arguments, without starting anything."""
    if jobs is not None and jobs < 1:
        raise ConfigError(f"-j/--jobs must be at least 1 (got {jobs})")
    if kind not in EXECUTORS:
        raise ConfigError(f"unknown executor {kind!r}; choose one of: {', '.join(EXECUTORS)}")
    if kind == "local" and scheduler:
        raise ConfigError("--scheduler needs --executor dask")
    if kind == "dask":
        require("distributed", "dask", "--executor dask")
