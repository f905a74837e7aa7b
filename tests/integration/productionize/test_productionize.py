"""productionize() end to end without Docker: real kernel, train.py in a fresh process, the
generated service's own tests, the CLI's exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from mlops_nb.cli import main
from mlops_nb.productionize.api import FidelityError, productionize

pytestmark = pytest.mark.integration


def test_helpers_notebook_gets_shared_feature_code(made: dict[str, Any]) -> None:
    result = made["helpers"]["result"]
    assert result.ok
    assert [c.name for c in result.checks] == ["fidelity"]
    detail = result.checks[0].detail
    assert detail.startswith("identical on 111 held-out rows: features, answers"), detail
    assert result.takes_raw_columns
    assert result.features_py is not None and result.features_py.exists()
    # the API takes the raw diabetes columns, not the derived ones
    assert result.input_columns == ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]
    service = result.service_dir
    for part in (
        "app/main.py",
        "Dockerfile",
        "requirements.txt",
        "model/model.pkl",
        "model/features.pkl",
        "features.py",
        "feature_runtime.py",
        "model/reference.csv",
        "k8s/deployment.yaml",
        "tests/test_service.py",
        "README.md",
    ):
        assert (service / part).exists(), part
    metadata = json.loads((service / "model" / "metadata.json").read_text())
    assert metadata["model_var"] == "reg" and set(metadata["training_metrics"]) == {
        "r2",
        "mae",
        "rmse",
    }
    # metrics come from the notebook's held-out rows, never the training rows
    assert metadata["metrics_evaluated_on"].startswith("111 held-out rows")
    assert metadata["filled_columns"] == []  # the bunch's target is not a request column


def test_progress_is_reported_step_by_step(made: dict[str, Any]) -> None:
    events = made["parameters"]["events"]
    done = [e.step for e in events if e.status == "done"]
    assert done == ["extract", "features", "notebook", "fidelity", "render"]
    assert all(e.status != "fail" for e in events)
    assert [e.elapsed for e in events] == sorted(e.elapsed for e in events)


def test_requirements_pin_only_what_the_service_imports(made: dict[str, Any]) -> None:
    service = made["parameters"]["result"].service_dir
    reqs = (service / "requirements.txt").read_text()
    names = {line.split("==")[0] for line in reqs.splitlines() if "==" in line}
    assert {"numpy", "fastapi", "uvicorn"} <= names
    assert not names & {"mlops-nb", "mlflow", "matplotlib", "evidently", "jupyter", "rich"}
    described = json.loads((service / "model" / "engine.json").read_text())
    engine = described["engine"]
    # pandas only where the service runs the feature code (not when ONNX reads the request)
    assert ("pandas" in names) == (engine != "onnx" or not described.get("passthrough"))
    if engine == "onnx":
        # features.py imports the data source and the split only at training: no scikit-learn
        assert "onnxruntime" in names and "scikit-learn" not in names
    else:
        import sklearn

        assert f"scikit-learn=={sklearn.__version__}" in reqs


def test_train_py_retrains_with_flags(made: dict[str, Any], tmp_path: Path) -> None:
    made_params = made["parameters"]
    service = made_params["result"].service_dir
    run = subprocess.run(
        [sys.executable, "train.py", "--C", "0.01", "--out", str(tmp_path / "o")],
        cwd=service,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "o" / "metrics.json").read_text())
    assert 0 < report["metrics"]["accuracy"] <= 1
    assert report["evaluated_on"].startswith("45 held-out rows")
    assert (tmp_path / "o" / "model.pkl").stat().st_size > 0
    reference = (tmp_path / "o" / "reference.csv").read_text().splitlines()
    assert reference[0].split(",")[-1] == "region" and "label" not in reference[0]


def test_generated_service_tests_pass(made: dict[str, Any]) -> None:
    for name in ("helpers", "parameters"):
        service = made[name]["result"].service_dir
        run = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
            cwd=service,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert run.returncode == 0, run.stdout[-3000:]
        assert "8 passed" in run.stdout


def test_generated_code_is_ruff_clean(made: dict[str, Any]) -> None:
    service = made["helpers"]["result"].service_dir
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "ruff",
            "check",
            "--isolated",
            "--select",
            "E9,F",
            "--line-length",
            "120",
            str(service),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout


def test_unseeded_training_is_not_called_reproducible(tmp_path: Path, copy_nb: Any) -> None:
    nb = copy_nb("unseeded.ipynb", tmp_path)
    with pytest.raises(FidelityError) as failure:
        productionize(nb, out=tmp_path / "svc")
    message = str(failure.value)
    assert "not reproducible" in message and "RandomForestRegressor (cell 2, line 1)" in message
    assert "training rows drawn across the data" in message
    result = productionize(nb, out=tmp_path / "svc", seed=3)
    assert result.ok and result.checks[0].detail.startswith("identical on ")
    assert "random_state=3" in (result.service_dir / "train.py").read_text()


def test_fidelity_mismatch_fails_and_names_the_cell(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    nb = new_notebook(
        cells=[
            new_code_cell(
                "import numpy as np\nfrom sklearn.datasets import load_diabetes\n"
                "from sklearn.linear_model import LinearRegression"
            ),
            new_code_cell("X, y = load_diabetes(return_X_y=True, as_frame=True)"),
            new_code_cell("y = y + np.random.rand(len(y)) * 50"),
            new_code_cell("lin = LinearRegression().fit(X, y)"),
        ]
    )
    path = tmp_path / "noisy.ipynb"
    nbformat.write(nb, path)
    out = tmp_path / "svc"
    with pytest.raises(
        FidelityError, match=r"likely cause: cell 3: `rand\(\.\.\.\)` draws unseeded random numbers"
    ):
        productionize(path, out=out)
    assert not out.exists()
    assert main(["productionize", str(path), "--out", str(out)]) == 1
    assert main(["productionize", str(path), "--out", str(out), "--no-fidelity"]) == 0


def test_cli_usage_errors_exit_2_before_writing(tmp_path: Path, copy_nb: Any) -> None:
    nb = copy_nb("no_model.ipynb", tmp_path)
    out = tmp_path / "svc"
    assert main(["productionize", str(nb), "--out", str(out)]) == 2
    assert not out.exists()
    assert main(["productionize", "--out", str(out)]) == 2  # no source at all
    existing = tmp_path / "taken"
    existing.mkdir()
    (existing / "keep.txt").write_text("mine")
    ok_nb = copy_nb("tagged.ipynb", tmp_path)
    assert main(["productionize", str(ok_nb), "--out", str(existing), "--force"]) == 2
    assert (existing / "keep.txt").read_text() == "mine"


def test_a_notebook_that_fails_to_run_names_the_cell(tmp_path: Path) -> None:
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    from mlops_nb.exceptions import ExecutionError

    nb = new_notebook(
        cells=[
            new_code_cell(
                "from sklearn.datasets import load_iris\n"
                "from sklearn.linear_model import LogisticRegression"
            ),
            new_code_cell(
                "X, y = load_iris(return_X_y=True)\nraise RuntimeError('data not ready')"
            ),
            new_code_cell("clf = LogisticRegression(max_iter=300).fit(X, y)"),
        ]
    )
    path = tmp_path / "broken.ipynb"
    nbformat.write(nb, path)
    with pytest.raises(ExecutionError, match=r"cell 2 failed .*RuntimeError: data not ready"):
        productionize(path, out=tmp_path / "svc")
    assert not (tmp_path / "svc").exists()
