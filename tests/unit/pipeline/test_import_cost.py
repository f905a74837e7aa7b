"""The CLI stays import-light: a cached rerun must not pay for MLflow, papermill or Dask."""

from __future__ import annotations

import subprocess
import sys


def test_cli_and_pipeline_spec_import_no_heavy_library() -> None:
    code = (
        "import sys\n"
        "import mlops_nb.cli, mlops_nb.pipeline.api, mlops_nb.pipeline.runner\n"
        "heavy = [m for m in ('mlflow', 'papermill', 'distributed', 'nbconvert', 'nbclient')"
        " if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
