"""Tracking under faults, end to end with real components: a kernel running 100 tracked cells
while a real ``mlflow server`` is killed and restarted twice, the delivery worker is SIGKILLed,
a queued record is truncated and the kernel is killed; three processes creating one brand-new
sqlite store at once; an outbox on a full tmpfs and on a read-only folder.

What a user checks: every run that can be delivered is in MLflow exactly once, no cell failed,
and no command printed a traceback."""

from __future__ import annotations

import collections
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from support import KernelSession, MlflowServer, all_runs, free_port, require

pytestmark = pytest.mark.integration


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mlops_nb.cli", *args],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )


def no_traceback(*texts: str) -> None:
    for text in texts:
        assert "Traceback" not in text, text


def counted_runs(uri: str) -> collections.Counter[str]:
    from mlflow.tracking import MlflowClient

    return collections.Counter(r.info.run_name for r in all_runs(MlflowClient(uri)))


def kill_server(server: Any) -> None:
    """SIGKILL, not a graceful stop: requests in flight are cut."""
    assert server.proc is not None
    os.killpg(server.proc.pid, signal.SIGKILL)
    server.proc.wait(timeout=30)
    server.proc = None


class Background:
    """``server.start()`` in a thread: the server boots while the kernel works."""

    def __init__(self, server: MlflowServer) -> None:
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._start, args=(server,), daemon=True)
        self.thread.start()

    def _start(self, server: MlflowServer) -> None:
        try:
            server.start()
        except BaseException as exc:  # re-raised by wait()
            self.error = exc

    def wait(self) -> None:
        self.thread.join(timeout=300)
        assert not self.thread.is_alive(), "the mlflow server did not start"
        if self.error is not None:
            raise self.error


def test_hundred_cells_through_outages_and_kills(isolated: Path) -> None:
    server = MlflowServer(port=free_port(), root=isolated / "mlflow-server")
    server.root.mkdir()
    booting = Background(server)  # while the kernel starts
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": server.uri,
        "MLOPS_NB_EXPERIMENT": "faults",
        "MLOPS_NB_EXIT_FLUSH_TIMEOUT": "5",
    }
    spool = isolated / "home" / "outbox"
    printed: list[str] = []
    truncated: str | None = None
    try:
        kernel = KernelSession(isolated, env)
        try:
            printed.append(kernel.run("%load_ext mlops_nb")[0])
            booting.wait()
            for i in range(100):
                if i in (20, 60):  # killed; a new server boots while the next cells run
                    kill_server(server)
                    booting = Background(server)
                if i in (35, 75):  # the worker delivers the backlog by itself once it is back
                    booting.wait()
                    flushed, _ = kernel.run("%mlops flush 240", timeout=300)
                    printed.append(flushed)
                    assert "all runs delivered" in flushed or i == 75, flushed
                if i == 45:  # the worker dies mid-stream; the next cell starts another
                    out, _ = kernel.run(
                        "from mlops_nb.tracking.session import get_session\n"
                        "print('PID', get_session().client.pid)"
                    )
                    os.kill(int(out.split()[-1]), signal.SIGKILL)
                if i == 70:  # a queued record is cut in half (a crash while copying it, say)
                    folder = sorted(p for p in spool.iterdir() if p.name[:1].isdigit())[-1]
                    text = (folder / "record.json").read_text()
                    truncated = next(
                        f"cell-{n}" for n in range(100) if f'"run_name": "cell-{n}"' in text
                    )
                    (folder / "record.json").write_text(text[: len(text) // 2])
                out, _ = kernel.run(f"%%track --name cell-{i}\nstep = {i}\nscore = {i} / 100")
                printed.append(out)
            kernel.kill()  # whatever is still queued is left to the worker and to sync
        finally:
            kernel.shutdown()

        joined = "".join(printed)
        no_traceback(joined)
        assert "unreachable" in joined and "available again" in joined, joined
        assert truncated is not None
        deadline = time.monotonic() + 60  # the orphaned worker finishes within its grace period
        while any(p.name[:1].isdigit() for p in spool.iterdir()) and time.monotonic() < deadline:
            time.sleep(0.2)
        synced = cli("sync", env=env)
        listed = cli("outbox", env=env)
        no_traceback(synced.stdout, synced.stderr, listed.stdout, listed.stderr)
        assert "0 queued, 1 failed" in synced.stdout, synced.stdout + synced.stderr
        assert "0 queued, 1 failed" in listed.stdout and "truncated" in listed.stdout, listed.stdout

        runs = counted_runs(server.uri)
        expected = {f"cell-{i}" for i in range(100)} - {truncated}
        assert set(runs) == expected
        assert max(runs.values()) == 1, [name for name, n in runs.items() if n > 1]
    finally:
        booting.thread.join(timeout=300)
        if server.proc is not None:  # SIGKILL: a graceful stop takes seconds and proves nothing
            kill_server(server)


def test_three_processes_create_one_new_sqlite_store(isolated: Path) -> None:
    """A kernel's worker, ``mlops-nb sync`` and a plain MLflow client (what the MLflow UI or a
    script does) open the same brand-new sqlite file at the same moment."""
    from mlops_nb.tracking.outbox import Outbox
    from mlops_nb.tracking.recorder import plain_record

    (isolated / "store").mkdir()
    uri = f"sqlite:///{isolated / 'store' / 'mlflow.db'}"
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri}
    box = Outbox(isolated / "home" / "outbox")
    for i in range(6):
        box.put(
            plain_record(
                tracking_uri=uri, experiment="race", run_name=f"r{i}", start_time=1, end_time=2
            ),
            {},
        )
    # a barrier: each process imports what it needs, says so, then waits for the same "go"
    go = isolated / "go"

    def at_the_barrier(index: int, imports: str) -> str:
        return (
            f"{imports}\nimport pathlib, time\n"
            f"pathlib.Path({str(isolated / f'ready-{index}')!r}).touch()\n"
            f"while not pathlib.Path({str(go)!r}).exists(): time.sleep(0.001)\n"
        )

    store_imports = "import mlflow.tracking, mlflow.store.tracking.sqlalchemy_store"
    worker = (
        at_the_barrier(0, f"from mlops_nb.tracking.worker import main\n{store_imports}")
        + f"raise SystemExit(main(['--spool', {str(box.root)!r}, '--home', 'h', '--once']))"
    )
    syncer = (
        at_the_barrier(1, f"from mlops_nb.cli import main\n{store_imports}")
        + "raise SystemExit(main(['sync']))"
    )
    plain = at_the_barrier(2, "from mlflow.tracking import MlflowClient") + (
        f"try:\n    MlflowClient({uri!r}).search_experiments()\n"
        "except Exception as exc:\n    print('plain client failed (not ours):', type(exc))"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            env=env,
            cwd=isolated,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for code in (worker, syncer, plain)
    ]
    deadline = time.monotonic() + 240
    try:
        while not all((isolated / f"ready-{i}").exists() for i in range(3)):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs), [
                p.poll() for p in procs
            ]
            time.sleep(0.01)
    finally:
        go.touch()  # (on a failure too: no process is left waiting)
    outputs = [p.communicate(timeout=300) for p in procs]
    for out, err in outputs[:2]:
        assert "Traceback" not in out + err, out + err
    assert box.counts().queued == 0 and box.counts().failed == 0, outputs
    runs = counted_runs(uri)
    assert set(runs) == {f"r{i}" for i in range(6)} and max(runs.values()) == 1


@contextlib.contextmanager
def mounted(path: Path, options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def can_mount() -> bool:
    return os.geteuid() == 0 and shutil.which("mount") is not None


def test_full_and_read_only_outbox_never_fail_a_cell(isolated: Path) -> None:
    require(can_mount(), "root (to mount a small tmpfs)")
    uri = f"sqlite:///{isolated / 'mlflow.db'}"
    with (
        mounted(isolated / "ro-home", "size=4m,ro") as ro_home,
        mounted(isolated / "full", "size=1m") as full,
    ):
        # 1. MLOPS_NB_HOME (and so the outbox) on a read-only file system
        env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLOPS_NB_HOME": str(ro_home)}
        env["MLOPS_NB_EXPERIMENT"] = "disk"
        kernel = KernelSession(isolated, env)
        try:
            loaded, _ = kernel.run("%load_ext mlops_nb")
            out, _ = kernel.run("%%track --name ro-1\nloss = 0.5\nprint('result', loss * 2)")
            assert "result 1.0" in out and "read-only" in out, out
            assert out.count("mlops-nb:") == 1, out  # one clear line
            subprocess.run(["mount", "-o", "remount,rw", str(ro_home)], check=True)
            out2, _ = kernel.run("%%track --name ro-2\nloss = 0.25")
            flushed, _ = kernel.run("%mlops flush 120")
            no_traceback(loaded, out, out2, flushed)
            assert "written again" in out2 and "all runs delivered" in flushed, out2 + flushed

            # 2. the outbox on a tiny file system that is full
            filler = full / "filler"
            subprocess.run(
                ["dd", "if=/dev/zero", f"of={filler}", "bs=64k"], capture_output=True, check=False
            )
            kernel.run(f"%mlops config --spool-dir {full / 'outbox'}")
            outs = [
                kernel.run(f"%%track --name full-{i}\nscore = {i} / 10\nscore * 10")[0]
                for i in range(3)
            ]
            assert "the disk is full" in "".join(outs), outs
            synced = cli("sync", env={**env, "MLOPS_NB_SPOOL_DIR": str(full / "outbox")})
            no_traceback(*outs, synced.stdout, synced.stderr)
            filler.unlink()
            deadline = time.monotonic() + 60
            while True:  # held runs are written again after a cell, at most every 2 s
                status, _ = kernel.run("%mlops status")
                if "memory:" not in status:
                    break
                assert time.monotonic() < deadline, status
                time.sleep(0.1)
            out3, _ = kernel.run("%%track --name full-3\nscore = 0.3")
            flushed, _ = kernel.run("%mlops flush 120")
            no_traceback(out3, flushed)
            assert "all runs delivered" in flushed, flushed
        finally:
            kernel.shutdown()
    runs = counted_runs(uri)
    assert set(runs) == {"ro-1", "ro-2", "full-0", "full-1", "full-2", "full-3"}
    assert max(runs.values()) == 1
