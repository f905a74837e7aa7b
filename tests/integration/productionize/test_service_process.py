"""The generated service as a real uvicorn process (``mlops-nb serve``): every endpoint over real
HTTP, concurrent requests, and drift numbers that match Evidently's own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from support import free_port, wait_http

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def server(made: dict[str, Any]) -> Iterator[dict[str, Any]]:
    service = made["parameters"]["result"].service_dir
    port = free_port()
    env = {**os.environ, "MONITOR_MIN_ROWS": "10", "MAX_CONCURRENCY": "64"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb.cli", "serve", str(service), "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/readyz", timeout=60)
        with httpx.Client(base_url=url, timeout=30) as client:
            assert client.get("/readyz").status_code == 200
        example = json.loads((service / "model" / "input_example.json").read_text())
        yield {"url": url, "example": example, "service": service, "proc": proc}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def test_endpoints_over_http(server: dict[str, Any]) -> None:
    example = server["example"]
    with httpx.Client(base_url=server["url"], timeout=30) as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert (
            client.post("/predict", json=example["records"]).json()["predictions"]
            == example["predictions"]
        )
        one = client.post("/predict", json=example["records"][0]).json()
        assert one["predictions"] == example["predictions"][:1]
        split = {
            "columns": list(example["records"][0]),
            "data": [list(r.values()) for r in example["records"]],
        }
        assert (
            client.post("/invocations", json={"dataframe_split": split}).json()["predictions"]
            == example["predictions"]
        )
        bad = client.post("/predict", json={**example["records"][0], "region": 3})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == ["body", "region"]
        assert client.get("/metadata").json()["model_var"] == "pipe"
        assert "predictions_total{class=" in client.get("/metrics").text
        assert client.get("/docs").status_code == 200


def test_concurrent_requests_all_answer(server: dict[str, Any]) -> None:
    example = server["example"]

    def call(i: int) -> Any:
        with httpx.Client(base_url=server["url"], timeout=60) as client:
            records = example["records"][i % 5 :] or example["records"]
            return client.post("/predict", json=records).json()["predictions"], records

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(call, range(64)))
    by_record = {
        json.dumps(r, sort_keys=True): p
        for r, p in zip(example["records"], example["predictions"], strict=True)
    }
    for predictions, records in results:
        assert predictions == [by_record[json.dumps(r, sort_keys=True)] for r in records]


def test_drift_matches_evidently(server: dict[str, Any]) -> None:
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    with httpx.Client(base_url=server["url"], timeout=60) as client:
        reference = client.get("/monitoring/reference", params={"n": 10000}).json()["records"]
        current = [
            {**r, "alcohol": r["alcohol"] + 1.5, "region": "north"} for r in reference[:60]
        ] + reference[60:90]
        assert client.post("/predict", json=current).status_code == 200
        ours = client.get("/monitoring/drift", params={"n": len(current)}).json()
    ref, cur = pd.DataFrame(reference), pd.DataFrame(current)
    numeric = [c for c in ref.columns if c != "region"]
    definition = DataDefinition(numerical_columns=numeric, categorical_columns=["region"])
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    theirs: dict[str, float] = {}
    for metric in snapshot.dict()["metrics"]:
        name = metric.get("metric_name", "")
        if name.startswith("ValueDrift(column="):
            column = name[len("ValueDrift(column=") :].split(",")[0].rstrip(")")
            theirs[column] = float(metric["value"])
    assert set(theirs) == set(ours["columns"])
    for column, value in theirs.items():
        assert ours["columns"][column]["score"] == pytest.approx(value, rel=1e-6, abs=1e-9), column
    assert ours["columns"]["alcohol"]["drifted"] is True
    assert ours["columns"]["region"]["stattest"] == "chisquare"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_to_mlops_nb_serve_stops_uvicorn(made: dict[str, Any], sig: int) -> None:
    """A signal to the `mlops-nb serve` process alone (not its group) stops the server and frees
    the port: no uvicorn is left behind."""
    import socket
    import time

    service = made["parameters"]["result"].service_dir
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb.cli", "serve", str(service), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{port}/healthz", timeout=60)
        proc.send_signal(sig)
        assert proc.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) != 0:
                    break
            time.sleep(0.05)
        else:
            pytest.fail(f"something still listens on port {port} after {sig!r}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
