"""``model_files`` reads the scikit-learn models MLflow saves without MLflow: the same predictions
as ``mlflow.pyfunc`` on every case it takes, and :class:`NotDirect` (MLflow loads it) on the rest.
These tests save real models with MLflow: they fail when MLflow changes what it writes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from mlops_nb.registry.errors import RegistryError  # noqa: E402
from mlops_nb.registry.gates import model_files  # noqa: E402
from mlops_nb.registry.gates.scorer import ModelSource, score_model  # noqa: E402


def _data(rows: int = 200) -> tuple[Any, Any]:
    rng = np.random.default_rng(0)
    x = pd.DataFrame(rng.normal(size=(rows, 4)), columns=["a", "b", "c", "d"])
    y = (x["a"] + 0.5 * x["b"] - x["d"] > 0).astype(int)
    return x, y


def _save(folder: Path, fmt: str, **kwargs: Any) -> str:
    import mlflow.sklearn
    from mlflow.models import infer_signature
    from sklearn.linear_model import LogisticRegression

    x, y = _data()
    model = LogisticRegression().fit(x, y)
    kwargs.setdefault("signature", infer_signature(x.head(5), model.predict(x.head(5))))
    kwargs.setdefault("pip_requirements", ["scikit-learn"])  # no inference in a subprocess
    path = folder / fmt
    mlflow.sklearn.save_model(model, str(path), serialization_format=fmt, **kwargs)
    return str(path)


@pytest.fixture(scope="module")
def saved(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("models")
    return {fmt: _save(root, fmt) for fmt in ("skops", "cloudpickle", "pickle")}


def _pyfunc(path: str, x: Any) -> Any:
    import mlflow.pyfunc

    return mlflow.pyfunc.load_model(path, suppress_warnings=True).predict(x)


@pytest.mark.parametrize("fmt", ["skops", "cloudpickle", "pickle"])
def test_loaded_without_mlflow_predicts_what_pyfunc_predicts(saved: dict[str, str], fmt: str):
    x, _ = _data()
    direct = model_files.load(saved[fmt])  # MLflow's fields as this module reads them
    assert direct.predict_fn == "predict" and [c[0] for c in direct.columns or ()] == list("abcd")
    np.testing.assert_array_equal(direct.predict(x), _pyfunc(saved[fmt], x))


def test_columns_are_selected_and_ordered_as_mlflow_does(saved: dict[str, str]) -> None:
    x, _ = _data()
    shuffled = x[["d", "b", "a", "c"]].assign(extra=1.0)  # MLflow reorders and drops "extra"
    direct = model_files.load(saved["skops"])
    assert list(direct.model_input(shuffled).columns) == list("abcd")
    np.testing.assert_array_equal(direct.predict(shuffled), _pyfunc(saved["skops"], shuffled))


def test_what_mlflow_would_convert_or_refuse_is_left_to_mlflow(saved: dict[str, str]) -> None:
    x, y = _data()
    direct = model_files.load(saved["cloudpickle"])
    as_int = x.assign(a=(x["a"] * 10).astype("int32"))  # MLflow converts int32 -> double
    as_long = x.assign(a=(x["a"] * 10).astype("int64"))  # ... and refuses int64 -> double
    for frame in (as_int, as_long):
        with pytest.raises(model_files.NotDirect, match="converted"):
            direct.model_input(frame)
    missing = x.drop(columns=["c"])
    with pytest.raises(model_files.NotDirect, match="missing"):
        direct.model_input(missing)
    # the scorer then loads it with MLflow: the same score as pyfunc's, or MLflow's own error
    source = ModelSource(saved["cloudpickle"], saved["cloudpickle"])
    expected = float((_pyfunc(saved["cloudpickle"], as_int) == y).mean())
    assert score_model(source, as_int, y, "accuracy", "sqlite:///unused.db") == expected
    with pytest.raises(RegistryError, match="Can not safely convert int64"):
        score_model(source, as_long, y, "accuracy", "sqlite:///unused.db")
    with pytest.raises(RegistryError, match=r"missing inputs \['c'\]"):
        score_model(source, missing, y, "accuracy", "sqlite:///unused.db")


def test_predict_fn_and_no_signature(tmp_path: Path) -> None:
    x, _ = _data()
    path = _save(tmp_path, "cloudpickle", signature=None, pyfunc_predict_fn="predict_proba")
    direct = model_files.load(path)
    assert direct.columns is None and direct.predict_fn == "predict_proba"
    np.testing.assert_allclose(direct.predict(x), _pyfunc(path, x))


def test_refused_deserialization_is_left_to_mlflow(
    saved: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MLFLOW_ALLOW_PICKLE_DESERIALIZATION", "false")
    with pytest.raises(model_files.NotDirect):
        model_files.load(saved["pickle"])


def test_local_dir_only_for_model_folders_on_this_machine(saved: dict[str, str], tmp_path: Path):
    folder = saved["skops"]
    assert model_files.local_dir(Path(folder).as_uri()) == folder
    assert model_files.local_dir(folder) == folder
    assert model_files.local_dir(str(tmp_path)) is None  # no MLmodel there
    assert model_files.local_dir("mlflow-artifacts:/1/models/m-1/artifacts") is None
    assert model_files.local_dir("s3://bucket/models/m-1") is None
    assert model_files.local_dir(None) is None
