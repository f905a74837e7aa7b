"""Run the notebook top to bottom in a real kernel and keep the fitted model it makes.

That model is "the notebook's model" the fidelity check compares ``train.py`` against. Runs are
isolated: MLflow tracking and mlops-nb's outbox point into a scratch folder, so executing a notebook
with ``%%track`` cells does not add runs to the user's store. Shell escapes and shell magics do not
run (:mod:`mlops_nb.productionize.shell_guard`); what was neutralised is read back with
:func:`neutralised`. With ``until_cell``, the run stops after that cell (where the served model
is fitted): later cells (evaluation, a save and reload) are not run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from mlops_nb.exceptions import ExecutionError, NotebookError

# cloudpickle saves what the notebook defines (a function in a FunctionTransformer, a class) by
# value, so the model loads outside this kernel; library objects are saved by reference as pickle
# would; plain pickle only when cloudpickle is not installed in the kernel
_DUMP = """
try:
    import cloudpickle as _mlops_pickle
except ImportError:
    import pickle as _mlops_pickle
_mlops_bytes = _mlops_pickle.dumps({var}, protocol=5)
with open({path!r}, "wb") as _mlops_handle:
    _mlops_handle.write(_mlops_bytes)
"""


_GUARD = """
def _mlops_nb_guard():
    namespace = {{}}
    exec(compile({source!r}, "mlops-nb-shell-guard", "exec"), namespace)
    namespace["install"](get_ipython(), {log!r}, {scratch!r})
_mlops_nb_guard()
del _mlops_nb_guard
"""
_LOG = "neutralised.jsonl"


def guard_cell(scratch: Path) -> str:
    """The code of the first cell: shell escapes and shell magics neutralised in this kernel."""
    source = (Path(__file__).with_name("shell_guard.py")).read_text(encoding="utf-8")
    return _GUARD.format(source=source, log=str(scratch / _LOG), scratch=str(scratch))


def neutralised(scratch: Path) -> list[dict[str, str]]:
    """What the guard stopped in the last run: ``{"kind", "text", "outcome"}`` each."""
    try:
        lines = (scratch / _LOG).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in lines if line.strip()]


def _describe_cell(model_var: str, path: Path) -> str:
    """Kernel code: describe the model's estimators (supported.describe) into ``path``."""
    from mlops_nb.productionize.supported import describe_source

    return (
        "from typing import Any\n"
        + describe_source()
        + f"\nimport json as _mlops_json\nwith open({str(path)!r}, 'w') as _mlops_handle:\n"
        f"    _mlops_json.dump(describe({model_var}), _mlops_handle)\n"
        "del describe, _mlops_json, _mlops_handle\n"
    )


def _check_supported(described: Path, model_var: str) -> None:
    from mlops_nb.productionize.supported import check

    if described.exists():
        check(json.loads(described.read_text()), model_var)


def run_notebook_model(
    notebook: Path,
    model_var: str,
    scratch: Path,
    timeout: int = 900,
    rewrite: Callable[[str], str] | None = None,
    *,
    until_cell: int | None = None,
) -> Path:
    """Execute ``notebook`` (cwd: its folder) up to ``until_cell`` (1-based, all when None) with
    shell access neutralised; pickle ``model_var`` to the scratch folder.

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
    if until_cell:
        nb.cells = nb.cells[:until_cell]
    nb.cells.insert(0, nbformat.v4.new_code_cell(guard_cell(scratch)))
    described = scratch / "notebook_model.json"
    nb.cells.append(nbformat.v4.new_code_cell(_describe_cell(model_var, described)))
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
            _check_supported(described, model_var)
            raise _execution_error(notebook, nb, model_var, exc, scratch) from None
        _check_supported(described, model_var)
        if not target.exists():
            raise NotebookError(f"`{model_var}` was not saved by the kernel", path=str(notebook))
    except BaseException:
        target.with_suffix(".failed").touch()
        raise
    return target


def _execution_error(
    notebook: Path, nb: object, model_var: str, exc: Exception, scratch: Path
) -> Exception:
    index = _failing_cell(nb)
    if index is not None:
        index -= 1  # the guard cell came first
    ename, evalue = getattr(exc, "ename", "Error"), getattr(exc, "evalue", str(exc))
    stopped = neutralised(scratch)
    if stopped:
        evalue = (
            f"{evalue}; note: productionize does not run shell lines, and "
            f"{len(stopped)} were skipped (first: {stopped[0]['kind']} {stopped[0]['text']})"
        )
    if index is not None and index >= len(nb.cells) - 3:  # type: ignore[attr-defined]
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
