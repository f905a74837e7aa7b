"""The installed extension is what `jupyter ... list` reports, at the package's one version."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from support import REPO

import mlops_nb

JUPYTER = Path(sys.executable).parent / "jupyter"


def listing(*args: str) -> str:
    out = subprocess.run(
        [str(JUPYTER), *args, "list"], capture_output=True, text=True, timeout=120, check=True
    )
    return re.sub(r"\x1b\[[0-9;]*m", "", out.stdout + out.stderr)


def test_labextension_is_installed_enabled_and_ok() -> None:
    text = listing("labextension")
    assert re.search(rf"mlops-nb v{re.escape(mlops_nb.__version__)} enabled\s+OK", text), text


def test_server_extension_is_enabled_and_ok() -> None:
    text = listing("server", "extension")
    assert re.search(r"mlops_nb enabled", text), text
    assert re.search(rf"mlops_nb {re.escape(mlops_nb.__version__)} OK", text), text


def test_built_extension_carries_the_package_version() -> None:
    built = REPO / "mlops_nb" / "labextension" / "package.json"
    assert json.loads(built.read_text())["version"] == mlops_nb.__version__
