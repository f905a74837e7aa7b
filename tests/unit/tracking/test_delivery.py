"""Delivery policy against real stores: transient errors wait, artifacts sit next to the store,
the worker outlives the process that started it, and what an error means."""

from __future__ import annotations

import http.server
import os
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mlops_nb.tracking import delivery, store, worker
from mlops_nb.tracking.outbox import Counts, DeliveryState, Outbox
from mlops_nb.tracking.recorder import plain_record


def queue(box: Outbox, uri: str, name: str, **extra: Any) -> Path:
    record = plain_record(
        tracking_uri=uri, experiment="delivery", run_name=name, start_time=1, end_time=2, **extra
    )
    return box.put(record, {"artifacts/note.txt": name.encode()})


class Overloaded(http.server.BaseHTTPRequestHandler):
    """A tracking server that is up (``/health``) but answers every API call with 503: the one
    kind of outage a real ``mlflow server`` cannot be made to produce on demand."""

    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/health" else 503)
        self.end_headers()
        self.wfile.write(b"OK" if self.path == "/health" else b"overloaded")

    do_POST = do_GET

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def overloaded() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Overloaded)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()


def test_a_5xx_store_keeps_records_queued_however_many_attempts(
    tmp_path: Path, overloaded: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # MLflow's own retry loop: off
    box = Outbox(tmp_path / "spool")
    folder = queue(box, overloaded, "r")
    for _ in range(delivery.MAX_ATTEMPTS + 2):
        outcome = delivery.process(box, folder)
        assert outcome.status is delivery.Status.QUEUED, outcome.error
    assert box.counts() == Counts(queued=1, failed=0)
    assert DeliveryState.load(folder).attempts == 0


def test_error_meanings() -> None:
    import sqlalchemy.exc
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INVALID_PARAMETER_VALUE

    locked = sqlalchemy.exc.OperationalError("INSERT", {}, sqlite3.OperationalError("locked"))
    race = MlflowException("table _alembic_tmp_experiments already exists")
    online = RuntimeError("Online migration expected to match one row when updating 'a'; 0 found")
    invalid = MlflowException("bad", error_code=INVALID_PARAMETER_VALUE)
    assert store.classify(locked) is store.Verdict.TRANSIENT
    assert store.classify(race) is store.Verdict.TRANSIENT
    assert store.classify(online) is store.Verdict.TRANSIENT
    assert store.classify(ConnectionRefusedError()) is store.Verdict.TRANSIENT
    assert store.classify(invalid) is store.Verdict.REJECTED
    assert store.classify(KeyError("x")) is store.Verdict.UNKNOWN
    assert store.classify(MlflowException("cannot pickle")) is store.Verdict.UNKNOWN


def test_artifacts_go_next_to_the_sqlite_store(isolated: Path) -> None:
    from mlflow.tracking import MlflowClient

    (isolated / "elsewhere").mkdir()
    os.chdir(isolated / "elsewhere")  # a worker may start anywhere
    uri = f"sqlite:///{isolated / 'db' / 'mlflow.db'}"
    (isolated / "db").mkdir()
    box = Outbox(isolated / "spool")
    queue(box, uri, "located")
    report = delivery.sync(box)
    assert report.ok
    run = MlflowClient(uri).get_run(report.delivered[0].run_id or "")
    assert run.info.artifact_uri.startswith(str(isolated / "db" / "mlruns"))
    assert (Path(run.info.artifact_uri) / "note.txt").read_text() == "located"
    client = MlflowClient(uri)  # and MLflow finds them where it looks
    assert [a.path for a in client.list_artifacts(run.info.run_id)] == ["note.txt"]
    assert Path(client.download_artifacts(run.info.run_id, "note.txt")).read_text() == "located"
    assert (isolated / "db" / "mlflow.db.lock").exists()
    assert list((isolated / "elsewhere").iterdir()) == []


def test_records_sharing_a_run_are_delivered_to_one_run(isolated: Path) -> None:
    """Two tasks of one orchestrator run each queue the pipeline run under one shared record id
    (pipeline/records.py): both resolve to a single run; an unshared record is never searched."""
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{isolated / 'mlflow.db'}"
    box = Outbox(isolated / "spool")
    for task in ("prepare", "train"):
        record = plain_record(
            tracking_uri=uri, experiment="delivery", run_name="pipe", start_time=1, end_time=2
        )
        record.update(record_id="orch-shared", shared=True)
        record["tags"]["task"] = task
        box.put(record, {})
    report = delivery.sync(box)
    assert report.ok and len(report.delivered) == 2
    assert report.delivered[0].run_id == report.delivered[1].run_id
    runs = MlflowClient(uri).search_runs(
        [MlflowClient(uri).get_experiment_by_name("delivery").experiment_id]
    )
    assert len(runs) == 1


def test_worker_outlives_the_process_that_started_it(isolated: Path) -> None:
    """The kernel's end of the socket closes (the kernel exited): the worker delivers what is
    queued, logs to its own file, and exits."""
    uri = f"sqlite:///{isolated / 'mlflow.db'}"
    box = Outbox(isolated / "spool")
    for i in range(3):
        queue(box, uri, f"run-{i}")
    home = isolated / "home"
    ours, theirs = socket.socketpair()
    proc = worker.spawn(box, home, theirs)
    theirs.close()
    ours.close()  # the "kernel" is gone before the worker did anything
    assert proc.wait(timeout=240) == 0
    assert box.counts() == Counts(queued=0, failed=0)
    log = (home / "worker.log").read_text()
    assert "kernel gone" in log and "outbox empty" in log and "Traceback" not in log


def test_worker_yields_to_its_kernel_and_creates_no_store_while_warming_up(
    isolated: Path,
) -> None:
    """The worker is scheduled as a batch process (woken by a cell, it does not preempt the
    kernel) and, before any record, imports MLflow without creating the store it was told
    about."""
    db = isolated / "not-yet" / "mlflow.db"
    db.parent.mkdir()
    home = isolated / "home"
    ours, theirs = socket.socketpair()
    proc = worker.spawn(Outbox(isolated / "spool"), home, theirs, warm_uri=f"sqlite:///{db}")
    theirs.close()
    try:
        if hasattr(os, "SCHED_BATCH"):
            assert os.sched_getscheduler(proc.pid) == os.SCHED_BATCH
        else:
            assert os.getpriority(os.PRIO_PROCESS, proc.pid) > os.getpriority(os.PRIO_PROCESS, 0)
        deadline = time.monotonic() + 120
        while "ready" not in (home / "worker.log").read_text() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "ready: MLflow imported" in (home / "worker.log").read_text()
        assert list(db.parent.iterdir()) == []
    finally:
        ours.close()
    assert proc.wait(timeout=60) == 0


def test_worker_gives_up_after_its_grace_period(tmp_path: Path) -> None:
    from support import free_port

    box = Outbox(tmp_path / "spool")
    queue(box, f"http://127.0.0.1:{free_port()}", "stuck")
    env = {**os.environ, "MLOPS_NB_EXIT_FLUSH_TIMEOUT": "2"}
    started = time.monotonic()
    command = [sys.executable, "-m", "mlops_nb.tracking.worker", "--spool", str(box.root)]
    done = subprocess.run(
        [*command, "--home", str(tmp_path / "home"), "--once"],
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 1 and time.monotonic() - started < 60
    assert box.counts() == Counts(queued=1, failed=0)
    assert "grace period over" in done.stderr.decode()  # run by hand: it logs to stderr


def test_a_run_delivered_by_a_background_delivery_while_sync_waits_is_still_named(
    isolated: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A kernel's (or pipeline's) worker delivers a record while ``mlops-nb sync`` waits for its
    lock: sync counts it and names it, saying who delivered it."""
    from filelock import FileLock

    from mlops_nb.cli import main
    from mlops_nb.config import get_settings

    box = Outbox(get_settings().spool_dir)
    folder = queue(box, f"sqlite:///{isolated / 'mlflow.db'}", "delivered-meanwhile")
    held = FileLock(folder / ".lock")
    held.acquire()

    def deliver_then_release() -> None:
        time.sleep(0.5)
        box.complete(folder)  # what a worker does once MLflow has the run
        held.release()

    other = threading.Thread(target=deliver_then_release)
    other.start()
    try:
        assert main(["sync", "--wait", "20"]) == 0
    finally:
        other.join()
    out = capsys.readouterr().out
    assert "delivered 'delivered-meanwhile' (by a background delivery" in out, out
    assert "1 delivered, 0 queued, 0 failed" in out, out
