"""Files stored on a model version: under its logged model's artifacts (or, for a version made
from a path without one, its run's) at ``registry/<name>/v<version>/``."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from mlops_nb.registry.constants import ARTIFACT_ROOT
from mlops_nb.registry.errors import RegistryError
from mlops_nb.registry.source import model_id_of


def folder(name: str, version: str) -> str:
    return f"{ARTIFACT_ROOT}/{name}/v{version}"


def write(client: Any, mv: Any, files: dict[str, str]) -> str:
    """Write ``files`` (relative path → text) on the version; returns their folder's URI."""
    where = folder(mv.name, str(mv.version))
    with tempfile.TemporaryDirectory(prefix="mlops-nb-registry-") as tmp:
        for rel, text in files.items():
            path = Path(tmp) / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        model_id = model_id_of(mv)
        if model_id:
            client.log_model_artifacts(model_id, tmp, artifact_path=where)
            return f"models:/{model_id}/{where}"
        if mv.run_id:
            client.log_artifacts(mv.run_id, tmp, artifact_path=where)
            return f"runs:/{mv.run_id}/{where}"
    raise RegistryError(f"{mv.name} version {mv.version} has neither a logged model nor a run")


def read(client: Any, mv: Any, rel: str) -> str | None:
    """The text of ``rel`` stored on the version, or None when it is not there."""
    import mlflow.artifacts

    where = f"{folder(mv.name, str(mv.version))}/{rel}"
    model_id = model_id_of(mv)
    if model_id:
        base = client.get_logged_model(model_id).artifact_location
    elif mv.run_id:
        base = client.get_run(mv.run_id).info.artifact_uri
    else:
        return None
    with tempfile.TemporaryDirectory(prefix="mlops-nb-registry-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{base.rstrip('/')}/{where}",
                dst_path=tmp,
                tracking_uri=client.tracking_uri,
            )
        except Exception:  # absent (MLflow raises different errors per store)
            return None
        return Path(local).read_text(encoding="utf-8")
