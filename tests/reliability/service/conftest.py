"""Generated services, each run as a real ``mlops-nb serve`` process with an API key, a small
batch limit and 2 s header and body deadlines: the categorical + numeric wine classifier (ONNX
engine; shared by the fuzzing, malformed-request and slow-client tests) and an all-number regressor
whose requests take the all-number fast paths (fuzzed too)."""

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


#: an all-number regressor: a float column with missing values (imputed), an integer column and a
#: float column; its requests take the all-number fast paths, which the wine service never does
NUMBERS_CELLS = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.impute import SimpleImputer\n"
    "from sklearn.linear_model import Ridge\nfrom sklearn.pipeline import make_pipeline",
    "rng = np.random.default_rng(1)\n"
    "X = pd.DataFrame({'dose': np.where(rng.random(300) < 0.1, np.nan, rng.normal(5, 2, 300)),\n"
    "    'visits': rng.integers(0, 9, 300), 'weight': rng.normal(70, 9, 300)})\n"
    "y = X['dose'].fillna(5) * 2 + X['visits'] - X['weight'] / 10",
    "model = make_pipeline(SimpleImputer(), Ridge()).fit(X, y)",
]


def _serve(root: Path, notebook: Path) -> Iterator[dict[str, Any]]:
    """productionize ``notebook``, then run its service as a real ``mlops-nb serve`` process."""
    from mlops_nb.productionize.api import productionize

    result = productionize(notebook, out=root / "service")
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


@pytest.fixture(scope="session")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("reliability")
    for name in ("parameters.ipynb", "wine.csv"):
        shutil.copyfile(TEST_NOTEBOOKS / "productionize" / name, root / name)
    yield from _serve(root, root / "parameters.ipynb")


@pytest.fixture(scope="session")
def live_numbers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    root = tmp_path_factory.mktemp("reliability-numbers")
    notebook = new_notebook(cells=[new_code_cell(c) for c in NUMBERS_CELLS])
    nbformat.write(notebook, root / "doses.ipynb")
    yield from _serve(root, root / "doses.ipynb")
