"""Fidelity: when a service productionized from the candidate exists, the verdict of its
fidelity check (``train.py`` in a fresh process reproducing the notebook's model), read from the
service's ``model/metadata.json`` (served at ``/metadata``)."""

from __future__ import annotations

from typing import Any

from mlops_nb.registry.constants import Gate, GateStatus
from mlops_nb.registry.result import GateResult

#: the metadata field productionize writes: {"passed": bool, "detail": str}
FIELD = "fidelity"


def serves_candidate(metadata: dict[str, Any], run_id: str | None, name: str, version: str) -> bool:
    if run_id and metadata.get("run_id") == run_id:
        return True
    return (
        metadata.get("registered_model") == name
        and str(metadata.get("registered_version")) == version
    )


def check(
    metadata: dict[str, Any] | None, where: str | None, run_id: str | None, name: str, version: str
) -> GateResult:
    gate = Gate.FIDELITY.value
    if metadata is None:
        return GateResult(
            gate,
            GateStatus.SKIPPED,
            "no productionized service given (--service URL or --service-dir DIR)",
        )
    if not serves_candidate(metadata, run_id, name, version):
        serves = metadata.get("run_id") or metadata.get("model_uri") or "another model"
        return GateResult(
            gate,
            GateStatus.SKIPPED,
            f"{where} serves {serves}, not the candidate (run {run_id}): no service for it",
            details={"service": where},
        )
    verdict = metadata.get(FIELD)
    if isinstance(verdict, bool):
        verdict = {"passed": verdict, "detail": ""}
    if not isinstance(verdict, dict) or "passed" not in verdict:
        return GateResult(
            gate,
            GateStatus.SKIPPED,
            f"{where} serves the candidate but its metadata.json records no fidelity verdict",
            details={"service": where},
        )
    passed = bool(verdict["passed"])
    detail = str(verdict.get("detail") or "")
    return GateResult(
        gate,
        GateStatus.PASSED if passed else GateStatus.FAILED,
        f"{'passed' if passed else 'FAILED'} in {where}" + (f": {detail}" if detail else ""),
        value=1.0 if passed else 0.0,
        threshold=1.0,
        details={"service": where, **verdict},
    )
