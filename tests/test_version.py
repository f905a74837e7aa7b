"""One version source: the Python package, the CLI and the lab extension agree."""

from __future__ import annotations

import json
import subprocess
import sys

from support import REPO

import mlops_nb


def test_cli_version_matches_package() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlops_nb.cli", "--version"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"mlops-nb {mlops_nb.__version__}"


def test_extension_package_json_matches_package() -> None:
    package_json = REPO / "extension" / "package.json"
    version = json.loads(package_json.read_text())["version"]
    assert version == mlops_nb.__version__


def test_import_is_light() -> None:
    code = (
        "import sys, mlops_nb; "
        "heavy = [m for m in ('mlflow', 'evidently', 'pandas', 'sklearn', 'IPython') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "", f"import mlops_nb imported {out.stdout.strip()}"
