"""``mlops-nb`` with the registry's commands registered, and ``mlops_nb.promote`` as a lazy public
name, import no MLflow until a command runs."""

from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import mlops_nb.cli, mlops_nb.registry.cli, mlops_nb.server.registry
heavy = [m for m in ("mlflow", "sklearn", "pandas", "evidently") if m in sys.modules]
assert not heavy, heavy
import mlops_nb
from mlops_nb.registry.api import promote
assert mlops_nb.promote is promote
"""


def test_the_registry_is_lazy() -> None:
    done = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
