"""Docker end to end for gradient boosting: a LightGBM Pipeline productionized with an offline image
build (wheelhouse: the wheels and LightGBM's OpenMP runtime prepared on the host), the container
answers every row as the notebook's model does. One image build."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
from pathlib import Path

import httpx
import pandas as pd
import pytest
from support import REPO, TEST_NOTEBOOKS, docker_available, probe_image, require

pytestmark = pytest.mark.docker

BASE_IMAGE = os.environ.get("MLOPS_NB_BASE_IMAGE", "mlops-nb/python-base:3.11-bookworm")


def test_lightgbm_pipeline_image_serves_the_notebooks_predictions(tmp_path: Path) -> None:
    require(docker_available(), "a Docker engine")
    pytest.importorskip("lightgbm")
    from mlops_nb.productionize import docker
    from mlops_nb.productionize.api import productionize

    base = subprocess.run(  # cached by tag: builds only when the base image is missing
        ["bash", str(REPO / "scripts" / "build-base-image.sh"), BASE_IMAGE],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert base.returncode == 0, base.stderr[-2000:]
    for name in ("prod_lightgbm_pipeline.ipynb", "wine.csv"):
        shutil.copyfile(TEST_NOTEBOOKS / "productionize" / name, tmp_path / name)
    tag = f"mlops-nb-test/lightgbm:{os.getpid()}"
    running = None
    try:
        result = productionize(
            tmp_path / "prod_lightgbm_pipeline.ipynb",
            out=tmp_path / "service",
            tag=tag,
            base_image=BASE_IMAGE,
            wheelhouse=True,
            build=True,
            engine="sklearn",  # the boosting library itself in the image (ONNX would not need it)
        )
        assert result.ok, result.checks
        service = result.service_dir
        assert (service / "wheels" / "native" / "libgomp.so.1").is_file()
        assert any(p.name.startswith("lightgbm-") for p in (service / "wheels").glob("*.whl"))
        with open(service / "model" / "model.pkl", "rb") as handle:
            notebook_model = pickle.load(handle)
        frame = pd.read_csv(tmp_path / "wine.csv")
        records = frame[result.input_columns].to_dict(orient="records")
        expected = notebook_model.predict(frame[list(notebook_model.feature_names_in_)]).tolist()
        # FROM scratch: LightGBM's OpenMP runtime (wheels/native), scikit-learn's and SciPy's
        # extensions all find their libraries in the assembled root file system
        probe = probe_image(tag)
        assert probe.returncode == 0, probe.stdout + probe.stderr[-3000:]
        # LightGBM asks joblib for the physical cores at every predict: joblib runs lscpu
        cores = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "python3", tag, "-W", "error", "-c",
             "import joblib; print(joblib.cpu_count(only_physical_cores=True))"],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert cores.returncode == 0 and int(cores.stdout) >= 1, cores.stderr[-2000:]
        running = docker.start(tag)
        docker.wait_ready(running)
        with httpx.Client(base_url=running.url, timeout=60) as http:
            got = http.post("/predict", json=records)
            assert got.status_code == 200, got.text
            assert got.json()["predictions"] == expected
            mlflow_style = http.post("/invocations", json={"dataframe_records": records})
            assert mlflow_style.json()["predictions"] == expected
    finally:
        if running is not None:
            running.stop()
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)
