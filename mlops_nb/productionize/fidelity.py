"""The fidelity check: ``train.py`` in a fresh process must reproduce the notebook's model.

Predictions on the input example must be equal (floats within a relative 1e-9); when training is
not deterministic (an estimator with ``random_state=None``), the evaluation metrics must agree
within :data:`METRIC_TOLERANCE` (relative, per metric) instead. A mismatch names the cell
that is the likely cause.
"""

from __future__ import annotations

import ast
import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import MlopsNbError
from mlops_nb.productionize.extract import Extraction

#: relative tolerance on each evaluation metric when training is not deterministic
METRIC_TOLERANCE = 0.10
_PROBE = Path(__file__).with_name("fidelity_probe.py")
_RANDOM_CALLS = {"train_test_split", "shuffle", "sample", "permutation", "rand", "randn", "choice"}


class FidelityError(MlopsNbError):
    """train.py does not reproduce the notebook's model."""


@dataclass
class FidelityReport:
    passed: bool
    detail: str
    probe: dict[str, Any]


def start_probe(
    python: str, service: Path, notebook_model: Path, out: Path, train_args: list[str], cwd: Path
) -> subprocess.Popen[str]:
    """Start train.py through the probe in a fresh interpreter. It retrains at once and waits for
    ``notebook_model`` to appear (the kernel may still be running the notebook)."""
    cmd = [
        python,
        str(_PROBE),
        "--service",
        str(service),
        "--notebook-model",
        str(notebook_model),
        "--out",
        str(out),
        "--",
        *train_args,
    ]
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def collect_probe(
    proc: subprocess.Popen[str], service: Path, cwd: Path, python: str
) -> dict[str, Any]:
    """Wait for the probe; its JSON report, or a FidelityError with train.py's traceback."""
    stdout, stderr = proc.communicate(timeout=1800)
    for line in stdout.splitlines():
        if line.startswith("FIDELITY-REPORT "):
            return dict(json.loads(line[len("FIDELITY-REPORT ") :]))
    tail = "\n".join((stderr or stdout).strip().splitlines()[-12:])
    raise FidelityError(
        f"train.py failed in a fresh process (exit {proc.returncode}):\n{tail}\n"
        f"Run it yourself to debug: cd {cwd} && {python} {service / 'train.py'} --out /tmp/out"
    )


def _likely_cause(ex: Extraction, unseeded: list[str]) -> str:
    for stmt in ex.statements:
        for call in (n for n in ast.walk(stmt.node) if isinstance(n, ast.Call)):
            name = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
            seeded = any(k.arg in {"random_state", "seed"} for k in call.keywords)
            if name in _RANDOM_CALLS and not seeded:
                return f"cell {stmt.cell.number} (`{name}(...)` without a random_state)"
    if unseeded:
        return (
            f"cell {ex.fit.stmt.cell.number} (the estimator has {', '.join(unseeded)}=None; set "
            "random_state)"
        )
    return (
        f"cell {ex.fit.stmt.cell.number} (where `{ex.model_var}` is fitted): the notebook's state "
        "differs from a top-to-bottom run (cells run out of order, or data changed)"
    )


def judge(ex: Extraction, probe: dict[str, Any]) -> FidelityReport:
    """Pass/fail with an explanation a user can act on."""
    if probe["equal"]:
        return FidelityReport(True, "train.py reproduces the notebook's predictions exactly", probe)
    unseeded = probe.get("unseeded") or []
    ours, theirs = probe["metrics"], probe["notebook_metrics"]
    if unseeded:
        gaps = {
            k: abs(ours[k] - theirs[k]) / max(abs(ours[k]), abs(theirs[k]), 1e-12)
            for k in ours
            if k in theirs
        }
        worst = max(gaps.values()) if gaps else 0.0
        if worst <= METRIC_TOLERANCE:
            return FidelityReport(
                True,
                f"training is not deterministic ({', '.join(unseeded)}=None): metrics agree within "
                f"{METRIC_TOLERANCE:.0%} (largest relative gap {worst:.2%})",
                probe,
            )
    cause = _likely_cause(ex, unseeded)
    return FidelityReport(
        False,
        f"train.py's model predicts {probe['retrained']} where the notebook's predicts "
        f"{probe['expected']} on the input example (metrics {ours} vs {theirs}); "
        f"likely cause: {cause}",
        probe,
    )
