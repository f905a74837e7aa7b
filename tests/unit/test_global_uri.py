"""MLflow's process-wide tracking URI during a block: pointed at the store, then put back as it
was (a URI the user set, or none: an unset URI is neither pinned nor exported)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

mlflow = pytest.importorskip("mlflow")

from mlops_nb._global_uri import tracking_uri  # noqa: E402


@pytest.fixture(autouse=True)
def _unset(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    mlflow.set_tracking_uri(None)
    yield
    mlflow.set_tracking_uri(None)


def test_an_unset_uri_stays_unset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    default = mlflow.get_tracking_uri()
    store = f"sqlite:///{tmp_path / 'a.db'}"
    with tracking_uri(store):
        assert mlflow.get_tracking_uri() == store
    assert "MLFLOW_TRACKING_URI" not in os.environ  # not exported to child processes
    assert mlflow.get_tracking_uri() == default
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # the default still follows the working directory: not pinned
    assert "elsewhere" in mlflow.get_tracking_uri() and "elsewhere" not in default


def test_a_uri_the_user_set_comes_back_and_blocks_nest(tmp_path: Path) -> None:
    mine, other = f"sqlite:///{tmp_path / 'mine.db'}", f"sqlite:///{tmp_path / 'other.db'}"
    mlflow.set_tracking_uri(mine)
    with tracking_uri(other):
        with tracking_uri(other):  # re-entrant in one thread (a promotion logging a card)
            assert mlflow.get_tracking_uri() == other
        assert mlflow.get_tracking_uri() == other
    assert mlflow.get_tracking_uri() == mine and os.environ["MLFLOW_TRACKING_URI"] == mine


def test_one_block_at_a_time_across_threads(tmp_path: Path) -> None:
    first, second = f"sqlite:///{tmp_path / '1.db'}", f"sqlite:///{tmp_path / '2.db'}"
    inside, seen = threading.Event(), []

    def other_thread() -> None:
        inside.wait(10)
        with tracking_uri(second):
            seen.append(mlflow.get_tracking_uri())

    thread = threading.Thread(target=other_thread)
    thread.start()
    with tracking_uri(first):
        inside.set()
        thread.join(0.3)  # it waits for this block to end
        assert thread.is_alive() and mlflow.get_tracking_uri() == first
    thread.join(10)
    assert seen == [second] and "MLFLOW_TRACKING_URI" not in os.environ
