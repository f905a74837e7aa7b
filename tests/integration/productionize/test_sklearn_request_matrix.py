"""The scikit-learn engine without the feature code: where productionize proved that the feature
code only renames and reorders all-number API columns (engine.json ``passthrough``), the service
builds the model's input matrix from the request rows itself, once the model answers the input
example and the reference sample alike from it and from the feature code (checked at load,
reported by /metadata). A model that reads its columns by name keeps the feature code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from support import run_in_service

pytestmark = pytest.mark.integration

DATA = (
    "import numpy as np\nimport pandas as pd\n"
    "from sklearn.compose import ColumnTransformer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\nfrom sklearn.preprocessing import StandardScaler\n"
    "rng = np.random.default_rng(2)\n"
    "raw = pd.DataFrame({'dose': rng.normal(5, 2, 400), 'visits': rng.integers(0, 9, 400),\n"
    "    'weight': rng.normal(70, 9, 400)})\n"
    "X = raw.rename(columns={'dose': 'd', 'weight': 'w'})[['w', 'visits', 'd']]\n"
    "y = (X['d'] * 3 + X['visits'] - X['w'] / 5 > 10).astype(int)"
)
MODELS = {
    # reads its input by position: the request matrix serves it
    "positional": "model = make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)",
    # selects columns by name: an array cannot feed it, so the feature code stays
    "by_name": "model = make_pipeline(ColumnTransformer([('s', StandardScaler(), ['w', 'd'])],\n"
    "    remainder='passthrough'), LogisticRegression()).fit(X, y)",
}

_PROBE = """
import json, time
import features
from fastapi.testclient import TestClient
from app.main import create_app

calls = []
transform = features.transform
features.transform = lambda *args: calls.append(1) or transform(*args)
example = json.load(open("model/input_example.json"))
with TestClient(create_app()) as client:
    while client.get("/readyz").status_code != 200:
        time.sleep(0.05)
    at_load = len(calls)
    many = client.post("/predict", json=example["records"]).json()
    one = [client.post("/predict", json=r).json()["predictions"][0] for r in example["records"]]
    split = client.post("/invocations", json={"dataframe_split": {
        "columns": list(example["records"][0]),
        "data": [list(r.values()) for r in example["records"]]}}).json()
    engine = client.get("/metadata").json()["engine"]
print(json.dumps({"expected": example["predictions"], "many": many["predictions"], "one": one,
                  "split": split["predictions"], "engine": engine,
                  "calls_at_load": at_load, "calls_per_request": len(calls) - at_load}))
"""


def _serve_once(service: Path) -> dict[str, Any]:
    return dict(run_in_service(service, _PROBE))


@pytest.mark.parametrize("model", list(MODELS))
def test_sklearn_engine_reads_the_request_matrix_only_where_the_model_answers_alike(
    model: str, tmp_path: Path
) -> None:
    from mlops_nb.productionize.api import productionize

    nb = new_notebook(cells=[new_code_cell(DATA), new_code_cell(MODELS[model])])
    nbformat.write(nb, tmp_path / "doses.ipynb")
    result = productionize(tmp_path / "doses.ipynb", out=tmp_path / "service", engine="sklearn")
    engine_file = json.loads((result.service_dir / "model" / "engine.json").read_text())
    assert engine_file["engine"] == "sklearn"
    # the API's columns, renamed and reordered: model column i comes from API column columns[i]
    assert engine_file["passthrough"]["columns"] == ["weight", "visits", "dose"]
    report = _serve_once(result.service_dir)
    expected = report["expected"]
    assert report["many"] == expected and report["one"] == expected, report
    assert report["split"] == expected, report
    if model == "positional":
        assert report["engine"]["request_matrix"]["rows_checked"] > 50, report["engine"]
        assert report["calls_per_request"] == 0  # the feature code ran once, for the check
    else:
        assert "request_matrix" not in report["engine"], report["engine"]
        assert report["calls_per_request"] >= 1 + len(expected)
