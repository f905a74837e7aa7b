"""An all-number service whose columns are not all of one JSON type (a float column and an
integer column): every payload form takes and refuses the same values, as the OpenAPI document
says. The fast paths for all-number payloads (one record, a list of records, ``dataframe_split``)
once took 1.5 for the integer column that the Record path refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook
from support import run_in_service

pytestmark = pytest.mark.integration

CELLS = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.linear_model import LogisticRegression",
    "rng = np.random.default_rng(0)\n"
    "X = pd.DataFrame({'dose': rng.normal(size=400), 'visits': rng.integers(0, 6, 400)})\n"
    "y = (X['dose'] + X['visits'] > 2.5).astype(int)",
    "model = LogisticRegression().fit(X, y)",
]

_PROBE = """
import json, sys, time
from fastapi.testclient import TestClient
from app.main import create_app

def forms(records):
    # every payload form of these records: (path, JSON body)
    columns = list(records[0])
    rows = [[r[c] for c in columns] for r in records]
    one = [("/predict", records[0])] if len(records) == 1 else []
    return one + [
        ("/predict", records),
        ("/invocations", {"dataframe_split": {"columns": columns, "data": rows}}),
        ("/invocations", {"dataframe_records": records}),
        ("/invocations", {"instances": records}),
    ]

cases = json.loads(sys.argv[1])
with TestClient(create_app()) as client:
    while client.get("/readyz").status_code != 200:
        time.sleep(0.05)
    body = client.get("/openapi.json").json()["paths"]["/predict"]["post"]["requestBody"]
    record = body["content"]["application/json"]["schema"]["oneOf"][0]
    types = {name: p.get("type") for name, p in record["properties"].items()}
    answers = []
    for records in cases:
        answers.append([])
        for path, body in forms(records):
            got = client.post(path, json=body)
            form = next(iter(body)) if isinstance(body, dict) and path != "/predict" else "records"
            answers[-1].append([f"{path} {form} x{len(records)}", got.status_code, got.json()])
print(json.dumps({"types": types, "answers": answers}))
"""


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("payload-types")
    nb = new_notebook(cells=[new_code_cell(c) for c in CELLS])
    nbformat.write(nb, root / "doses.ipynb")
    return productionize(root / "doses.ipynb", out=root / "service").service_dir


def _answers(service: Path, cases: list[list[dict[str, Any]]]) -> dict[str, Any]:
    return dict(run_in_service(service, _PROBE, json.dumps(cases)))


def test_every_payload_form_takes_and_refuses_the_same_values(service: Path) -> None:
    fine = {"dose": 0.25, "visits": 3}
    whole_dose = {"dose": 1, "visits": 2}  # a whole number is a number
    fraction = {"dose": 0.5, "visits": 1.5}  # not an integer
    float_integer = {"dose": 0.5, "visits": 2.0}  # nor is 2.0 (integers are strict)
    taken = [[fine], [fine, whole_dose], [whole_dose, fine, whole_dose]]
    refused = [[fraction], [fine, fraction], [float_integer], [fine, float_integer, fine]]
    report = _answers(service, taken + refused)
    assert report["types"] == {"dose": "number", "visits": "integer"}
    for answers in report["answers"][: len(taken)]:
        assert {status for _, status, _ in answers} == {200}, answers
        predictions = {json.dumps(body["predictions"]) for _, _, body in answers}
        assert len(predictions) == 1, answers  # the same answer in every form
    for answers in report["answers"][len(taken) :]:
        for form, status, body in answers:
            assert status == 422, (form, body)
            assert any(d["loc"][-1] == "visits" for d in body["detail"]), (form, body)
