"""Drift on live traffic of a real service made by ``mlops_nb.productionize`` and run with
``mlops-nb serve`` (its own process, real HTTP on 127.0.0.1)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import nbformat
import numpy as np
import pytest
from drift_data import customers
from support import free_port

import mlops_nb
from mlops_nb.cli import main

pytestmark = pytest.mark.integration

TRAINING = """\
import numpy as np
import pandas as pd
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

rng = np.random.default_rng(1)
n = 2000
train = pd.DataFrame(
    {
        "age": rng.normal(40, 10, n),
        "income": rng.lognormal(10, 0.5, n),
        "score": rng.uniform(0, 1, n),
        "tenure": rng.gamma(2.0, 12.0, n),
        "plan": rng.choice(["basic", "plus", "pro"], n, p=[0.6, 0.3, 0.1]),
        "region": rng.choice(["north", "south", "east", "west"], n),
        "dependents": rng.integers(0, 6, n),  # an integer column with few values: categorical
    }
)
y = ((train.age > 45) & (train.income < 30000)).astype(int)
model = make_pipeline(
    make_column_transformer(
        (StandardScaler(), ["age", "income", "score", "tenure"]),
        (OneHotEncoder(handle_unknown="ignore"), ["plan", "region", "dependents"]),
    ),
    LogisticRegression(max_iter=500),
)
model.fit(train, y)
"""


@pytest.fixture(scope="module")
def live_service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    pytest.importorskip("sklearn")
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("generated")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(TRAINING)])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, root / "credit.ipynb")
    made = productionize(root / "credit.ipynb", out=root / "service")
    assert (made.service_dir / "model" / "reference.csv").is_file()

    port = free_port()
    log = open(root / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb.cli", "serve", str(made.service_dir), "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                    break
            assert proc.poll() is None, (root / "serve.log").read_text()
            assert time.monotonic() < deadline, "the service did not become ready"
            time.sleep(0.3)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
        log.close()


def _send(url: str, frame) -> None:
    frame = frame.assign(dependents=np.random.default_rng(len(frame)).integers(0, 6, len(frame)))
    with httpx.Client(base_url=url, timeout=30) as client:
        for start in range(0, len(frame), 200):
            rows = frame.iloc[start : start + 200].to_dict("records")
            client.post("/predict", json=rows).raise_for_status()


def test_widget_flips_on_the_generated_service(live_service: str, capsys) -> None:
    from mlops_nb.monitoring.errors import DriftServiceError

    with pytest.raises(DriftServiceError, match="only 0 input rows recorded"):
        mlops_nb.drift(service=live_service)  # no traffic yet: the service says so (409)
    assert main(["drift", "--service", live_service]) == 2

    _send(live_service, customers(800, seed=5))
    calm = mlops_nb.drift(service=live_service)
    assert calm.dataset_drift is False and calm.drifted_columns == []
    assert calm.summary["reference_rows"] == 2000
    assert main(["drift", "--service", live_service, "--fail-on-drift"]) == 0

    _send(live_service, customers(8000, seed=6, shift=("age", "income", "plan", "region")))
    shifted = mlops_nb.drift(service=live_service)

    assert shifted.dataset_drift is True
    assert set(shifted.drifted_columns) == {"age", "income", "plan", "region"}
    widget = shifted.widget()
    assert widget.summary["columns"]["age"]["stattest"] == "wasserstein"
    assert {"age", "income", "plan", "region"} <= set(widget.distributions)
    assert main(["drift", "--service", live_service, "--fail-on-drift"]) == 1
    assert "dataset: DRIFT" in capsys.readouterr().out


def test_service_verdict_matches_the_local_check_on_the_same_rows(live_service: str) -> None:
    """The service's numpy/scipy mirror and mlops-nb's agree on the same reference and inputs."""
    from mlops_nb.monitoring.service import ServiceClient

    _send(live_service, customers(500, seed=7, shift=("score",)))
    client = ServiceClient(live_service)
    served = client.drift_summary()
    current, _ = client.sample(10_000)
    reference, _ = client.reference(10_000)
    assert len(current) == served["current_rows"] and len(reference) == served["reference_rows"]

    local = mlops_nb.drift(reference, current, sample=False).summary

    assert local["dataset_drift"] == served["dataset_drift"]
    kinds = {served["columns"]["dependents"]["type"], local["columns"]["dependents"]["type"]}
    assert kinds == {"cat"}  # an integer column with 6 values is categorical on both sides
    for name, col in served["columns"].items():
        assert local["columns"][name]["stattest"] == col["stattest"], name
        assert local["columns"][name]["score"] == pytest.approx(col["score"], rel=1e-9), name
        assert local["columns"][name]["drifted"] == col["drifted"], name
