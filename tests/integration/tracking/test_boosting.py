"""XGBoost, LightGBM and CatBoost estimators tracked in a real kernel: each becomes an MLflow
model that loads back with ``mlflow.pyfunc.load_model`` and predicts what the notebook's model
predicted, with its library pinned in the requirements."""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from support import all_runs

pytestmark = pytest.mark.integration

SETUP = """
%load_ext mlops_nb
import numpy as np
from sklearn.datasets import make_classification
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
X, y = make_classification(n_samples=300, n_features=6, random_state=0)
X_train, X_test, y_train = X[:200], X[200:], y[:200]
"""

CELLS = {
    "xgboost": "from xgboost import XGBClassifier\n"
    "xgb = XGBClassifier(n_estimators=20, max_depth=3)\nxgb.fit(X_train, y_train)",
    "lightgbm": "from lightgbm import LGBMClassifier\n"
    "lgbm = make_pipeline(StandardScaler(), LGBMClassifier(n_estimators=20, verbose=-1))\n"
    "lgbm.fit(X_train, y_train)",
    "catboost": "from catboost import CatBoostClassifier\n"
    "cat = CatBoostClassifier(iterations=20, depth=3, verbose=0)\ncat.fit(X_train, y_train)",
}
VARIABLE = {"xgboost": "xgb", "lightgbm": "lgbm", "catboost": "cat"}


def test_boosting_models_load_back_and_predict(isolated: Path) -> None:
    libraries = [name for name in CELLS if importlib.util.find_spec(name) is not None]
    assert {"xgboost", "lightgbm"} <= set(libraries), "pip install 'mlops-nb[boosting]'"
    cells = [SETUP] + [f"%%track --name {lib}\n{CELLS[lib]}" for lib in libraries]
    cells += [
        f"np.save('{lib}.npy', {VARIABLE[lib]}.predict(X_test)); np.save('x_test.npy', X_test)"
        for lib in libraries
    ]
    cells.append("%mlops flush 240")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(isolated)}}
    ).execute()
    outputs = "".join(o.get("text", "") for cell in nb.cells for o in cell.get("outputs", []))
    assert "all runs delivered" in outputs, outputs
    assert "Traceback" not in outputs

    import mlflow

    uri = os.environ["MLFLOW_TRACKING_URI"]
    mlflow.set_tracking_uri(uri)
    client = mlflow.MlflowClient(uri)
    runs = {r.info.run_name: r for r in all_runs(client)}
    assert set(runs) == set(libraries)
    x_test = np.load(isolated / "x_test.npy")
    for lib in libraries:
        run = runs[lib]
        [model] = client.search_logged_models(
            experiment_ids=[run.info.experiment_id],
            filter_string=f"source_run_id = '{run.info.run_id}'",
        )
        loaded = mlflow.pyfunc.load_model(model.model_uri)
        np.testing.assert_array_equal(
            np.asarray(loaded.predict(x_test)).ravel(), np.load(isolated / f"{lib}.npy").ravel()
        )
        local = Path(mlflow.artifacts.download_artifacts(model.model_uri))
        requirements = (local / "requirements.txt").read_text()
        # xgboost comes as "xgboost" or as its CPU build "xgboost-cpu"
        assert re.search(rf"^{lib}(-cpu)?==", requirements, re.MULTILINE), requirements
        assert run.data.params  # the estimator's get_params()
