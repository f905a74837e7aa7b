"""Concurrent promotions of one name are serialised (no lost alias update), on a sqlite store
(file lock) and on a real ``mlflow server`` (lease + check-and-retry); gates and cards work
against the server's proxied artifact store."""

from __future__ import annotations

import itertools
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from integration.registry.seed import TARGET, Seeded, seed
from support import MlflowServer

from mlops_nb.registry.api import client_for, promote
from mlops_nb.registry.query import card, history
from mlops_nb.registry.result import PromotionResult

pytestmark = pytest.mark.integration


def _promote_at_once(uri: str, run_ids: list[str]) -> list[PromotionResult]:
    """One promotion per run, all started together (threads: each its own lock holder, as
    separate processes would be; the lock is a file lock or a lease in the store)."""
    barrier = threading.Barrier(len(run_ids))

    def one(run_id: str) -> PromotionResult:
        barrier.wait()
        return promote(run_id, "race", require=["accuracy>=0.5"], tracking_uri=uri)

    with ThreadPoolExecutor(len(run_ids)) as pool:
        return list(pool.map(one, run_ids))


def _assert_serialised(run_ids: list[str]) -> None:
    client = client_for()
    moves = history(client, "race")
    assert len(moves) == len(run_ids)
    # each move started from the version the previous one left: no update was lost
    assert moves[0].from_version is None
    for before, after in itertools.pairwise(moves):
        assert after.from_version == before.to_version
    assert (
        str(client.get_model_version_by_alias("race", "champion").version) == moves[-1].to_version
    )
    assert sorted(m.to_version for m in moves) == [str(i + 1) for i in range(len(run_ids))]


def test_concurrent_promotions_on_sqlite(registry: Seeded) -> None:
    runs = [registry.runs[k] for k in ("good", "weak", "with_eval")]
    results = _promote_at_once(registry.uri, runs)
    assert all(r.moved for r in results)
    _assert_serialised(runs)


def test_promotion_on_a_real_mlflow_server(
    isolated: Path, mlflow_server: MlflowServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    (isolated / "data").mkdir()
    seeded = seed(isolated / "data", mlflow_server.uri, odd_runs=False)
    runs = [seeded.runs[k] for k in ("good", "weak")]
    results = _promote_at_once(mlflow_server.uri, runs)
    assert all(r.moved for r in results)
    _assert_serialised(runs)
    assert "mlops_nb.promotion_lease" not in client_for().get_registered_model("race").tags

    # gates against the server's registry and proxied artifacts: the weak model regresses
    # against the good one, whichever of the racing runs holds the alias now
    client = client_for()
    good = promote(
        seeded.runs["good"], "race", no_regression=True, eval_data=seeded.eval_csv, target=TARGET
    )
    assert good.moved and good.gates[0].status.value == "passed"
    refused = promote(
        seeded.runs["weak"], "race", no_regression=True, eval_data=seeded.eval_csv, target=TARGET
    )
    assert not refused.moved and "REGRESSION" in refused.gates[0].summary
    assert refused.gates[0].threshold == pytest.approx(good.gates[0].value)
    assert str(client.get_model_version_by_alias("race", "champion").version) == good.version
    found = card(client, "race@champion")
    assert found.version == good.version
    assert "Held-out evaluation (scored by mlops-nb)" in found.markdown

    # the console script on the server: refused, and it ends (MLflow's artifact download pool
    # stays alive, idle, in whichever process scored the models)
    cli = Path(sys.executable).parent / "mlops-nb"
    args = ["promote", seeded.runs["weak"], "--name", "race", "--no-regression"]
    args += ["--eval-data", str(seeded.eval_csv), "--target", TARGET]
    done = subprocess.run([str(cli), *args], capture_output=True, text=True, timeout=300)
    assert done.returncode == 1 and "REGRESSION" in done.stdout, done.stderr

    # a cold `mlops-nb promote` on a server: the worker imports MLflow and loads models:/ URIs
    # (the proxied artifacts are not files on this machine); the same score as in this process
    import pandas as pd

    from mlops_nb.registry.api import _model_source
    from mlops_nb.registry.gates.scorer import Worker, score_model

    model = _model_source(client, "race", good.version)
    assert model.local_dir is None
    data = pd.read_csv(seeded.eval_csv)
    worker = Worker(with_mlflow=True)
    there = worker.submit(
        score_model, model, data.drop(columns=[TARGET]), data[TARGET], "accuracy", mlflow_server.uri
    )
    worker.shutdown()
    assert there.result(timeout=180) == pytest.approx(good.gates[0].value)
