"""The outbox: records appear atomically, are delivered once, and bad ones are set aside."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import pytest

from mlops_nb.tracking import delivery, worker
from mlops_nb.tracking.outbox import Counts, DeliveryState, Outbox, new_record_id


def record(uri: str, **extra: Any) -> dict[str, Any]:
    return {
        "record_id": new_record_id(),
        "tracking_uri": uri,
        "experiment": "outbox-test",
        "run_name": "r",
        "start_time": 1,
        "end_time": 2,
        "status": "FINISHED",
        "params": {"a": "1"},
        "metrics": {"loss": 0.5},
        "tags": {"mlops_nb.cell_key": "k"},
        "models": [],
        "datasets": [],
        "plotly": [],
        "context": {"cell_source": "a = 1", "env": False},
        **extra,
    }


def test_put_is_atomic_and_ordered(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "spool")
    first = box.put(record("sqlite:///x.db"), {"artifacts/a.txt": b"A"})
    second = box.put(record("sqlite:///x.db"), {"models/m.pkl": lambda p: p.write_bytes(b"M")})
    assert box.pending() == [first, second]
    assert (first / "artifacts" / "a.txt").read_bytes() == b"A"
    assert (second / "models" / "m.pkl").read_bytes() == b"M"
    assert not list((tmp_path / "spool").glob(".tmp-*"))


def test_a_failing_file_writer_leaves_nothing_behind(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "spool")

    def broken(path: Path) -> None:
        raise RuntimeError("cannot pickle")

    with pytest.raises(RuntimeError):
        box.put(record("sqlite:///x.db"), {"models/m.pkl": broken})
    assert box.pending() == [] and not any((tmp_path / "spool").iterdir())


def test_lock_is_exclusive(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "spool")
    folder = box.put(record("sqlite:///x.db"), {})
    with Outbox.lock(folder) as held:
        assert held
        seen: list[bool] = []
        t = threading.Thread(target=lambda: seen.append(Outbox.lock(folder).__enter__()))
        t.start()
        t.join()
        assert seen == [False]


def test_sync_delivers_once_then_nothing(isolated: Path) -> None:
    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    box.put(record(uri), {})
    box.put(record(uri, run_name="second"), {})
    first = delivery.sync(box)
    assert len(first.delivered) == 2 and first.ok
    assert delivery.sync(box).delivered == []
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("outbox-test")
    runs = client.search_runs([exp.experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["r", "second"]
    assert all(r.data.metrics == {"loss": 0.5} for r in runs)


def test_resume_does_not_duplicate_a_created_run(
    isolated: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The store created the run but its answer never arrived (a dropped connection, a killed
    worker): the next attempt finds the run by record id instead of creating a second one."""
    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    folder = box.put(record(uri), {})
    from mlflow.tracking import MlflowClient

    created: list[str] = []
    original = MlflowClient.create_run

    def create_then_lose_the_answer(self: Any, *args: Any, **kwargs: Any) -> Any:
        created.append(original(self, *args, **kwargs).info.run_id)
        raise ConnectionError("connection reset after the run was created")

    monkeypatch.setattr(MlflowClient, "create_run", create_then_lose_the_answer)
    first = delivery.process(box, folder)
    assert first.status is delivery.Status.QUEUED and len(created) == 1
    monkeypatch.setattr(MlflowClient, "create_run", original)
    report = delivery.sync(box)
    assert len(report.delivered) == 1 and report.delivered[0].run_id == created[0]
    client = MlflowClient(uri)
    runs = client.search_runs([client.get_experiment_by_name("outbox-test").experiment_id])
    assert [r.info.run_id for r in runs] == created
    assert runs[0].data.metrics == {"loss": 0.5} and runs[0].info.status == "FINISHED"


def test_an_experiment_deleted_between_two_deliveries_is_restored(isolated: Path) -> None:
    """The delivering process remembers experiment ids; one deleted meanwhile is looked up again
    (and restored), so the next run still arrives, in it."""
    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    box.put(record(uri, run_name="first"), {})
    assert len(delivery.sync(box).delivered) == 1
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name("outbox-test").experiment_id
    client.delete_experiment(experiment_id)
    box.put(record(uri, run_name="second"), {})
    report = delivery.sync(box)
    assert [o.record["run_name"] for o in report.delivered] == ["second"] and report.ok
    assert client.get_experiment(experiment_id).lifecycle_stage == "active"
    runs = client.search_runs([experiment_id])
    assert sorted(r.info.run_name for r in runs) == ["first", "second"]


def test_unreachable_server_keeps_records_queued(tmp_path: Path) -> None:
    from support import free_port

    box = Outbox(tmp_path / "spool")
    box.put(record(f"http://127.0.0.1:{free_port()}"), {})
    report = delivery.sync(box)
    assert len(report.queued) == 1 and not report.ok
    assert len(box.pending()) == 1


def test_an_invalid_record_is_set_aside_at_once_with_its_reason(isolated: Path) -> None:
    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    box.put(record(uri, metrics={"loss": "not-a-number"}), {})
    box.put(record(uri, run_name="next"), {})
    report = delivery.sync(box, attempts=1)
    assert [o.record["run_name"] for o in report.delivered] == ["next"]
    assert box.pending() == [] and report.counts == Counts(queued=0, failed=1)
    [failed] = box.failed()
    state = DeliveryState.load(failed)
    assert "metric 'loss' is 'not-a-number', not a number" in (state.quarantined or "")
    # sync --retry-failed puts it back; still invalid, so it is set aside again, counted once
    again = delivery.sync(box, retry_failed=True)
    assert again.requeued == 1 and again.counts == Counts(queued=0, failed=1)


def test_a_truncated_record_does_not_block_the_ones_after_it(isolated: Path) -> None:
    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    broken = box.put(record(uri, run_name="broken"), {})
    box.put(record(uri, run_name="after"), {})
    text = (broken / "record.json").read_text()
    (broken / "record.json").write_text(text[: len(text) // 2])
    report = delivery.sync(box)
    assert [o.record["run_name"] for o in report.delivered] == ["after"]
    assert report.counts == Counts(queued=0, failed=1)
    reason = DeliveryState.load(box.failed()[0]).quarantined or ""
    assert "truncated or not JSON" in reason


def test_worker_events_reach_the_card(isolated: Path) -> None:
    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    box.put(record(uri), {})
    events: list[Any] = []
    drainer = worker.Drainer(box, events.append, isolated / "home")
    drainer.drain()
    assert [e.kind for e in events] == ["delivered"]
    remembered = json.loads((isolated / "home" / "last_metrics.json").read_text())
    assert remembered == {"None::k": {"loss": 0.5}}


def test_plain_records_link_to_their_parent_record(isolated: Path) -> None:
    from mlflow.tracking import MlflowClient

    from mlops_nb.tracking.recorder import plain_record

    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    parent = plain_record(
        tracking_uri=uri,
        experiment="pipe",
        run_name="pipeline",
        start_time=1.0,
        end_time=2.0,
        tags={"mlops_nb.kind": "pipeline"},
    )
    child = plain_record(
        tracking_uri=uri,
        experiment="pipe",
        run_name="train",
        start_time=1.0,
        end_time=1.5,
        params={"depth": 3},
        tags={"mlops_nb.cached": "true"},
        parent_record_id=parent["record_id"],
    )
    box.put(parent, {})
    box.put(child, {})
    assert delivery.sync(box).ok
    client = MlflowClient(uri)
    runs = {
        r.info.run_name: r
        for r in client.search_runs([client.get_experiment_by_name("pipe").experiment_id])
    }
    assert runs["train"].data.tags["mlflow.parentRunId"] == runs["pipeline"].info.run_id
    assert runs["train"].data.params == {"depth": "3"}
    assert not [a for a in client.list_artifacts(runs["train"].info.run_id)]


def test_a_record_waits_for_a_parent_run_created_later(isolated: Path) -> None:
    """A sweep's first trials start before their runs exist: their tracked cells name the run by
    a record id, wait (never quarantined, however many attempts), then nest under it."""
    from mlflow.tracking import MlflowClient

    from mlops_nb.tracking.recorder import plain_record

    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    trial_record = new_record_id()
    box.put(
        plain_record(
            tracking_uri=uri,
            experiment="sweep",
            run_name="tracked cell",
            start_time=1.0,
            end_time=2.0,
            parent_record_id=trial_record,
        ),
        {},
    )
    for _ in range(delivery.MAX_ATTEMPTS + 2):
        report = delivery.sync(box, attempts=1)
        assert [o.status for o in report.left] == [delivery.Status.WAITING]
        assert "not delivered yet" in (report.left[0].error or "")
    assert len(box.pending()) == 1 and box.failed() == []

    client = MlflowClient(uri)
    experiment_id = client.get_experiment_by_name("sweep").experiment_id
    trial = client.create_run(experiment_id, tags={"mlops_nb.record_id": trial_record})
    assert delivery.sync(box).ok
    (cell,) = [r for r in client.search_runs([experiment_id]) if r.info.run_name == "tracked cell"]
    assert cell.data.tags["mlflow.parentRunId"] == trial.info.run_id


def test_detached_worker_delivers_and_exits(isolated: Path) -> None:
    import time

    from mlops_nb.tracking.recorder import plain_record

    uri = f"sqlite:///{isolated / 'store.db'}"
    box = Outbox(isolated / "spool")
    box.put(
        plain_record(tracking_uri=uri, experiment="d", run_name="x", start_time=1, end_time=2),
        {},
    )
    worker.deliver_detached(box, isolated / "home")
    deadline = time.monotonic() + 120
    while box.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert box.pending() == []
