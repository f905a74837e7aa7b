"""The drift and fidelity gates against a real productionized service: ``productionize`` from
the candidate's run, ``mlops-nb serve`` on 127.0.0.1, real traffic (then shifted traffic)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import TEST_NOTEBOOKS, free_port, wait_http

from mlops_nb.registry.api import promote, resolve_model_uri
from mlops_nb.registry.constants import GateStatus

pytestmark = pytest.mark.integration


def _tracked_run(nb: Path) -> str:
    """What %%track records for the helpers notebook: its Ridge model, the notebook snapshot and
    the mlops_nb.notebook tag (so productionize --run can rebuild it)."""
    import mlflow
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    raw = load_diabetes(as_frame=True, scaled=False).frame
    feats = raw.copy()
    feats["bmi_bp"] = feats["bmi"] * feats["bp"]
    feats["s1_s2"] = feats["s1"] / feats["s2"]
    feats["log_s5"] = np.log1p(feats["s5"])
    x = feats.drop(columns=["target"])
    x_train, _, y_train, _ = train_test_split(x, feats["target"], random_state=1)
    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])
    mlflow.set_experiment("helpers")
    with mlflow.start_run() as run:
        mlflow.log_metric("r2", 0.5)
        mlflow.sklearn.log_model(
            Ridge(alpha=0.5).fit(x_train, y_train), name="reg", pip_requirements=["scikit-learn"]
        )
        mlflow.log_artifact(str(nb), artifact_path="notebook")
        mlflow.set_tag("mlops_nb.notebook", str(nb.resolve()))
    return str(run.info.run_id)


@pytest.fixture
def service(isolated: Path) -> Iterator[dict[str, Any]]:
    from mlops_nb.productionize.api import productionize

    work = isolated / "work"
    work.mkdir()
    for name in ("helpers.ipynb", "wine.csv"):
        shutil.copyfile(TEST_NOTEBOOKS / "productionize" / name, work / name)
    run_id = _tracked_run(work / "helpers.ipynb")
    made = productionize(run_id=run_id, out=isolated / "service")
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb.cli", "serve", str(made.service_dir), "--port", str(port)],
        env={**os.environ, "MONITOR_MIN_ROWS": "10"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/readyz", timeout=90)
        yield {"url": url, "run_id": run_id, "dir": made.service_dir}
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)


def _send(url: str, shift: float, rows: int = 300) -> None:
    from sklearn.datasets import load_diabetes

    raw = load_diabetes(as_frame=True, scaled=False).frame.drop(columns=["target"])
    raw = raw.sample(rows, replace=True, random_state=int(shift * 10))
    for column in ("bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"):
        raw[column] = raw[column] * shift
    response = httpx.post(url + "/predict", json=raw.to_dict("records"), timeout=60)
    assert response.status_code == 200, response.text


def test_drift_gate_on_live_traffic_and_the_fidelity_verdict(service: dict[str, Any]) -> None:
    url, run_id = service["url"], service["run_id"]
    _send(url, 1.0)
    ok = promote(run_id, "diabetes", max_drift_share=0.3, service=url)
    drift, fidelity = ok.gates
    assert ok.moved and drift.status is GateStatus.PASSED and drift.value <= 0.3
    # the candidate's reference is the sample its service ships; the traffic is what it served
    assert "the training reference of" in drift.details["reference"]
    assert drift.details["current_rows"] == 300
    # the service serves the candidate: its fidelity verdict (from productionize) is a gate
    metadata = json.loads((service["dir"] / "model" / "metadata.json").read_text())
    assert metadata["fidelity"]["passed"] is True
    assert fidelity.status is GateStatus.PASSED and fidelity.summary.startswith(f"passed in {url}")
    assert metadata["fidelity"]["detail"] in fidelity.summary

    _send(url, 1.8, rows=900)
    shifted = promote(run_id, "diabetes", alias="prod", max_drift_share=0.3, service=url)
    drift = shifted.gates[0]
    assert not shifted.moved and drift.status is GateStatus.FAILED and drift.value > 0.3
    assert "bmi" in drift.details["drifted_columns"]
    assert "NOT PROMOTED: drift failed; @prod stays on no version" in shifted.text()

    # fidelity: the verdict productionize records in model/metadata.json
    copy = service["dir"].parent / "service-copy"
    shutil.copytree(service["dir"], copy)
    metadata_path = copy / "model" / "metadata.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["fidelity"] = {"passed": False, "detail": "predictions differ on 3 of 50 rows"}
    metadata_path.write_text(json.dumps(metadata))
    failed = promote(run_id, "diabetes", alias="fid", service_dir=copy)
    assert not failed.moved and failed.gates[0].status is GateStatus.FAILED
    assert "predictions differ on 3 of 50 rows" in failed.gates[0].summary
    metadata["fidelity"] = {"passed": True, "detail": "identical predictions"}
    metadata_path.write_text(json.dumps(metadata))
    assert promote(run_id, "diabetes", alias="fid", service_dir=copy).moved

    # what a service built from models:/diabetes@champion reports in /metadata
    ref = resolve_model_uri("models:/diabetes@champion")
    assert ref.as_metadata() == {
        "registered_model": "diabetes",
        "registered_version": "1",
        "registered_alias": "champion",
    }
    assert ref.run_id == run_id
