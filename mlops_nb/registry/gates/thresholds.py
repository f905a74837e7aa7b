"""``--require 'accuracy>=0.9'``: thresholds on the candidate run's logged metrics."""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from mlops_nb.registry.constants import Gate, GateStatus
from mlops_nb.registry.errors import PromotionUsageError
from mlops_nb.registry.result import GateResult

OPERATORS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_PATTERN = re.compile(r"^\s*([A-Za-z0-9_./\- ]+?)\s*(>=|<=|==|>|<)\s*([-+0-9.eE]+|inf|-inf)\s*$")


@dataclass(frozen=True)
class Requirement:
    metric: str
    op: str
    value: float

    def __str__(self) -> str:
        return f"{self.metric} {self.op} {self.value:g}"


def parse_requirement(text: str) -> Requirement:
    """``'accuracy>=0.9'`` → Requirement; a malformed one is a usage error (exit 2)."""
    match = _PATTERN.match(text)
    if not match:
        raise PromotionUsageError(
            f"--require {text!r} is not METRIC OP NUMBER (OP one of >=, >, <=, <, ==), e.g. "
            "--require 'accuracy>=0.9'"
        )
    try:
        value = float(match[3])
    except ValueError:
        raise PromotionUsageError(f"--require {text!r}: {match[3]!r} is not a number") from None
    return Requirement(match[1].strip(), match[2], value)


def check(requirements: list[Requirement], metrics: Mapping[str, float]) -> list[GateResult]:
    """One result per requirement; a metric the run did not log fails its requirement."""
    results = []
    for req in requirements:
        value = metrics.get(req.metric)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            logged = ", ".join(sorted(metrics)) or "none"
            results.append(
                GateResult(
                    Gate.THRESHOLD.value,
                    GateStatus.FAILED,
                    f"{req}: the run logged no metric {req.metric!r} (logged: {logged})",
                    metric=req.metric,
                    threshold=req.value,
                    details={"op": req.op},
                )
            )
            continue
        ok = OPERATORS[req.op](float(value), req.value)
        results.append(
            GateResult(
                Gate.THRESHOLD.value,
                GateStatus.PASSED if ok else GateStatus.FAILED,
                f"{req.metric} = {value:.6g}, required {req.op} {req.value:g}",
                metric=req.metric,
                value=float(value),
                threshold=req.value,
                details={"op": req.op},
            )
        )
    return results
