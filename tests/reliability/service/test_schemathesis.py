"""Schemathesis against the live service's own OpenAPI document, every check on: schema-valid
requests are answered 2xx, schema-violating ones 4xx, responses match the documented schemas and
status codes, nothing answers 5xx or hangs. Bounded (a fixed seed, --max-examples per operation).

One relaxation, on /invocations only: MLflow's column-oriented form ``{"inputs": {"column":
[values...]}}`` needs lists of equal length, which JSON Schema cannot say, so a schema-valid body
with lists of different lengths is rightly refused (422); there ``positive_data_acceptance`` is off.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration

#: per operation; ~1,000 cases in all on a 2-core machine in about two minutes
MAX_EXAMPLES = int(os.environ.get("MLOPS_NB_SCHEMATHESIS_EXAMPLES", "120"))


def _schemathesis(live: dict[str, Any], workdir: Path, *selection: str) -> tuple[int, str]:
    st = Path(sys.executable).parent / "schemathesis"
    run = subprocess.run(
        [
            str(st), "run", live["url"] + "/openapi.json",
            "--max-examples", str(MAX_EXAMPLES),
            "--seed", "20261203",
            "--request-timeout", "10",
            "--workers", "1",
            "-H", f"X-API-Key: {live['api_key']}",
            *selection,
        ],
        capture_output=True, text=True, timeout=600,
        cwd=workdir,  # its example database (.schemathesis/) stays out of the repository
    )  # fmt: skip
    out = run.stdout
    assert run.returncode == 0, out[out.find("FAILURES") :][:5000] or out[-4000:]
    generated = re.search(r"(\d+) generated", out)
    assert generated, out[-2000:]
    return int(generated.group(1)), out


def test_schemathesis_finds_nothing(live: dict[str, Any], tmp_path: Path) -> None:
    most, out = _schemathesis(live, tmp_path, "--checks", "all", "--exclude-path", "/invocations")
    assert "Tested: 8" in out, out[-2000:]  # every other operation of the document
    invocations, out = _schemathesis(
        live, tmp_path,
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--include-path", "/invocations",
    )  # fmt: skip
    assert "Tested: 1" in out, out[-2000:]
    assert most + invocations >= 6 * MAX_EXAMPLES  # ~1,000 cases with the default


def test_schemathesis_finds_nothing_on_an_all_number_service(
    live_numbers: dict[str, Any], tmp_path: Path
) -> None:
    """The scoring routes of a service whose columns are all numbers (a float column with missing
    values, an integer column): its payloads take the all-number fast paths, which the wine
    service's never do (``test_payload_types.py`` checks their integer column case by hand).

    ``positive_data_acceptance`` is off: this model is a regressor, and for schema-valid numbers
    far outside anything it was trained on (1e51) its prediction overflows, in the float32 its
    ONNX engine computes in and, further out, in the notebook's float64 too. The service refuses
    such a prediction with a 422 that says so, never an infinite or wrong number."""
    predict, out = _schemathesis(
        live_numbers, tmp_path,
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--include-path", "/predict",
    )  # fmt: skip
    assert "Tested: 1" in out, out[-2000:]
    invocations, out = _schemathesis(
        live_numbers, tmp_path,
        "--checks", "all",
        "--exclude-checks", "positive_data_acceptance",
        "--include-path", "/invocations",
    )  # fmt: skip
    assert "Tested: 1" in out, out[-2000:]
    assert predict + invocations >= MAX_EXAMPLES
