"""A notebook whose feature code only renames and reorders the API's columns: productionize records
a passthrough in engine.json, the service feeds the request rows straight to onnxruntime (pandas and
features.py are never imported, and neither is in requirements.txt or the Dockerfile), and
``ENGINE=sklearn`` without the feature code is a clear load failure (503 from /readyz)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from support import run_in_service

pytestmark = pytest.mark.integration

CELLS = [
    "import pandas as pd\nfrom sklearn.compose import ColumnTransformer\n"
    "from sklearn.linear_model import LogisticRegression\nfrom sklearn.pipeline import Pipeline\n"
    "from sklearn.preprocessing import OneHotEncoder, StandardScaler",
    "raw = pd.DataFrame({'height': [1.5 + (i % 7) / 10 for i in range(300)],\n"
    "    'colour': ['red', 'blue', 'green'] * 100,\n"
    "    'weight': [50.0 + i % 13 for i in range(300)]})\n"
    "X = raw.rename(columns={'weight': 'w', 'height': 'h'})[['w', 'colour', 'h']]\n"
    "y = ((X['w'] > 56) ^ (X['colour'] == 'red')).astype(int)",
    "model = Pipeline([('prep', ColumnTransformer([('num', StandardScaler(), ['w', 'h']),\n"
    "    ('cat', OneHotEncoder(handle_unknown='ignore'), ['colour'])])),\n"
    "    ('clf', LogisticRegression())]).fit(X, y)",
]


def _script(before: str, requests: str, report: str) -> str:
    """Run in the service folder: ``before``, then the app in process (TestClient) once ready,
    the input example's records through ``/predict``, ``requests``; prints what a user would
    check (``ready``, ``many``, ``expected`` and the ``report`` entries), as JSON."""
    return f"""
import json, sys, time
{before}
from fastapi.testclient import TestClient
from app.main import create_app
example = json.load(open("model/input_example.json"))
with TestClient(create_app()) as client:
    deadline = time.monotonic() + 60
    while client.get("/readyz").json().get("detail") == "loading" and time.monotonic() < deadline:
        time.sleep(0.05)
    ready = client.get("/readyz").json()
    many = client.post("/predict", json=example["records"]).json()
{textwrap.indent(requests, "    ")}
print(json.dumps({{"ready": ready, "many": many, "expected": example["predictions"], {report}}}))
"""


# pandas and the feature code made unimportable, then every request kind
_SERVE_WITHOUT_PANDAS = _script(
    """for blocked in ("pandas", "features", "feature_runtime", "sklearn"):
    sys.modules[blocked] = None  # importing it raises ImportError""",
    """one = client.post("/predict", json=example["records"][0]).json()
columns = list(example["records"][0])
split = client.post("/invocations", json={"dataframe_split": {
    "columns": columns, "data": [[r[c] for c in columns] for r in example["records"]]}}).json()
engine = client.get("/metadata").json().get("engine")""",
    '"one": one, "split": split, "engine": engine',
)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("passthrough")
    nbformat.write(new_notebook(cells=[new_code_cell(c) for c in CELLS]), root / "rename.ipynb")
    result = productionize(root / "rename.ipynb", out=root / "service")
    assert result.ok, result.checks
    return result.service_dir


def _run(service: Path, code: str, **env: str) -> dict[str, Any]:
    return dict(run_in_service(service, code, timeout=120, **env))


def test_passthrough_is_recorded_and_the_image_leaves_pandas_out(service: Path) -> None:
    engine = json.loads((service / "model" / "engine.json").read_text())
    assert engine["engine"] == "onnx"
    # the model's columns (w, colour, h) come from the API's (weight, colour, height)
    by_model = dict(zip(engine["inputs"]["columns"], engine["passthrough"]["columns"], strict=True))
    assert by_model == {"w": "weight", "colour": "colour", "h": "height"}
    assert "pandas==" not in (service / "requirements.txt").read_text()
    dockerfile = (service / "Dockerfile").read_text()
    assert "features.py" not in dockerfile and "feature_runtime.py" not in dockerfile
    assert (service / "features.py").is_file()  # train.py needs it


def test_the_service_answers_without_pandas_or_the_feature_code(service: Path) -> None:
    got = _run(service, _SERVE_WITHOUT_PANDAS)
    assert got["ready"] == {"status": "ready"}
    assert got["many"]["predictions"] == got["expected"]
    assert got["one"]["predictions"] == got["expected"][:1]
    assert got["split"]["predictions"] == got["expected"]
    assert got["engine"]["engine"] == "onnx" and got["engine"]["passthrough"]


def test_sklearn_engine_without_the_feature_code_is_a_clear_load_failure(service: Path) -> None:
    got = _run(service, _SERVE_WITHOUT_PANDAS, ENGINE="sklearn")
    assert got["ready"]["status"] == "not ready"
    detail = got["ready"]["detail"]
    assert detail.startswith("the model failed to load:") and "/" not in detail, detail
    assert "features.py" in detail or "not installed" in detail, detail
    assert "model failed to load" in str(got["many"]), got["many"]


# with MODEL_DIR set: the service with a drift reference it cannot read
_SERVE_WITHOUT_REFERENCE = _script(
    "",
    """drift = client.get("/monitoring/drift")
reference = client.get("/monitoring/reference")""",
    '"drift": [drift.status_code, drift.json()], '
    '"reference": [reference.status_code, reference.json()]',
)


def test_a_missing_drift_reference_leaves_the_model_serving(service: Path, tmp_path: Path) -> None:
    import shutil

    shutil.copytree(service / "model", tmp_path / "model")
    (tmp_path / "model" / "reference.csv").unlink()
    got = _run(service, _SERVE_WITHOUT_REFERENCE, MODEL_DIR=str(tmp_path / "model"))
    assert got["ready"] == {"status": "ready"}
    assert got["many"]["predictions"] == got["expected"]
    detail = "the reference sample failed to load (reference.csv is missing); see the service log"
    assert got["drift"] == [503, {"detail": detail, "reference": "failed"}]
    assert got["reference"] == [503, {"detail": detail, "reference": "failed"}]


# app.server imported first, as `python -m app.server` does: garbage collection is off while the
# process starts and back on (with start-up's objects frozen) once the model and reference load
_SERVE_AFTER_START_UP = _script(
    "import gc, app.server\ncollecting_at_start = gc.isenabled()",
    """settled = time.monotonic() + 30
while not gc.isenabled() and time.monotonic() < settled:
    time.sleep(0.05)
reference = client.get("/monitoring/reference", params={"n": 1})""",
    '"collecting_at_start": collecting_at_start, "collecting": gc.isenabled(), '
    '"frozen": gc.get_freeze_count(), "reference": reference.status_code',
)


def test_garbage_collection_is_back_on_once_the_service_has_started(service: Path) -> None:
    got = _run(service, _SERVE_AFTER_START_UP)
    assert got["ready"] == {"status": "ready"}
    assert got["many"]["predictions"] == got["expected"]
    assert got["collecting_at_start"] is False
    assert got["collecting"] is True and got["reference"] == 200
    assert got["frozen"] > 10_000  # modules, the app and the model stay out of later collections
