"""XGBoost and LightGBM (their scikit-learn API, alone and inside a Pipeline) productionized end to
end: requirements pin them, the generated service answers like the notebook's model on every row,
through /predict and /invocations; a model that is not scikit-learn-compatible is refused."""

from __future__ import annotations

import dataclasses
import json
import pickle
import shutil
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from support import TEST_NOTEBOOKS

pytestmark = pytest.mark.integration

pytest.importorskip("xgboost")
pytest.importorskip("lightgbm")

NOTEBOOKS = TEST_NOTEBOOKS / "productionize"


def _copy(name: str, folder: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copyfile(NOTEBOOKS / "wine.csv", folder / "wine.csv")
    shutil.copyfile(NOTEBOOKS / name, folder / name)
    return folder / name


def _requirements(service: Path) -> dict[str, str]:
    lines = (service / "requirements.txt").read_text().splitlines()
    pins = [line.split("==") for line in lines if "==" in line and not line.startswith("#")]
    return {name: version for name, version in pins}


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from mlops_nb.productionize.api import productionize

    root = tmp_path_factory.mktemp("boosting")
    made = {}
    for name in ("prod_xgboost", "prod_lightgbm_pipeline"):
        nb = _copy(f"{name}.ipynb", root / name)
        made[name] = productionize(nb, out=root / name / "service")
    # served by the library itself (as when its converter cannot reproduce a model)
    nb = _copy("prod_lightgbm_pipeline.ipynb", root / "native")
    made["native"] = productionize(nb, out=root / "native" / "service", engine="sklearn")
    return made


def _purge() -> None:
    for mod in [m for m in sys.modules if m.split(".")[0] in ("app", "features")]:
        del sys.modules[mod]


@pytest.fixture
def client_for() -> Iterator[Any]:
    from fastapi.testclient import TestClient

    opened: list[tuple[Any, str]] = []

    def open_client(service: Path) -> Any:
        _purge()
        sys.path.insert(0, str(service))
        import app.main

        settings = dataclasses.replace(app.main.Settings.from_env(), model_dir=service / "model")
        client = TestClient(app.main.create_app(settings))
        client.__enter__()
        opened.append((client, str(service)))
        deadline = time.monotonic() + 30
        while client.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, client.get("/readyz").text
            time.sleep(0.02)
        return client

    yield open_client
    for client, path in opened:
        client.__exit__(None, None, None)
        sys.path.remove(path)
    _purge()


@pytest.mark.parametrize(
    ("name", "library", "model_class"),
    [
        ("prod_xgboost", "xgboost", "xgboost.sklearn.XGBClassifier"),
        ("prod_lightgbm_pipeline", "lightgbm", "sklearn.pipeline.Pipeline"),
    ],
)
def test_boosted_model_is_served_like_the_notebook(
    services: dict[str, Any], client_for: Any, name: str, library: str, model_class: str
) -> None:
    import importlib.metadata

    result = services[name]
    assert result.ok, result.checks
    service = result.service_dir
    pins = _requirements(service)
    engine = json.loads((service / "model" / "engine.json").read_text())
    # onnxmltools' converter reproduces both models: onnxruntime serves them, and the image
    # carries neither the boosting library nor scikit-learn (nor OpenMP for LightGBM)
    assert engine["engine"] == "onnx", engine["reason"]
    assert pins["onnxruntime"] == importlib.metadata.version("onnxruntime")
    assert not [d for d in pins if d.startswith((library, "scikit-learn"))], pins
    assert "libgomp1" not in (service / "Dockerfile").read_text()
    with open(service / "model" / "model.pkl", "rb") as handle:
        notebook_model = pickle.load(handle)  # the notebook's own fitted model
    cls = type(notebook_model)
    assert f"{cls.__module__}.{cls.__qualname__}" == model_class
    frame = pd.read_csv(service.parent / "wine.csv")
    records = frame[result.input_columns].to_dict(orient="records")
    assert len(records) >= 50
    expected = notebook_model.predict(frame[list(notebook_model.feature_names_in_)]).tolist()
    client = client_for(service)
    got = client.post("/predict", json=records)
    assert got.status_code == 200, got.text
    assert got.json()["predictions"] == expected
    mlflow_style = client.post("/invocations", json={"dataframe_records": records})
    assert mlflow_style.json()["predictions"] == expected


def test_a_booster_served_by_its_library_pins_it_and_its_native_libraries(
    services: dict[str, Any], client_for: Any
) -> None:
    import importlib.metadata

    service = services["native"].service_dir
    assert json.loads((service / "model" / "engine.json").read_text())["engine"] == "sklearn"
    pins = _requirements(service)
    # pinned at this environment's versions, whatever the distribution is called
    dist = next(d for d in pins if d.startswith("lightgbm"))
    assert pins[dist] == importlib.metadata.version(dist)
    assert pins["scikit-learn"] == importlib.metadata.version("scikit-learn")
    assert "libgomp1" in (service / "Dockerfile").read_text()  # LightGBM links OpenMP
    frame = pd.read_csv(service.parent / "wine.csv")
    with open(service / "model" / "model.pkl", "rb") as handle:
        model = pickle.load(handle)
    records = frame[services["native"].input_columns].to_dict(orient="records")
    got = client_for(service).post("/predict", json=records[:40])
    expected = model.predict(frame[list(model.feature_names_in_)].iloc[:40]).tolist()
    assert got.json()["predictions"] == expected


def test_a_model_that_is_not_sklearn_compatible_is_refused(tmp_path: Path) -> None:
    from mlops_nb.productionize.api import productionize
    from mlops_nb.productionize.supported import UnsupportedModelError

    nb = _copy("prod_unsupported.ipynb", tmp_path / "nb")
    with pytest.raises(UnsupportedModelError, match="XGBoost, LightGBM and CatBoost"):
        productionize(nb, out=tmp_path / "svc")
    assert not (tmp_path / "svc").exists()
