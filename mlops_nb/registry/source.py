"""What is promoted: a run (a ``%%track`` run, a pipeline step's run), a logged model or a
registered version, resolved to one logged model and registered once as a version of NAME.

Also :func:`resolve_model_uri`: ``models:/NAME@ALIAS`` → name, version and alias (what a service
built from a registered model reports in ``/metadata``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from mlops_nb.registry.constants import TAG_SOURCE_RUN
from mlops_nb.registry.errors import ModelNotFound, PromotionUsageError, RegistryError

_RUN_ID = re.compile(r"^[0-9a-f]{32}$")
_MODELS_URI = re.compile(r"^models:/(?P<name>[^/@]+)(?:/(?P<version>\d+)|@(?P<alias>[\w-]+))?$")


@dataclass(frozen=True)
class Candidate:
    """The logged model a promotion is about."""

    source: str  # as the user wrote it
    model_id: str  # the LoggedModel id (models:/<model_id>)
    model_name: str  # the LoggedModel's name (the notebook variable for %%track runs)
    run_id: str | None  # the run that logged it
    version: Any = None  # an existing ModelVersion of NAME, when SOURCE named one


@dataclass(frozen=True)
class ModelRef:
    """A registered model version as a ``models:/`` URI names it."""

    name: str
    version: str
    alias: str | None
    run_id: str | None
    model_id: str | None

    def as_metadata(self) -> dict[str, str | None]:
        """Fields for a service's ``/metadata``: registered name, version and alias."""
        return {
            "registered_model": self.name,
            "registered_version": self.version,
            "registered_alias": self.alias,
        }


def parse_models_uri(uri: str) -> tuple[str, str | None, str | None]:
    """``models:/NAME/VERSION`` or ``models:/NAME@ALIAS`` → (name, version, alias)."""
    match = _MODELS_URI.match(uri)
    if not match or (match["name"].startswith("m-") and not (match["version"] or match["alias"])):
        raise PromotionUsageError(f"{uri!r} is not models:/NAME/VERSION or models:/NAME@ALIAS")
    return match["name"], match["version"], match["alias"]


def resolve_model_uri(client: Any, uri: str) -> ModelRef:
    """``models:/NAME@ALIAS`` or ``models:/NAME/VERSION`` → the version it names today."""
    name, version, alias = parse_models_uri(uri)
    mv = _version(client, name, version, alias)
    return ModelRef(
        name=name,
        version=str(mv.version),
        alias=alias,
        run_id=mv.run_id or None,
        model_id=model_id_of(mv),
    )


def _version(client: Any, name: str, version: str | None, alias: str | None) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if version:
            return client.get_model_version(name, version)
    except MlflowException as exc:
        what = f"@{alias}" if alias else f"version {version}"
        raise ModelNotFound(f"no {what} of registered model {name!r}: {exc.message}") from None
    raise PromotionUsageError(f"models:/{name} names no version: use models:/{name}/VERSION")


def resolve_source(client: Any, source: str, name: str) -> Candidate:
    """A run id, ``runs:/RUN/MODEL``, ``models:/<model_id>``, ``models:/NAME/VERSION`` or
    ``models:/NAME@ALIAS`` → the one logged model it names."""
    source = source.strip()
    if source.startswith("models:/m-"):
        return _from_logged_model(client, source, source[len("models:/") :])
    if source.startswith("models:/"):
        src_name, version, alias = parse_models_uri(source)
        mv = _version(client, src_name, version, alias)
        model_id = model_id_of(mv)
        if not model_id:
            raise RegistryError(
                f"{source} (version {mv.version}) has no logged model (registered from a path "
                "with MLflow 2?); promote the run that logged it instead"
            )
        found = _from_logged_model(client, source, model_id)
        if src_name == name:
            return Candidate(source, found.model_id, found.model_name, found.run_id, mv)
        return found
    if source.startswith("runs:/"):
        run_id, _, artifact = source[len("runs:/") :].partition("/")
        return _from_run(client, source, run_id, artifact.strip("/") or None)
    if _RUN_ID.match(source):
        return _from_run(client, source, source, None)
    raise PromotionUsageError(
        f"cannot promote {source!r}: give a run id (32 hex digits, from %%track or a pipeline "
        "step), runs:/RUN_ID/MODEL, models:/NAME/VERSION or models:/NAME@ALIAS"
    )


def _from_logged_model(client: Any, source: str, model_id: str) -> Candidate:
    from mlflow.exceptions import MlflowException

    try:
        model = client.get_logged_model(model_id)
    except MlflowException as exc:
        raise ModelNotFound(f"no logged model {model_id}: {exc.message}") from None
    return Candidate(source, model.model_id, model.name, model.source_run_id or None)


def _from_run(client: Any, source: str, run_id: str, artifact: str | None) -> Candidate:
    from mlflow.exceptions import MlflowException

    try:
        run = client.get_run(run_id)
    except MlflowException as exc:
        raise ModelNotFound(
            f"no run {run_id} in {client.tracking_uri}: {exc.message}; is MLFLOW_TRACKING_URI "
            "the store the run was logged to?"
        ) from None
    experiment = run.info.experiment_id
    models = _logged_models(client, experiment, [run_id])
    if not models:  # a pipeline step's run: its %%track cells are child runs
        children = client.search_runs(
            [experiment], filter_string=f"tags.mlflow.parentRunId = '{run_id}'", max_results=200
        )
        models = _logged_models(client, experiment, [c.info.run_id for c in children])
    if artifact is not None:
        models = [m for m in models if m.name == artifact]
    if not models:
        what = f"no model named {artifact!r}" if artifact else "no model"
        raise PromotionUsageError(
            f"run {run_id} logged {what} (nor did its child runs); %%track logs the "
            "estimators fitted in the cell unless --no-model was given"
        )
    if len(models) > 1:
        names = ", ".join(sorted(f"runs:/{m.source_run_id}/{m.name}" for m in models))
        raise PromotionUsageError(f"run {run_id} logged several models; promote one of: {names}")
    model = models[0]
    return Candidate(source, model.model_id, model.name, model.source_run_id or run_id)


def _logged_models(client: Any, experiment: str, run_ids: list[str]) -> list[Any]:
    from mlflow.entities import LoggedModelStatus

    found = []
    for run_id in run_ids:
        for model in client.search_logged_models(
            experiment_ids=[experiment], filter_string=f"source_run_id = '{run_id}'"
        ):
            if model.status == LoggedModelStatus.READY:
                found.append(model)
    return found


def register(client: Any, candidate: Candidate, name: str) -> tuple[Any, bool]:
    """The version of NAME holding the candidate's model: reused when one exists (promoting the
    same run twice gives the same version), else created. Returns (ModelVersion, created)."""
    from mlflow.exceptions import MlflowException

    if candidate.version is not None:
        return candidate.version, False
    existing = find_version(client, name, candidate.model_id)
    if existing is not None:
        return existing, False
    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise RegistryError(f"cannot create registered model {name!r}: {exc.message}") from None
    tags = {TAG_SOURCE_RUN: candidate.run_id} if candidate.run_id else None
    try:
        mv = client.create_model_version(
            name,
            source=f"models:/{candidate.model_id}",
            run_id=candidate.run_id,
            tags=tags,
            model_id=candidate.model_id,
        )
    except MlflowException as exc:
        raise RegistryError(
            f"cannot register {candidate.source} as {name!r}: {exc.message}"
        ) from None
    return mv, True


def model_id_of(mv: Any) -> str | None:
    """The logged model of a version: its ``model_id``, else its ``models:/m-...`` source (the
    sqlite store does not always fill ``model_id`` in)."""
    model_id = getattr(mv, "model_id", None)
    if model_id:
        return str(model_id)
    source = getattr(mv, "source", None) or ""
    if source.startswith("models:/m-") and "/" not in source[len("models:/") :]:
        return source[len("models:/") :]
    return None


def find_version(client: Any, name: str, model_id: str) -> Any:
    """The oldest version of ``name`` made from logged model ``model_id``, or None."""
    matches = [v for v in all_versions(client, name) if model_id_of(v) == model_id]
    return min(matches, key=lambda v: int(v.version)) if matches else None


def all_versions(client: Any, name: str) -> list[Any]:
    """Every version of a registered model (paged; empty when the model does not exist)."""
    versions: list[Any] = []
    token = None
    escaped = name.replace("'", "\\'")
    while True:
        page = client.search_model_versions(
            f"name = '{escaped}'", max_results=1000, page_token=token
        )
        versions.extend(page)
        token = getattr(page, "token", None)
        if not token:
            return versions
