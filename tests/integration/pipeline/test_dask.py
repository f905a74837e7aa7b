"""Sweeps and pipelines on Dask: a LocalCluster, and separately started scheduler/workers."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from integration.pipeline.helpers import children, executions, runs
from mlflow.tracking import MlflowClient
from support import free_port

from mlops_nb.cli import main
from mlops_nb.config import get_settings
from mlops_nb.pipeline.api import sweep
from mlops_nb.pipeline.executors import DaskExecutor

pytestmark = [pytest.mark.integration, pytest.mark.dask]

GRID = {"x": [1, 2], "y": [3, 4]}


def _check_sweep(experiment: str, sweep_run_id: str) -> None:
    trials = children(experiment, sweep_run_id)
    assert len(trials) == 4
    assert {r.data.tags["mlops_nb.kind"] for r in trials.values()} == {"sweep-trial"}
    assert {r.info.status for r in trials.values()} == {"FINISHED"}
    best = [r for r in trials.values() if r.data.tags.get("mlops_nb.best") == "true"]
    assert [(r.data.params["x"], r.data.params["y"]) for r in best] == [("2", "3")]
    assert best[0].data.metrics["accuracy"] == 1.0
    # each trial's %%track cell is a child run of the trial
    for trial in trials.values():
        tracked = children(experiment, trial.info.run_id)
        assert len(tracked) == 1
        assert "accuracy" in next(iter(tracked.values())).data.metrics


def test_sweep_and_pipeline_on_a_local_cluster(notebook: Callable[..., Path], chain: Path) -> None:
    source = notebook("sweep_score.ipynb")
    executor = DaskExecutor(jobs=2)
    try:
        assert len(executor.client.scheduler_info()["workers"]) == 2
        piped = run_pipeline_on(chain, executor)
        assert piped.ok, [s.message for s in piped.failed_steps]
        assert sorted(executions(chain.parent)) == ["a", "b", "c", "side"]
        steps = children("chain", piped.run_id)
        assert sorted(steps) == ["a", "b", "c", "side"]
        assert {r.info.status for r in steps.values()} == {"FINISHED"}
        client = MlflowClient(get_settings().tracking_uri)
        for name, step in steps.items():  # logged by this process from the executed notebook
            logged = [a.path for a in client.list_artifacts(step.info.run_id, "notebook")]
            assert logged == [f"notebook/{name}.ipynb"]
        # the runs were opened and closed here: workers running notebooks without %%track cells
        # never import MLflow (what makes a LocalCluster start in about a second)
        loaded = executor.client.run(lambda: "mlflow" in sys.modules)
        assert list(loaded.values()) == [False, False]

        result = sweep(source, GRID, metric="accuracy", maximize=True, executor=executor)
        accuracies = [t.metrics["accuracy"] for t in result.trials]
        assert accuracies == sorted(accuracies, reverse=True)
        assert result.best is not None and result.best.parameters == {"x": 2, "y": 3}
        _check_sweep("sweep_score", result.run_id)
    finally:
        executor.close()


def run_pipeline_on(path: Path, executor: DaskExecutor):  # type: ignore[no-untyped-def]
    from mlops_nb.pipeline import runner, spec

    return runner.run(spec.load(path), executor=executor)


@contextlib.contextmanager
def _dask_processes(tmp: Path) -> Iterator[str]:
    dask = str(Path(sys.executable).parent / "dask")
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = open(tmp / "dask.log", "ab")  # noqa: SIM115 - closed below
    procs = [
        subprocess.Popen(
            [
                dask,
                "scheduler",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--dashboard-address",
                ":0",
                "--no-show",
            ],
            stdout=logs,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    ]
    try:
        for _ in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nthreads",
                        "1",
                        "--nworkers",
                        "1",
                        "--host",
                        "127.0.0.1",
                        "--no-dashboard",
                    ],
                    stdout=logs,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        from distributed import Client

        deadline = time.monotonic() + 90
        while True:
            try:
                with Client(address, timeout="5s") as client:
                    client.wait_for_workers(2, timeout=60)
                break
            except (OSError, TimeoutError):
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        yield address
    finally:
        for proc in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        logs.close()


def test_sweep_on_a_separately_started_scheduler_and_workers(
    notebook: Callable[..., Path], isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = notebook("sweep_score.ipynb")
    with _dask_processes(isolated) as address:
        code = main(
            [
                "sweep",
                str(source),
                "-p",
                "x",
                "1,2",
                "-p",
                "y",
                "3,4",
                "--executor",
                "dask",
                "--scheduler",
                address,
                "--metric",
                "accuracy",
                "--maximize",
            ]
        )
    assert code == 0
    out = capsys.readouterr().out
    assert "sweep of 4 runs" in out and "sorted by accuracy (descending)" in out
    [sweep_run] = [r for r in runs("sweep_score") if r.data.tags["mlops_nb.kind"] == "sweep"]
    assert sweep_run.info.status == "FINISHED"
    assert sweep_run.info.run_id in out
    _check_sweep("sweep_score", sweep_run.info.run_id)


def test_unreachable_scheduler_is_a_usage_error(
    notebook: Callable[..., Path], capsys: pytest.CaptureFixture[str]
) -> None:
    source = notebook("sweep_score.ipynb")
    import dask

    address = f"tcp://127.0.0.1:{free_port()}"
    with dask.config.set({"distributed.comm.timeouts.connect": "2s"}):
        code = main(
            ["sweep", str(source), "-p", "x", "1", "--executor", "dask", "--scheduler", address]
        )
    assert code == 2
    assert f"cannot reach the Dask scheduler at {address}" in capsys.readouterr().err
    assert runs("sweep_score") == []  # nothing recorded for a sweep that could not start
