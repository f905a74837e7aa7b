"""Every decision is stored on the model version: a compact JSON tag per decision (what history
reads) and the full decision as a JSON artifact. The alias history is read back from them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from mlops_nb.registry import artifacts
from mlops_nb.registry.constants import (
    DECISIONS_DIR,
    MAX_TAG_VALUE,
    TAG_DECISION_PREFIX,
    TAG_GATES_PASSED,
    TAG_LAST_DECISION,
    TAG_PRIMARY_METRIC,
)
from mlops_nb.registry.result import PromotionResult


def compact(result: PromotionResult) -> dict[str, Any]:
    """What the history needs, small enough for a tag."""
    return {
        "alias": result.alias,
        "from": result.previous_version,
        "to": result.version,
        "passed": result.passed,
        "moved": result.moved,
        "forced": result.forced,
        "reason": (result.reason or "")[:500] or None,
        "by": result.decided_by,
        "at": result.decided_at,
        "gates": [[g.gate, g.status.value, g.value, g.threshold] for g in result.gates],
    }


def _stamp(iso: str) -> str:
    return datetime.fromisoformat(iso).strftime("%Y%m%dT%H%M%S%fZ")


def store(client: Any, mv: Any, result: PromotionResult) -> str:
    """Tags and the JSON artifact on the version; returns the artifact's URI."""
    stamp = _stamp(result.decided_at)
    rel = f"{DECISIONS_DIR}/{stamp}.json"
    folder = artifacts.write(client, mv, {rel: json.dumps(result.as_dict(), indent=2)})
    uri = f"{folder}/{rel}"
    small = compact(result)
    small["artifact"] = uri
    text = json.dumps(small, separators=(",", ":"))
    if len(text) > MAX_TAG_VALUE:  # many gates: keep the verdict, the artifact has the rest
        small["gates"] = [[g[0], g[1]] for g in small["gates"]]
        text = json.dumps(small, separators=(",", ":"))[:MAX_TAG_VALUE]
    name, version = mv.name, str(mv.version)
    client.set_model_version_tag(name, version, TAG_DECISION_PREFIX + stamp, text)
    client.set_model_version_tag(name, version, TAG_LAST_DECISION, text)
    client.set_model_version_tag(name, version, TAG_GATES_PASSED, str(result.passed).lower())
    primary = next((g.metric for g in result.gates if g.gate == "no_regression" and g.metric), None)
    if primary:
        client.set_model_version_tag(name, version, TAG_PRIMARY_METRIC, primary)
    return uri


@dataclass(frozen=True)
class HistoryEntry:
    at: str
    alias: str
    from_version: str | None
    to_version: str
    moved: bool
    passed: bool
    forced: bool
    by: str
    reason: str | None
    failed_gates: list[str]

    def as_dict(self) -> dict[str, Any]:
        return {
            "at": self.at,
            "alias": self.alias,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "moved": self.moved,
            "passed": self.passed,
            "forced": self.forced,
            "by": self.by,
            "reason": self.reason,
            "failed_gates": self.failed_gates,
        }


def decisions(versions: list[Any]) -> list[HistoryEntry]:
    """Every decision recorded on these versions, oldest first."""
    entries = []
    for mv in versions:
        for key, value in (mv.tags or {}).items():
            if not key.startswith(TAG_DECISION_PREFIX):
                continue
            try:
                d = json.loads(value)
            except ValueError:
                continue
            entries.append(
                HistoryEntry(
                    at=d.get("at", ""),
                    alias=d.get("alias", ""),
                    from_version=d.get("from"),
                    to_version=str(d.get("to", mv.version)),
                    moved=bool(d.get("moved")),
                    passed=bool(d.get("passed")),
                    forced=bool(d.get("forced")),
                    by=d.get("by", ""),
                    reason=d.get("reason"),
                    failed_gates=[g[0] for g in d.get("gates", []) if g[1] == "failed"],
                )
            )
    return sorted(entries, key=lambda e: e.at)


def last_decision(mv: Any) -> dict[str, Any] | None:
    raw = (mv.tags or {}).get(TAG_LAST_DECISION)
    if not raw:
        return None
    try:
        data: dict[str, Any] = json.loads(raw)
    except ValueError:
        return None
    return data
