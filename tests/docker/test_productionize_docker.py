"""Docker end to end: notebook -> productionize -> image built with no network (local base image,
wheelhouse) -> container -> real HTTP predictions equal the notebook's -> stop and clean up.

One image is built per session and shared by the tests."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from support import NOTEBOOKS, REPO, docker_available, require

pytestmark = pytest.mark.docker

BASE_IMAGE = os.environ.get("MLOPS_NB_BASE_IMAGE", "mlops-nb/python-base:3.11-bookworm")


@pytest.fixture(scope="session")
def base_image() -> str:
    require(docker_available(), "a Docker engine")
    run = subprocess.run(
        ["bash", str(REPO / "scripts" / "build-base-image.sh"), BASE_IMAGE],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return BASE_IMAGE


@pytest.fixture(scope="session")
def built(base_image: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("docker")
    shutil.copyfile(NOTEBOOKS / "02_productionize.ipynb", root / "02_productionize.ipynb")
    tag = f"mlops-nb-test/breast-cancer:{os.getpid()}"
    events: list[Any] = []
    try:
        result = productionize(
            root / "02_productionize.ipynb",
            out=root / "service",
            name="breast-cancer",
            tag=tag,
            base_image=base_image,
            wheelhouse=True,
            build=True,
            smoke=True,
            progress=events.append,
        )
        example = json.loads((result.service_dir / "model" / "input_example.json").read_text())
        yield {"result": result, "tag": tag, "example": example, "events": events}
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)
        # the build stage of the multi-stage build stays behind as a dangling image
        subprocess.run(
            ["docker", "image", "prune", "-f", "--filter", "label=mlops-nb.stage=build"],
            capture_output=True,
            timeout=120,
        )


def test_image_is_built_offline_and_smoke_tested(built: dict[str, Any]) -> None:
    from mlops_nb.productionize import docker

    result = built["result"]
    assert result.ok, result.checks
    assert [c.name for c in result.checks] == ["fidelity", "smoke"]
    assert result.image == built["tag"]
    build_start = next(e for e in built["events"] if e.step == "build" and e.status == "start")
    assert "no network" in build_start.message
    render = next(e for e in built["events"] if e.step == "render" and e.status == "done")
    assert "engine onnx" in render.message, render.message
    # the ONNX image carries onnxruntime and no SciPy; scikit-learn only if the feature code
    # imports it (see test_image_shape)
    assert docker.image_size(built["tag"]) <= 450 * 1024 * 1024


def test_image_shape(built: dict[str, Any]) -> None:
    from mlops_nb.productionize import docker

    attrs = docker.client().images.get(built["tag"]).attrs["Config"]
    assert attrs["User"] == "10001"
    assert attrs["Healthcheck"]["Test"][-1].count("/readyz") == 1
    assert "8080/tcp" in attrs["ExposedPorts"]
    requirements = (built["result"].service_dir / "requirements.txt").read_text()
    # scikit-learn (and the SciPy it needs) only when the feature code imports it
    absent = [] if "scikit-learn==" in requirements else ["sklearn", "scipy"]
    assert "scipy==" not in requirements or "scikit-learn==" in requirements
    probe = subprocess.run(
        [
            "docker",
            "run",
            "--rm",
            "--entrypoint",
            "python3",
            built["tag"],
            "-c",
            "import importlib.util as u, sys; "
            "sys.exit(any(u.find_spec(m) for m in ('pip', 'mlops_nb', 'mlflow', *sys.argv[1:])) "
            "or not u.find_spec('onnxruntime'))",
            *absent,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert probe.returncode == 0, (
        "pip, mlops_nb, mlflow or sklearn is in the image (or no onnxruntime)"
    )


def test_container_serves_the_notebooks_predictions(built: dict[str, Any]) -> None:
    from mlops_nb.productionize import docker

    example = built["example"]
    # PORT overrides the listening port inside the container: publish it instead of 8080
    engine = docker.client()
    port = docker.free_port()
    container = engine.containers.run(
        built["tag"],
        detach=True,
        environment={"API_KEY": "k3y", "PORT": "9000"},
        ports={"9000/tcp": ("127.0.0.1", port)},
    )
    running = docker.RunningContainer(container, f"http://127.0.0.1:{port}")
    try:
        docker.wait_ready(running)
        with httpx.Client(base_url=running.url, timeout=30) as http:
            assert http.post("/predict", json=example["records"]).status_code == 401
            headers = {"X-API-Key": "k3y"}
            got = http.post("/predict", json=example["records"], headers=headers).json()
            assert got["predictions"] == example["predictions"]  # labels: identical
            served = http.get("/metadata", headers=headers).json()["engine"]
            assert served["engine"] == "onnx" and served["parity"]["passed"]
            mlflow_style = http.post(
                "/invocations", json={"dataframe_records": example["records"]}, headers=headers
            ).json()
            assert mlflow_style["predictions"] == example["predictions"]
            bad = http.post("/predict", json=[{"mean radius": "big"}], headers=headers)
            assert bad.status_code == 422
            assert http.get("/monitoring/sample", headers=headers).json()["total_seen"] == 10
        logs = running.logs().strip().splitlines()
        assert all(json.loads(line)["level"] for line in logs if line.startswith("{"))
    finally:
        running.stop()
    assert not [c for c in engine.containers.list(all=True) if c.id == container.id]


def test_service_tests_run_inside_the_image(built: dict[str, Any]) -> None:
    service: Path = built["result"].service_dir
    tag = built["tag"] + "-test"
    try:
        build = subprocess.run(
            [
                "docker",
                "build",
                "-q",
                "--network",
                "none",
                "-f",
                "tests/Dockerfile",
                "--build-arg",
                f"IMAGE={built['tag']}",
                "-t",
                tag,
                ".",
            ],
            cwd=service,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert build.returncode == 0, build.stderr[-2000:]
        run = subprocess.run(
            ["docker", "run", "--rm", tag], capture_output=True, text=True, timeout=600
        )
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
        assert "8 passed" in run.stdout
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)
