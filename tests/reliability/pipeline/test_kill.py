"""``kill -9`` of ``mlops-nb pipeline run`` mid-step: no process of it survives (pool workers,
forkserver, the step's kernel), and the next run closes the runs it left RUNNING as KILLED, then
resumes."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from support import TEST_NOTEBOOKS

pytestmark = pytest.mark.integration

PIPELINE = """
name: killme
steps:
  - name: first
    notebook: step.ipynb
    parameters: {step: first, output: first.txt}
    outputs: [first.txt]
  - name: hang
    notebook: hang.ipynb
    inputs: [first.txt]
    outputs: [hang.txt]
"""


def _children_of() -> dict[int, list[int]]:
    table: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                text = fh.read()
        except OSError:
            continue
        ppid = int(text[text.rindex(")") + 2 :].split()[1])
        table.setdefault(ppid, []).append(int(entry))
    return table


def _tree(pid: int) -> set[int]:
    table, found, todo = _children_of(), set(), [pid]
    while todo:
        for child in table.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return False
    return text[text.rindex(")") + 2] not in "ZX"


def _wait_for(predicate: object, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.skipif(not os.path.isdir("/proc"), reason="reads /proc")
def test_kill_9_leaves_no_process_and_the_next_run_marks_its_runs_killed(isolated: Path) -> None:
    root = isolated / "hang"
    root.mkdir()
    shutil.copy(TEST_NOTEBOOKS / "pipeline" / "step.ipynb", root / "step.ipynb")
    shutil.copy(TEST_NOTEBOOKS / "pipeline" / "hang.ipynb", root / "hang.ipynb")
    (root / "pipeline.yaml").write_text(PIPELINE)
    (root / "hang.flag").write_text("hang until this file is removed")
    cli = [sys.executable, "-m", "mlops_nb.cli", "pipeline", "run", str(root / "pipeline.yaml")]

    runner = subprocess.Popen(cli, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: (root / "started.flag").exists(), 120, "the hanging step to start")
        kernel = int((root / "started.flag").read_text())
        tree = _tree(runner.pid)
        assert kernel in tree  # the step's kernel is a descendant of the runner (via the pool)
        assert len(tree) >= 3  # forkserver, pool worker, kernel
        os.kill(runner.pid, signal.SIGKILL)
        runner.wait(timeout=30)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.wait()
    # no worker outlives its runner: the forkserver exits, each worker stops its kernel and exits
    _wait_for(lambda: not any(_running(p) for p in tree), 20, f"orphans {tree} to exit")

    from mlflow.tracking import MlflowClient

    from mlops_nb.config import get_settings

    client = MlflowClient(get_settings().tracking_uri)
    exp = client.get_experiment_by_name("killme")
    left = {r.info.run_name: r for r in client.search_runs([exp.experiment_id])}
    assert left["hang"].info.status == "RUNNING"  # what kill -9 leaves behind
    assert left["first"].info.status == "FINISHED"
    parent_id = left["hang"].data.tags["mlflow.parentRunId"]

    # the next run closes the dead runner's runs, then resumes from the step that did not finish
    (root / "hang.flag").unlink()
    (root / "started.flag").unlink()
    proc = subprocess.run(cli, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert (root / "hang.txt").read_text() == "done"
    for run_id in (parent_id, left["hang"].info.run_id):
        run = client.get_run(run_id)
        assert run.info.status == "KILLED"
        assert f"process {runner.pid}" in run.data.tags["mlops_nb.error"]
    runs = client.search_runs([exp.experiment_id], filter_string="attributes.status = 'FINISHED'")
    # the first run's step "first"; the rerun's pipeline run, its cached "first" and its "hang"
    assert sorted(r.info.run_name for r in runs) == ["first", "first", "hang", "killme"]
    assert not (root / ".mlops-nb" / "pipeline.lock").read_text().strip()  # nothing left open
