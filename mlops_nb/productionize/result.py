"""What :func:`mlops_nb.productionize` reports: progress events and the final result.

Stable interface (the JupyterLab panel streams these): fields are only ever added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

Status = Literal["start", "done", "fail", "info"]


@dataclass(frozen=True)
class ProductionizeEvent:
    """One progress event: ``step`` (extract, features, notebook, fidelity, render, wheelhouse,
    build, smoke), ``status`` (start/done/fail/info), a human message, seconds since the start."""

    step: str
    status: Status
    message: str
    elapsed: float

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class ProductionizeResult:
    """What was made. ``ok`` is true when every check passed."""

    service_dir: Path
    train_py: Path
    features_py: Path | None
    image: str | None
    checks: list[Check]
    start_command: str
    input_columns: list[str]
    model_var: str
    takes_raw_columns: bool
    dropped: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    next_commands: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(check.passed for check in self.checks)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("service_dir", "train_py", "features_py"):
            data[key] = str(data[key]) if data[key] is not None else None
        data["ok"] = self.ok
        return data
