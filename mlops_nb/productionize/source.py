"""Where the notebook and the notebook's model come from: a notebook file, a tracked run
(``--run RUN_ID``) or the registry (``--model models:/name@alias``).

Runs made by ``%%track`` hold the model under the variable's name, the notebook snapshot at
``notebook/<name>.ipynb`` and the tag ``mlops_nb.notebook`` (the notebook's absolute path, whose
folder is where relative data paths resolve).
"""

from __future__ import annotations

import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import ConfigError, MlopsNbError


class SourceError(MlopsNbError):
    """The run or model cannot be used (the message says what is missing)."""


@dataclass
class Source:
    notebook: Path  # the notebook whose code is extracted (a snapshot for runs)
    model_var: str | None
    run_id: str | None = None
    model_uri: str | None = None
    notebook_model: Path | None = None  # pickled model from MLflow; None: run the notebook
    temporary_copy: bool = False  # ``notebook`` is a snapshot copy to delete afterwards


def _mlflow() -> Any:
    import mlflow

    from mlops_nb.config import get_settings

    mlflow.set_tracking_uri(get_settings().tracking_uri)
    return mlflow


def from_run(
    run_id: str | None, model_uri: str | None, scratch: Path, model_var: str | None = None
) -> Source:
    mlflow = _mlflow()
    client = mlflow.MlflowClient()
    model_name = None
    if model_uri is not None:
        if not model_uri.startswith("models:/"):
            raise ConfigError(
                f"--model expects models:/name@alias or models:/name/version, got {model_uri}"
            )
        try:
            info = mlflow.models.get_model_info(model_uri)
        except Exception as exc:
            raise SourceError(f"cannot resolve {model_uri}: {exc}") from None
        run_id = info.run_id
        model_name = getattr(info, "name", None)
        if not run_id:
            raise SourceError(
                f"{model_uri} is not linked to a run, so there is no notebook to extract"
            )
    assert run_id is not None
    try:
        run = client.get_run(run_id)
    except Exception as exc:
        raise SourceError(f"no run {run_id} in {mlflow.get_tracking_uri()}: {exc}") from None
    original = run.data.tags.get("mlops_nb.notebook")
    snapshot = _download_notebook(client, run_id, scratch)
    if model_name is None:
        model_name = model_var or _logged_model_name(client, run)
    uri = model_uri or f"runs:/{run_id}/{model_name}"
    model_path = scratch / "notebook_model.pkl"
    try:
        model = mlflow.sklearn.load_model(uri)
    except Exception as exc:
        raise SourceError(
            f"cannot load {uri} as a scikit-learn model ({exc}); productionize serves scikit-learn "
            "compatible models"
        ) from None
    from mlops_nb.productionize.supported import check, describe

    check(describe(model), str(model_name))
    model_path.write_bytes(_pickle(model))
    notebook, temporary = snapshot, False
    if original and Path(original).parent.is_dir():
        # run next to the original so relative data paths resolve as they did
        notebook = Path(original).parent / f".mlops-nb-snapshot-{run_id[:8]}.ipynb"
        shutil.copyfile(snapshot, notebook)
        temporary = True
    return Source(
        notebook,
        model_name,
        run_id=run_id,
        model_uri=model_uri,
        notebook_model=model_path,
        temporary_copy=temporary,
    )


def _pickle(model: object) -> bytes:
    try:
        return pickle.dumps(model, protocol=5)
    except (pickle.PicklingError, AttributeError, TypeError):
        import cloudpickle

        return bytes(cloudpickle.dumps(model, protocol=5))


def _download_notebook(client: object, run_id: str, scratch: Path) -> Path:
    artifacts = client.list_artifacts(run_id, "notebook")  # type: ignore[attr-defined]
    notebooks = [a.path for a in artifacts if a.path.endswith(".ipynb")]
    if not notebooks:
        raise SourceError(
            f"run {run_id} has no notebook snapshot (artifact notebook/<name>.ipynb); runs made "
            "by %%track have one, or pass the notebook path instead"
        )
    local = client.download_artifacts(run_id, notebooks[0], str(scratch))  # type: ignore[attr-defined]
    return Path(local)


def _logged_model_name(client: object, run: object) -> str:
    mlflow = _mlflow()
    try:
        models = mlflow.search_logged_models(
            experiment_ids=[run.info.experiment_id],  # type: ignore[attr-defined]
            filter_string=f"source_run_id = '{run.info.run_id}'",  # type: ignore[attr-defined]
            output_format="list",
        )
    except Exception:
        models = []
    names = sorted({m.name for m in models})
    if len(names) == 1:
        return names[0]
    if not names:
        raise SourceError(f"run {run.info.run_id} has no logged model")  # type: ignore[attr-defined]
    raise SourceError(
        f"run {run.info.run_id} logged several models ({', '.join(names)}); pass "  # type: ignore[attr-defined]
        "--model models:/... or --model-var"
    )
