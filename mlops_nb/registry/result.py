"""What a promotion returns and records: one entry per gate, the decision, and how to show it."""

from __future__ import annotations

import dataclasses
from typing import Any

from mlops_nb.registry.constants import GateStatus


@dataclasses.dataclass(frozen=True)
class GateResult:
    """One gate's verdict: what was measured, against what, and why it passed or failed."""

    gate: str  # "threshold", "no_regression", "drift", "fidelity"
    status: GateStatus
    summary: str  # one line a person reads: "accuracy 0.953 >= 0.9"
    metric: str | None = None
    value: float | None = None  # the measured value (the candidate's score, the drift share)
    threshold: float | None = None  # the bound it was held to (or the alias holder's score)
    details: dict[str, Any] = dataclasses.field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status is not GateStatus.FAILED

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["status"] = self.status.value
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GateResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["status"] = GateStatus(values["status"])
        return cls(**values)


@dataclasses.dataclass(frozen=True)
class PromotionResult:
    """The decision of one promotion (returned by :func:`mlops_nb.promote`, stored on the version).

    ``passed`` says whether every gate passed; ``moved`` whether the alias now points at
    ``version`` (every gate passed, or ``forced`` with a ``reason``).
    """

    name: str
    version: str
    alias: str
    passed: bool
    moved: bool
    gates: list[GateResult]
    previous_version: str | None  # the alias holder before the decision
    source: str  # what was promoted: a run id or a models:/ URI
    run_id: str | None
    model_uri: str  # models:/NAME/VERSION
    registered: bool  # True when this promotion created the version (False: reused)
    forced: bool = False
    reason: str | None = None
    decided_by: str = ""
    decided_at: str = ""  # ISO 8601, UTC
    tracking_uri: str = ""
    card_uri: str | None = None
    decision_uri: str | None = None

    @property
    def failed_gates(self) -> list[GateResult]:
        return [g for g in self.gates if g.status is GateStatus.FAILED]

    @property
    def exit_code(self) -> int:
        """0 when the alias moved (or stayed on this version), 1 when a gate blocked it."""
        return 0 if self.moved else 1

    def as_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["gates"] = [g.as_dict() for g in self.gates]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PromotionResult:
        fields = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in fields}
        values["gates"] = [GateResult.from_dict(g) for g in data.get("gates", [])]
        return cls(**values)

    def text(self) -> str:
        """The decision for a terminal: one line per gate, ✓ only for what was checked."""
        marks = {GateStatus.PASSED: "✓", GateStatus.FAILED: "✗", GateStatus.SKIPPED: "-"}
        head = f"{self.name} version {self.version} ({self.source})"
        lines = [head + (" registered" if self.registered else " already registered")]
        for gate in self.gates:
            lines.append(f"  {marks[gate.status]} {gate.gate}: {gate.summary}")
        if not self.gates:
            lines.append(
                "  - no gates were asked for (--require, --no-regression, --max-drift-share)"
            )
        lines.append(self.verdict())
        return "\n".join(lines)

    def verdict(self) -> str:
        before = f"version {self.previous_version}" if self.previous_version else "no version"
        if self.moved and self.forced and not self.passed:
            failed = ", ".join(g.gate for g in self.failed_gates)
            return (
                f"FORCED: @{self.alias} moved from {before} to version {self.version} although "
                f"{failed} failed (reason: {self.reason})"
            )
        if self.moved and self.previous_version == self.version:
            return f"@{self.alias} already pointed at version {self.version}; kept"
        if self.moved:
            return f"PROMOTED: @{self.alias} moved from {before} to version {self.version}"
        failed = ", ".join(g.gate for g in self.failed_gates)
        return (
            f"NOT PROMOTED: {failed} failed; @{self.alias} stays on {before} "
            "(--force --reason TEXT overrides, and is recorded)"
        )

    def _repr_markdown_(self) -> str:
        marks = {GateStatus.PASSED: "✓", GateStatus.FAILED: "✗", GateStatus.SKIPPED: "-"}
        rows = [
            f"| {marks[g.status]} | {g.gate} | {g.summary.replace('|', '/')} |" for g in self.gates
        ]
        table = "| | gate | result |\n|---|---|---|\n" + "\n".join(rows) if rows else ""
        return f"**{self.name}** version {self.version}: {self.verdict()}\n\n{table}"
