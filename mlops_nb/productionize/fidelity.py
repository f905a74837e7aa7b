"""The fidelity check, on the notebook's held-out rows (else rows drawn across the data):

* the service's features for the raw rows equal the notebook's (each row alone too);
* the notebook's model answers the same from them;
* ``train.py`` in a fresh process retrains a model with the same predictions and probabilities.

The verdict says what was compared and on how many rows; an unseeded estimator is named with its
line and the two ways out.
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
from mlops_nb.productionize.seeding import unseeded_calls

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
    python: str,
    service: Path,
    notebook_model: Path,
    out: Path,
    train_args: list[str],
    cwd: Path,
    engine: str | None = None,
) -> subprocess.Popen[str]:
    """Start train.py through the probe in a fresh interpreter. It retrains at once and waits for
    ``notebook_model`` to appear (the kernel may still be running the notebook). With ``engine``
    it also chooses the served engine (``model/model.onnx``, ``model/engine.json``)."""
    cmd = [
        python,
        str(_PROBE),
        "--service",
        str(service),
        "--notebook-model",
        str(notebook_model),
        "--out",
        str(out),
        *(["--engine", engine] if engine else []),
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


def unseeded(ex: Extraction) -> list[str]:
    """The random calls without a seed among the kept statements, with their cell and line."""
    found = []
    for stmt in ex.statements:
        for line, name in unseeded_calls(ast.unparse(stmt.node)):
            found.append(f"{name} (cell {stmt.cell.number}, line {stmt.lineno + line - 1})")
    return found


def judge(ex: Extraction, probe: dict[str, Any]) -> FidelityReport:
    """Pass/fail, saying what was compared, with what to do when it fails."""
    rows, chosen = probe["rows"], probe["chosen"]
    problems: list[str] = []
    verified: list[str] = []
    features_off = probe.get("feature_rows_differing")
    if features_off:
        problems.append(
            f"the service computes different features than the notebook for {features_off} of "
            f"{rows} rows: some feature code depends on the training rows in a way mlops-nb does "
            "not replay (look for statistics taken inside loops or helper objects); pass "
            "--engineered-input to serve the model's own columns instead"
        )
    elif features_off == 0:
        verified.append("features")
    lonely = probe.get("single_rows_differing")
    if lonely:
        problems.append(
            f"{lonely} of {probe['single_rows']} rows get other features when sent alone: a "
            "feature depends on the other rows of the request"
        )
    answers_off = probe.get("answers_differing")
    if answers_off:
        problems.append(
            f"the notebook's model answers {answers_off} of {rows} rows differently from the "
            "service's features than from the notebook's"
        )
    elif answers_off == 0:
        verified.append("answers")
    retrained_off = probe["retrained_differing"]
    scores_off = probe.get("scores_differing")
    reproducible = not retrained_off and not scores_off
    if reproducible:
        scores = f" and {probe['scores']}" if probe.get("scores") else ""
        verified.append(f"train.py's retrained model (predictions{scores})")
    else:
        unseeded_here = unseeded(ex)
        what = (
            f"{retrained_off} of {rows} predictions"
            if retrained_off
            else f"{probe['scores']} on {scores_off} of {rows} rows"
        )
        if unseeded_here or probe.get("unseeded"):
            named = ", ".join(unseeded_here) or ", ".join(probe["unseeded"]) + "=None"
            problems.append(
                f"training is not reproducible: train.py's model differs from the notebook's in "
                f"{what}; not seeded: {named}. Either pass --seed N (sets random_state in the "
                "notebook run and train.py alike) or serve the notebook's own fitted model from "
                "its %%track run (--run RUN_ID)"
            )
        else:
            problems.append(
                f"train.py's model differs from the notebook's in {what}; likely cause: "
                f"{_likely_cause(ex)}"
            )
    if problems:
        return FidelityReport(False, "; ".join(problems) + f" (compared on {chosen})", probe)
    return FidelityReport(True, f"identical on {chosen}: {', '.join(verified)}", probe)


def _likely_cause(ex: Extraction) -> str:
    for stmt in ex.statements:
        for call in (n for n in ast.walk(stmt.node) if isinstance(n, ast.Call)):
            name = getattr(call.func, "attr", None) or getattr(call.func, "id", None)
            seeded = any(k.arg in {"random_state", "seed"} for k in call.keywords)
            if name in _RANDOM_CALLS and not seeded:
                return f"cell {stmt.cell.number}: `{name}(...)` draws unseeded random numbers"
    return (
        f"cell {ex.fit.stmt.cell.number} (where `{ex.model_var}` is fitted): the notebook's state "
        "differs from a top-to-bottom run (cells run out of order, or data changed)"
    )
