"""Reading the registry: models, their versions (aliases, last decision), alias history, cards.
What ``mlops-nb models``, ``%mlops card`` and the panel's Models tab show."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mlops_nb.registry import artifacts, record
from mlops_nb.registry.constants import CARD_HTML, CARD_MD, TAG_GATES_PASSED
from mlops_nb.registry.errors import ModelNotFound
from mlops_nb.registry.result import PromotionResult
from mlops_nb.registry.source import all_versions, model_id_of, parse_models_uri


@dataclass(frozen=True)
class ModelSummary:
    name: str
    aliases: dict[str, str]  # alias -> version
    latest_version: str | None
    description: str
    updated: int  # ms since the epoch

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "aliases": self.aliases,
            "latest_version": self.latest_version,
            "description": self.description,
            "updated": self.updated,
        }


@dataclass(frozen=True)
class VersionSummary:
    version: str
    aliases: list[str]
    run_id: str | None
    model_id: str | None
    created: int
    gates_passed: bool | None  # None: never through mlops-nb promote
    last_decision: dict[str, Any] | None
    has_card: bool

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "aliases": self.aliases,
            "run_id": self.run_id,
            "model_id": self.model_id,
            "created": self.created,
            "gates_passed": self.gates_passed,
            "last_decision": self.last_decision,
            "has_card": self.has_card,
        }


def list_models(client: Any) -> list[ModelSummary]:
    out = []
    token = None
    while True:
        page = client.search_registered_models(max_results=1000, page_token=token)
        for rm in page:
            latest = max((int(v.version) for v in rm.latest_versions or []), default=None)
            out.append(
                ModelSummary(
                    name=rm.name,
                    aliases={a: str(v) for a, v in (rm.aliases or {}).items()},
                    latest_version=None if latest is None else str(latest),
                    description=rm.description or "",
                    updated=int(rm.last_updated_timestamp or 0),
                )
            )
        token = getattr(page, "token", None)
        if not token:
            return sorted(out, key=lambda m: m.name.lower())


def _require_model(client: Any, name: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_registered_model(name)
    except MlflowException:
        known = ", ".join(m.name for m in list_models(client)[:20]) or "none"
        raise ModelNotFound(
            f"no registered model {name!r} in {client.tracking_uri} (registered: {known})"
        ) from None


def versions(client: Any, name: str) -> list[VersionSummary]:
    model = _require_model(client, name)
    by_version: dict[str, list[str]] = {}
    for alias, version in (model.aliases or {}).items():  # searches do not fill mv.aliases
        by_version.setdefault(str(version), []).append(alias)
    out = []
    for mv in sorted(all_versions(client, name), key=lambda v: -int(v.version)):
        passed = (mv.tags or {}).get(TAG_GATES_PASSED)
        out.append(
            VersionSummary(
                version=str(mv.version),
                aliases=sorted(by_version.get(str(mv.version), [])),
                run_id=mv.run_id or None,
                model_id=model_id_of(mv),
                created=int(mv.creation_timestamp or 0),
                gates_passed=None if passed is None else passed == "true",
                last_decision=record.last_decision(mv),
                has_card="mlops_nb.card" in (mv.tags or {}),
            )
        )
    return out


def history(client: Any, name: str, *, attempts: bool = False) -> list[record.HistoryEntry]:
    """Alias moves made by mlops-nb, oldest first (``attempts=True``: refused ones too)."""
    _require_model(client, name)
    entries = record.decisions(all_versions(client, name))
    return entries if attempts else [e for e in entries if e.moved]


def version_for(client: Any, ref: str) -> Any:
    """``NAME@ALIAS``, ``NAME/VERSION``, ``NAME`` (latest) or a ``models:/`` URI → ModelVersion."""
    from mlflow.exceptions import MlflowException

    text = ref[len("models:/") :] if ref.startswith("models:/") else ref
    if "@" in text:
        name, version, alias = parse_models_uri(f"models:/{text}")
    elif "/" in text:
        name, _, version = text.rpartition("/")
        alias = None
    else:
        name, version, alias = text, None, None
    _require_model(client, name)
    try:
        if alias:
            return client.get_model_version_by_alias(name, alias)
        if version:
            return client.get_model_version(name, version)
    except MlflowException as exc:
        raise ModelNotFound(f"{ref}: {exc.message}") from None
    found = all_versions(client, name)
    if not found:
        raise ModelNotFound(f"registered model {name!r} has no versions")
    return max(found, key=lambda v: int(v.version))


@dataclass(frozen=True)
class CardText:
    name: str
    version: str
    aliases: list[str]
    markdown: str
    html: str

    def _repr_html_(self) -> str:
        return self.html

    def _repr_markdown_(self) -> str:
        return self.markdown

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "version": self.version,
            "aliases": self.aliases,
            "markdown": self.markdown,
            "html": self.html,
        }


def card(client: Any, ref: str) -> CardText:
    """The version's logged card; a version without one (registered outside mlops-nb) gets one
    written now, so every registered version has a card."""
    from mlops_nb._global_uri import tracking_uri

    with tracking_uri(client.tracking_uri):
        return _card(client, ref)


def _card(client: Any, ref: str) -> CardText:
    mv = version_for(client, ref)
    markdown = artifacts.read(client, mv, CARD_MD)
    html = artifacts.read(client, mv, CARD_HTML)
    if markdown is None or html is None:
        from mlops_nb.registry.api import write_card

        decision = _decision(client, mv)
        run = client.get_run(mv.run_id) if mv.run_id else None
        write_card(client, mv, run, decision)
        markdown = artifacts.read(client, mv, CARD_MD) or ""
        html = artifacts.read(client, mv, CARD_HTML) or ""
    return CardText(mv.name, str(mv.version), sorted(mv.aliases or []), markdown, html)


def _decision(client: Any, mv: Any) -> PromotionResult | None:
    import json

    last = record.last_decision(mv)
    if not last or not last.get("artifact"):
        return None
    rel = str(last["artifact"]).rsplit(f"v{mv.version}/", 1)[-1]
    text = artifacts.read(client, mv, rel)
    return PromotionResult.from_dict(json.loads(text)) if text else None
