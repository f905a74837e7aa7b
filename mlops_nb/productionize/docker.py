"""Build, run and smoke-test the service image through the Docker Engine API (docker SDK)."""

from __future__ import annotations

import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import MlopsNbError, require


class DockerError(MlopsNbError):
    """The Docker engine is unreachable, or a build or container failed."""


def client() -> Any:
    require("docker", "serve", "Building images")
    import docker

    try:
        engine = docker.from_env(timeout=600)
        engine.ping()
    except Exception as exc:
        raise DockerError(
            f"no Docker engine answers ({exc}); start dockerd "
            "(scripts/install-system-deps.sh does) "
            "or set DOCKER_HOST"
        ) from None
    return engine


def build(
    service: Path, tag: str, base_image: str, log: Callable[[str], None], *, offline: bool = False
) -> str:
    """``docker build`` of the service directory; streams the build output to ``log``.

    ``offline`` builds with no network at all (the wheelhouse mode needs none)."""
    engine = client()
    try:
        engine.images.get(base_image)
    except Exception:
        log(f"base image {base_image} is not present locally; the engine will try to pull it")
    stream = engine.api.build(
        path=str(service),
        tag=tag,
        rm=True,
        forcerm=True,
        decode=True,
        buildargs={"BASE_IMAGE": base_image},
        pull=False,
        network_mode="none" if offline else None,
    )
    image_id = None
    for chunk in stream:
        if "error" in chunk:
            detail = chunk.get("errorDetail", {}).get("message") or chunk["error"]
            raise DockerError(f"docker build of {tag} failed: {detail.strip()}")
        text = chunk.get("stream", "").rstrip()
        if text:
            log(text)
        aux = chunk.get("aux")
        if isinstance(aux, dict) and "ID" in aux:
            image_id = aux["ID"]
    if image_id is None:
        image_id = engine.images.get(tag).id
    return str(image_id)


def image_size(tag: str) -> int:
    return int(client().images.get(tag).attrs["Size"])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _http(url: str, body: bytes | None = None, timeout: float = 10.0) -> tuple[int, bytes]:
    request = urllib.request.Request(
        url, data=body, headers={"content-type": "application/json"} if body else {}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


@dataclass
class RunningContainer:
    container: Any
    url: str

    def logs(self) -> str:
        return str(self.container.logs(tail=40).decode(errors="replace"))

    def stop(self) -> None:
        try:
            self.container.stop(timeout=5)
        finally:
            self.container.remove(force=True)


def start(tag: str, env: dict[str, str] | None = None, port: int | None = None) -> RunningContainer:
    """Run the image on 127.0.0.1:<free port> (detached)."""
    engine = client()
    port = port or free_port()
    container = engine.containers.run(
        tag, detach=True, ports={"8080/tcp": ("127.0.0.1", port)}, environment=env or {}
    )
    return RunningContainer(container, f"http://127.0.0.1:{port}")


def wait_ready(running: RunningContainer, timeout: float = 60.0) -> float:
    """Seconds until /readyz says 200."""
    started = checked = time.monotonic()
    while time.monotonic() - started < timeout:
        try:
            status, body = _http(running.url + "/readyz", timeout=2)
            if status == 200:
                return time.monotonic() - started
            detail = json.loads(body or b"{}").get("detail", "loading")
            if detail != "loading":
                raise DockerError(f"the service cannot load its model: {detail}")
        except (OSError, ValueError):
            pass
        if time.monotonic() - checked >= 0.25:  # asking the engine costs more than a probe
            checked = time.monotonic()
            running.container.reload()
            if running.container.status == "exited":
                break
        time.sleep(0.01)
    raise DockerError(f"the container did not become ready; its log:\n{running.logs()}")


def smoke(tag: str, example: dict[str, Any]) -> tuple[bool, str]:
    """Start the image, wait for /readyz, post the input example, compare, stop and remove."""
    running = start(tag)
    try:
        ready = wait_ready(running)
        status, body = _http(
            running.url + "/predict", json.dumps(example["records"]).encode(), timeout=30
        )
        if status != 200:
            return False, f"POST /predict answered {status}: {body[:300]!r}"
        got = json.loads(body)["predictions"]
        _, meta = _http(running.url + "/metadata", timeout=10)
        engine = json.loads(meta).get("engine") or {"engine": "sklearn"}
        parity = engine.get("parity") or {}
        tolerance = float(parity["tolerance"]) if engine["engine"] == "onnx" else 1e-9
        if not same_predictions(got, example["predictions"], tolerance):
            return False, f"the container predicts {got}, the notebook {example['predictions']}"
        return True, (
            f"ready in {ready:.2f}s; /predict ({engine['engine']} engine) equals the notebook on "
            f"{len(got)} records" + (f" within {tolerance:g}" if engine["engine"] == "onnx" else "")
        )
    finally:
        running.stop()


def same_predictions(got: list[Any], expected: list[Any], rtol: float = 1e-9) -> bool:
    """Labels equal; values within ``rtol * max(1, |expected|)``."""
    if len(got) != len(expected):
        return False
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, float) or isinstance(b, float):
            if abs(float(a) - float(b)) > rtol * max(1.0, abs(float(b))):
                return False
        elif a != b:
            return False
    return True
