"""The productionize promise on a corpus of notebooks written the way people write them: the
generated service, running as a real server, answers the notebook's raw held-out records exactly
as the notebook's own model does, through /predict and /invocations, and the fidelity verdict
tells the truth.

The expected answers come from an oracle run of each notebook in a real kernel (see
tests/notebooks/productionize/corpus/build_corpus.py), independent of mlops-nb.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import nbformat
import pytest
from support import TEST_NOTEBOOKS, free_port, run_in_service, wait_http

from mlops_nb.productionize.api import FidelityError, productionize

pytestmark = pytest.mark.integration

CORPUS = TEST_NOTEBOOKS / "productionize" / "corpus"
SPECS: dict[str, dict[str, Any]] = json.loads((CORPUS / "corpus.json").read_text())
_ORACLE_DUMP = """
import json as _oracle_json
import numpy as _oracle_np
with open('oracle.json', 'w') as _oracle_handle:
    _oracle_json.dump({'records': _oracle_json.loads(ORACLE_RAW.to_json(orient='records')),
                       'predictions': _oracle_np.asarray(ORACLE_PRED).tolist()}, _oracle_handle)
"""


def _workdir(name: str, root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for path in CORPUS.iterdir():
        if (
            path.suffix in (".csv", ".py") and path.name != "build_corpus.py"
        ) or path.name == f"{name}.ipynb":
            shutil.copyfile(path, root / path.name)
    return root / f"{name}.ipynb"


def _oracle(
    notebook: Path, spec: dict[str, Any], replace: tuple[str, str] | None = None
) -> dict[str, Any]:
    """Run the notebook plus its oracle cell in a fresh kernel, in a copy of its folder."""
    import nbclient

    folder = notebook.parent / "oracle-run"
    folder.mkdir()
    for path in notebook.parent.iterdir():
        if path.is_file():
            shutil.copyfile(path, folder / path.name)
    nb = nbformat.read(str(notebook), as_version=4)
    if replace:
        for cell in nb.cells:
            cell.source = cell.source.replace(*replace)
    nb.cells.append(nbformat.v4.new_code_cell(spec["oracle"] + "\n" + _ORACLE_DUMP))
    client = nbclient.NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(folder)}}
    )
    client.execute(env={**os.environ, "MPLBACKEND": "Agg"})
    return dict(json.loads((folder / "oracle.json").read_text()))


def _same(got: list[Any], expected: list[Any], rel: float = 1e-9) -> int:
    """How many answers differ (labels exactly, values within ``rel``)."""
    assert len(got) == len(expected)
    off = 0
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, float) or isinstance(b, float):
            off += not math.isclose(float(a), float(b), rel_tol=rel, abs_tol=rel)
        else:
            off += a != b
    return off


def _tolerance(service: Path) -> float:
    """Exact, except a regressor served by ONNX in 32-bit floats: the engine's stated tolerance
    (labels and 64-bit engines stay exact)."""
    from mlops_nb.productionize.engine import VALUE_TOLERANCE

    engine = json.loads((service / "model" / "engine.json").read_text())
    parity = engine.get("parity") or {}
    if engine["engine"] == "onnx" and parity.get("labels_identical") is None:
        assert parity["passed"] and parity["tolerance"] <= VALUE_TOLERANCE
        return VALUE_TOLERANCE
    return 1e-9


_MISSING_PROBE = """
import json, os, sys, time
from fastapi.testclient import TestClient
from app.main import create_app
records = json.loads(sys.argv[1])
answers = {}
for engine in ("onnx", "sklearn"):
    os.environ["ENGINE"] = engine
    with TestClient(create_app()) as client:
        while client.get("/readyz").status_code != 200:
            time.sleep(0.05)
        answers[engine] = []
        for record in records:
            got = client.post("/predict", json=[record])
            body = got.json()
            answers[engine].append([got.status_code, body.get("predictions")])
print(json.dumps(answers))
"""


def _missing_values_answered_alike(service: Path, record: dict[str, Any]) -> None:
    """A record missing one numeric value (each in turn, then all): the ONNX engine answers, or
    refuses with a 422, exactly as the scikit-learn model does; never a 5xx."""
    numeric = [c for c, v in record.items() if isinstance(v, int | float) and v is not None]
    probes = [{**record, c: None} for c in numeric] + [{**record, **dict.fromkeys(numeric)}]
    answers = run_in_service(service, _MISSING_PROBE, json.dumps(probes))
    for probe, onnx, sklearn in zip(probes, answers["onnx"], answers["sklearn"], strict=True):
        assert onnx[0] in (200, 422) and sklearn[0] in (200, 422), (probe, onnx, sklearn)
        assert onnx[0] == sklearn[0], (probe, onnx, sklearn)
        if onnx[0] == 200:
            assert _same(onnx[1], sklearn[1], _tolerance(service)) == 0, (probe, onnx, sklearn)


def _answers(service: Path, records: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Start the service as a real server; post the records through both APIs."""
    port = free_port()
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "mlops-nb"), "serve", str(service), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/readyz", timeout=90)
        columns = list(records[0])
        split = {"columns": columns, "data": [[r[c] for c in columns] for r in records]}
        with httpx.Client(base_url=base, timeout=60) as client:
            predict = client.post("/predict", json=records)
            assert predict.status_code == 200, predict.text
            invocations = client.post("/invocations", json={"dataframe_split": split})
            assert invocations.status_code == 200, invocations.text
            one = client.post("/predict", json=records[0])
            assert one.status_code == 200, one.text
        return {
            "predict": predict.json()["predictions"],
            "invocations": invocations.json()["predictions"],
            "one": one.json()["predictions"],
        }
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=30)


@pytest.mark.parametrize(
    "name", sorted(n for n, s in SPECS.items() if s["fidelity"] == "identical")
)
def test_service_answers_raw_records_as_the_notebook(name: str, tmp_path: Path) -> None:
    spec = SPECS[name]
    if spec.get("requires"):  # a dev dependency (the boosting extra): missing is a failure
        __import__(str(spec["requires"]))
    notebook = _workdir(name, tmp_path / "work")
    oracle = _oracle(notebook, spec)
    records, expected = oracle["records"], oracle["predictions"]
    assert len(records) >= 50
    result = productionize(notebook, out=tmp_path / "service", model_var=spec.get("model_var"))
    fidelity = result.checks[0]
    assert fidelity.passed and fidelity.detail.startswith("identical on ")
    assert result.takes_raw_columns
    metadata = json.loads((result.service_dir / "model" / "metadata.json").read_text())
    if spec["evaluated_on"] == "held-out":
        assert "held-out rows" in fidelity.detail and "features" in fidelity.detail
        assert "held-out rows" in metadata["metrics_evaluated_on"]
    else:  # held out by position: the check says its rows are drawn across the data
        assert "rows drawn across the data" in fidelity.detail
    raw_columns = set(records[0])
    assert set(result.input_columns) <= raw_columns
    if "inputs" in spec:  # the raw columns the model's features read, nothing else
        assert result.input_columns == spec["inputs"]
    if spec.get("columns_from") == "feature_names":
        assert "mean radius" in result.input_columns
    answers = _answers(result.service_dir, records)
    rel = _tolerance(result.service_dir)
    assert _same(answers["predict"], expected, rel) == 0, name
    assert _same(answers["invocations"], expected, rel) == 0, name
    assert _same(answers["one"], expected[:1], rel) == 0
    engine = json.loads((result.service_dir / "model" / "engine.json").read_text())
    # ONNX requests skip the feature code exactly where it only passes the API's columns through
    # (a scikit-learn engine records the verdict too, and may skip it after its own check at load)
    if engine["engine"] == "onnx":
        assert bool(engine.get("passthrough")) == spec.get("passthrough", False), engine
        _missing_values_answered_alike(result.service_dir, records[0])


def test_unseeded_model_is_reported_then_seeded(tmp_path: Path) -> None:
    name = "unseeded_forest"
    notebook = _workdir(name, tmp_path / "work")
    with pytest.raises(FidelityError) as failure:
        productionize(notebook, out=tmp_path / "service")
    message = str(failure.value)
    assert "not reproducible" in message
    assert "RandomForestClassifier (cell 3, line 1)" in message
    assert "--seed N" in message and "--run RUN_ID" in message
    kept = message.rsplit("kept in ", 1)[1].strip()
    assert (Path(kept) / "train.py").is_file() and (Path(kept) / "features.py").is_file()
    assert not (tmp_path / "service").exists()
    result = productionize(notebook, out=tmp_path / "service", seed=0)
    assert result.checks[0].passed, result.checks[0].detail
    oracle = _oracle(
        notebook,
        SPECS[name],
        replace=(
            "RandomForestClassifier(n_estimators=30, max_depth=5)",
            "RandomForestClassifier(n_estimators=30, max_depth=5, random_state=0)",
        ),
    )
    answers = _answers(result.service_dir, oracle["records"])
    assert _same(answers["predict"], oracle["predictions"]) == 0
