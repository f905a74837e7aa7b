"""Run the notebook top to bottom in a real kernel and keep the fitted model it makes.

That model is "the notebook's model" the fidelity check compares ``train.py`` against. Runs are
isolated: MLflow tracking and mlops-nb's outbox point into a scratch folder, so executing a notebook
with ``%%track`` cells does not add runs to the user's store.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mlops_nb.exceptions import ExecutionError, NotebookError

_DUMP = """
import pickle as _mlops_pickle
try:
    _mlops_bytes = _mlops_pickle.dumps({var}, protocol=5)
except Exception:
    import cloudpickle as _mlops_cloudpickle
    _mlops_bytes = _mlops_cloudpickle.dumps({var}, protocol=5)
with open({path!r}, "wb") as _mlops_handle:
    _mlops_handle.write(_mlops_bytes)
"""


def run_notebook_model(
    notebook: Path,
    model_var: str,
    scratch: Path,
    timeout: int = 900,
    rewrite: Callable[[str], str] | None = None,
) -> Path:
    """Execute ``notebook`` (cwd: its folder); pickle ``model_var`` to the scratch folder.

    ``rewrite`` edits each code cell's text first (``--seed``), in memory."""
    import nbclient
    import nbformat
    from nbclient.exceptions import CellExecutionError

    nb = nbformat.read(str(notebook), as_version=4)
    if rewrite is not None:
        for cell in nb.cells:
            if cell.cell_type == "code":
                cell.source = rewrite(cell.source)
    target = scratch / "notebook_model.pkl"
    nb.cells.append(nbformat.v4.new_code_cell(_DUMP.format(var=model_var, path=str(target))))
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{scratch / 'scratch-mlflow.db'}",
        "MLOPS_NB_SPOOL_DIR": str(scratch / "outbox"),
        "MLOPS_NB_NOTEBOOK_PATH": str(notebook.resolve()),
        "MPLBACKEND": "Agg",
    }
    client = nbclient.NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(notebook.parent.resolve())}},
    )
    try:
        try:
            client.execute(env=env, stderr=subprocess.DEVNULL)
        except CellExecutionError as exc:
            raise _execution_error(notebook, nb, model_var, exc) from None
        if not target.exists():
            raise NotebookError(f"`{model_var}` was not saved by the kernel", path=str(notebook))
    except BaseException:
        target.with_suffix(".failed").touch()
        raise
    return target


def _execution_error(notebook: Path, nb: object, model_var: str, exc: Exception) -> Exception:
    index = _failing_cell(nb)
    ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", str(exc))
    if index is not None and index >= len(nb.cells) - 1:  # type: ignore[attr-defined]
        return NotebookError(
            f"`{model_var}` could not be saved after running the notebook ({ename}: {evalue}); "
            "is it a fitted model object?",
            path=str(notebook),
        )
    return ExecutionError(
        f"{notebook}: cell {index + 1 if index is not None else '?'} failed while running the "
        f"notebook ({ename}: {evalue}); fix the notebook so it runs top to bottom",
        path=str(notebook),
        cell_index=index,
        ename=ename,
        evalue=evalue,
    )


def _failing_cell(nb: object) -> int | None:
    for index, cell in enumerate(nb.cells):  # type: ignore[attr-defined]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                return index
    return None


def kernel_python() -> str:
    """The interpreter of the ``python3`` kernel (this environment's)."""
    return sys.executable
