"""Fixtures for the service's tests.

By default the app runs in-process (FastAPI's TestClient). Set SERVICE_URL to test a running
service instead (a container, a deployment): ``SERVICE_URL=http://127.0.0.1:8080 pytest tests``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

SERVICE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(SERVICE_DIR))


def _wait_ready(client: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if client.get("/readyz").status_code == 200:
            return
        time.sleep(0.05)
    raise TimeoutError("the service did not become ready")


@pytest.fixture(scope="session")
def client() -> Iterator[Any]:
    url = os.environ.get("SERVICE_URL")
    headers = {"X-API-Key": os.environ["API_KEY"]} if os.environ.get("API_KEY") else {}
    if url:
        import httpx

        with httpx.Client(base_url=url, headers=headers, timeout=30) as http:
            _wait_ready(http)
            yield http
        return
    from fastapi.testclient import TestClient

    from app.main import create_app

    with TestClient(create_app(), headers=headers) as test_client:
        _wait_ready(test_client)
        yield test_client


@pytest.fixture(scope="session")
def example() -> dict[str, Any]:
    """model/input_example.json: records and the notebook model's predictions for them."""
    model_dir = Path(os.environ.get("MODEL_DIR") or SERVICE_DIR / "model")
    return dict(json.loads((model_dir / "input_example.json").read_text()))


@pytest.fixture(scope="session")
def tolerance(client: Any) -> float:
    """How close served values must be to the notebook's: the parity tolerance productionize
    checked when the engine is onnxruntime, else (the notebook's own model) 1e-9."""
    engine = client.get("/metadata").json()["engine"]
    parity = engine.get("parity") or {}
    return float(parity["tolerance"]) if engine["engine"] == "onnx" else 1e-9
