"""--run RUN_ID and --model models:/name@alias: model and notebook snapshot come from MLflow."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mlops_nb.productionize.api import productionize
from mlops_nb.productionize.source import SourceError

pytestmark = pytest.mark.integration


def _log_tracked_run(nb: Path) -> str:
    """What %%track records for a notebook: model under the variable's name, notebook snapshot,
    and the mlops_nb.notebook tag."""
    import mlflow
    import numpy as np
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge
    from sklearn.model_selection import train_test_split

    raw = load_diabetes(as_frame=True, scaled=False).frame
    feats = raw.copy()
    feats["bmi_bp"] = feats["bmi"] * feats["bp"]
    feats["s1_s2"] = feats["s1"] / feats["s2"]
    feats["log_s5"] = np.log1p(feats["s5"])
    X = feats.drop(columns=["target"])
    X_train, _, y_train, _ = train_test_split(X, feats["target"], random_state=1)
    reg = Ridge(alpha=0.5).fit(X_train, y_train)
    mlflow.set_experiment("helpers")
    with mlflow.start_run() as run:
        mlflow.sklearn.log_model(reg, name="reg", pip_requirements=["scikit-learn"])
        mlflow.log_artifact(str(nb), artifact_path="notebook")
        mlflow.set_tag("mlops_nb.notebook", str(nb.resolve()))
    return str(run.info.run_id)


def test_from_run_and_registered_model(isolated: Path, copy_nb: Any) -> None:
    import os

    import mlflow

    mlflow.set_tracking_uri(os.environ["MLFLOW_TRACKING_URI"])

    nb = copy_nb("helpers.ipynb", isolated / "work")
    run_id = _log_tracked_run(nb)
    events: list[Any] = []
    result = productionize(run_id=run_id, out=isolated / "from-run", progress=events.append)
    assert result.ok and result.checks[0].detail.startswith("identical on 111 held-out rows")
    assert events[0].step == "source" and "model `reg`" in events[1].message
    metadata = json.loads((result.service_dir / "model" / "metadata.json").read_text())
    assert metadata["run_id"] == run_id
    assert result.input_columns[:3] == ["age", "sex", "bmi"]
    # the snapshot ran next to the original notebook (relative data paths), then went away
    assert not list(nb.parent.glob(".mlops-nb-snapshot-*"))

    version = mlflow.register_model(f"runs:/{run_id}/reg", "diabetes")
    mlflow.MlflowClient().set_registered_model_alias("diabetes", "champion", version.version)
    by_alias = productionize(model_uri="models:/diabetes@champion", out=isolated / "from-alias")
    assert by_alias.ok
    metadata = json.loads((by_alias.service_dir / "model" / "metadata.json").read_text())
    assert metadata["model_uri"] == "models:/diabetes@champion"
    # what the service's /metadata shows for a registered model
    assert (
        metadata["registered_model"],
        str(metadata["registered_version"]),
        metadata["registered_alias"],
    ) == ("diabetes", str(version.version), "champion")


def test_run_without_notebook_snapshot_fails_clearly(isolated: Path) -> None:
    import os

    import mlflow

    client = mlflow.MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    run = client.create_run(client.create_experiment("no-notebook"))
    client.log_param(run.info.run_id, "x", 1)
    client.set_terminated(run.info.run_id)
    with pytest.raises(SourceError, match="no notebook snapshot"):
        productionize(run_id=run.info.run_id, out=isolated / "svc")
    assert not (isolated / "svc").exists()


def test_from_a_real_track_run(isolated: Path) -> None:
    """A notebook whose training cell is %%track, run in a real kernel, then --run on that run."""
    import os

    import mlflow
    import nbformat
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell("%load_ext mlops_nb"),
            new_code_cell(
                "from sklearn.datasets import load_wine\n"
                "from sklearn.tree import DecisionTreeClassifier\n"
                "X, y = load_wine(return_X_y=True, as_frame=True)"
            ),
            new_code_cell(
                "%%track --experiment wine\n"
                "tree = DecisionTreeClassifier(max_depth=3, random_state=0)\n"
                "tree.fit(X, y)"
            ),
            new_code_cell("import mlops_nb\nassert mlops_nb.flush(120)"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = isolated / "wine_tracked.ipynb"
    nbformat.write(nb, path)
    env = {**os.environ, "MLOPS_NB_NOTEBOOK_PATH": str(path)}
    client = NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(isolated)}}
    )
    client.execute(env=env)
    nbformat.write(nb, path)
    tracking = mlflow.MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    runs = tracking.search_runs([tracking.get_experiment_by_name("wine").experiment_id])
    assert len(runs) == 1
    result = productionize(run_id=runs[0].info.run_id, out=isolated / "svc")
    assert result.ok and result.model_var == "tree"
    assert result.checks[0].detail.startswith("identical on 178 training rows"), result.checks[
        0
    ].detail
    assert len(result.input_columns) == 13
