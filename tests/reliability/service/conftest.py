"""One generated service (the categorical + numeric wine classifier, ONNX engine), run as a real
``mlops-nb serve`` process with an API key, a small batch limit and 2 s header and body deadlines;
shared by the fuzzing, malformed-request and slow-client tests."""

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

import pytest
from support import TEST_NOTEBOOKS, free_port, wait_http

API_KEY = "reliability-key"
BODY_TIMEOUT = 2.0
HEADER_TIMEOUT = 2.0
MAX_BATCH_ROWS = 50


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("reliability")
    for name in ("parameters.ipynb", "wine.csv"):
        shutil.copyfile(TEST_NOTEBOOKS / "productionize" / name, root / name)
    result = productionize(root / "parameters.ipynb", out=root / "service")
    service: Path = result.service_dir
    port = free_port()
    env = {
        **os.environ,
        "API_KEY": API_KEY,
        "BODY_TIMEOUT": str(BODY_TIMEOUT),
        "HEADER_TIMEOUT": str(HEADER_TIMEOUT),
        "MAX_BATCH_ROWS": str(MAX_BATCH_ROWS),
        "MONITOR_MIN_ROWS": "5",
    }
    log = (root / "serve.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlops_nb.cli", "serve", str(service), "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_http(url + "/readyz", timeout=60)
        example = json.loads((service / "model" / "input_example.json").read_text())
        yield {
            "url": url,
            "port": port,
            "service": service,
            "example": example,
            "api_key": API_KEY,
            "body_timeout": BODY_TIMEOUT,
            "header_timeout": HEADER_TIMEOUT,
            "max_batch_rows": MAX_BATCH_ROWS,
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)
        log.close()
