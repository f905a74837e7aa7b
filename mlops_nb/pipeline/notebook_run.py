"""One notebook, one MLflow run: what ``mlops-nb run`` and every pipeline step and sweep trial do.

The recipe: check the notebook → open the run (params, tags) → execute with papermill in an
isolated kernel whose environment names this run as the parent of its ``%%track`` cells →
render HTML → deliver what the tracked cells queued → log the executed notebook, the HTML,
duration and status → close the run. A failing notebook is a result (status ``FAILED``, the
failing cell), not an exception, so pipelines and sweeps can decide what to do with it.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.exceptions import ExecutionError
from mlops_nb.pipeline import notebook as nbmod
from mlops_nb.pipeline import runs as R

FINISHED = "FINISHED"
FAILED = "FAILED"


@dataclass
class NotebookRunResult:
    """What :func:`run_notebook` returns (picklable: it travels back from pool and Dask workers).

    Attributes
    ----------
    run_id : the MLflow run of this execution
    output_path : the executed notebook (kept on failure, with outputs up to the failing cell)
    status : ``"FINISHED"`` or ``"FAILED"``
    error : one line naming the failing cell and its error, or ``None``
    """

    notebook: str
    run_id: str | None
    experiment_id: str | None
    status: str
    output_path: Path
    html_path: Path | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    duration: float = 0.0
    error: str | None = None
    failure: nbmod.CellFailure | None = None
    metrics: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status == FINISHED

    def raise_for_status(self) -> NotebookRunResult:
        """Raise :class:`ExecutionError` (naming the cell and the kept notebook) on failure."""
        if self.ok:
            return self
        f = self.failure
        raise ExecutionError(
            f"{self.notebook}: {self.error}. The executed notebook, with outputs up to the "
            f"failure, is at {self.output_path}",
            path=self.notebook,
            cell_index=f.cell_index if f else None,
            ename=f.ename if f else None,
            evalue=f.evalue if f else None,
        )


def default_output(source: Path, out: str | Path | None) -> Path:
    folder = Path(out) if out is not None else source.parent / "out"
    return folder.resolve() / source.name


def run_notebook(
    notebook: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    out: str | Path | None = None,
    output_path: str | Path | None = None,
    experiment: str | None = None,
    kernel: str | None = None,
    cwd: str | Path | None = None,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    kind: str = "notebook",
    tags: Mapping[str, str] | None = None,
    html: bool = True,
    collect_metrics: bool = False,
    tracking_uri: str | None = None,
) -> NotebookRunResult:
    """Execute ``notebook`` with papermill as one MLflow run and return the result.

    Parameters
    ----------
    notebook : the source notebook (never modified)
    parameters : values injected after the cell tagged ``parameters`` (typed, not strings)
    out : folder for the executed notebook and its HTML (default ``<notebook folder>/out``)
    output_path : exact path of the executed notebook (wins over ``out``)
    experiment : MLflow experiment (default: ``MLOPS_NB_EXPERIMENT``, else the notebook's name)
    kernel : kernelspec name (default: the notebook's own)
    cwd : working directory of the kernel (default: the current one, as papermill)
    parent_run_id : nest this run under another (pipeline steps, sweep trials)
    kind : ``mlops_nb.kind`` tag (``notebook``, ``step``, ``sweep-trial``)
    collect_metrics : copy the metrics of the ``%%track`` runs nested under this run onto it
    tracking_uri : store to write to (default: the settings' one)

    Returns a :class:`NotebookRunResult`; call ``.raise_for_status()`` to turn failure into an
    :class:`~mlops_nb.exceptions.ExecutionError`.
    """
    source = Path(notebook).resolve()
    params = dict(parameters or {})
    nb = nbmod.read(source)
    nbmod.require_parameters_cell(source, nb, list(params))
    settings = get_settings()
    uri = tracking_uri or settings.tracking_uri
    exp_name = experiment or settings.experiment or source.stem
    target = Path(output_path).resolve() if output_path else default_output(source, out)

    # imported before the HTML warm-up thread starts: no two threads import the same packages
    from mlops_nb.pipeline.execute import execute, render_html

    warm = _warm_html_exporter() if html else None
    runs = R.Runs(uri)
    started = time.time()
    run_id = runs.start(
        exp_name,
        name=run_name or source.stem,
        kind=kind,
        notebook=str(source),
        parent_run_id=parent_run_id,
        params=params,
        tags=tags,
        start_time=started,
    )
    env = {
        "MLOPS_NB_NOTEBOOK_PATH": str(source),
        "MLOPS_NB_PARENT_RUN_ID": run_id,
        "MLOPS_NB_EXPERIMENT": exp_name,
        "MLOPS_NB_PARAMETERS": json.dumps(params, default=str),
        "MLFLOW_TRACKING_URI": uri,
    }
    try:
        execution = execute(source, target, params, env=env, kernel=kernel, cwd=_cwd(cwd))
    except BaseException as exc:  # interrupted, or a bug: close the run, then let it propagate
        with contextlib.suppress(Exception):
            status = "KILLED" if isinstance(exc, KeyboardInterrupt) else FAILED
            runs.finish(run_id, status=status, tags={R.ERROR: f"{type(exc).__name__}: {exc}"})
        raise
    html_path: Path | None = None
    if warm is not None:
        warm.join()
    if html and target.exists():
        try:
            html_path = render_html(target)
        except Exception:  # a notebook nbconvert cannot render still ran; the .ipynb is logged
            html_path = None
    _deliver_tracked_cells(settings.spool_dir)

    status = FINISHED if execution.ok else FAILED
    error = execution.describe_error()
    metrics = {"duration_s": round(execution.duration, 3)}
    if collect_metrics:
        with contextlib.suppress(Exception):  # no nested runs is not an error
            metrics.update(runs.child_metrics(run_id))
    finish_tags: dict[str, str] = {}
    if error:
        finish_tags[R.ERROR] = error
    if execution.failure is not None:
        finish_tags[R.FAILED_CELL] = str(execution.failure.cell_index)
    runs.finish(
        run_id,
        status=status,
        metrics=metrics,
        tags=finish_tags,
        artifacts={"notebook": target, "html": html_path} if html_path else {"notebook": target},
    )
    return NotebookRunResult(
        notebook=str(source),
        run_id=run_id,
        experiment_id=runs.experiment_id(exp_name),
        status=status,
        output_path=target,
        html_path=html_path,
        parameters=params,
        duration=execution.duration,
        error=error,
        failure=execution.failure,
        metrics={k: v for k, v in metrics.items() if k != "duration_s"},
    )


def _cwd(cwd: str | Path | None) -> Path | None:
    return Path(cwd).resolve() if cwd is not None else None


def _warm_html_exporter() -> threading.Thread:
    """Build nbconvert's exporter while the kernel runs (it takes ~0.6 s the first time)."""

    def warm() -> None:
        try:
            from nbconvert import HTMLExporter

            from mlops_nb.pipeline.execute import _exporter

            _exporter(HTMLExporter)
        except Exception:
            pass

    thread = threading.Thread(target=warm, name="mlops-nb-html-warmup", daemon=True)
    thread.start()
    return thread


def _deliver_tracked_cells(spool: Path) -> None:
    """The kernel may exit before its background writer delivers ``%%track`` runs: sync now."""
    try:
        if not spool.is_dir() or not any(p for p in spool.iterdir() if not p.name.startswith(".")):
            return
        from mlops_nb.tracking.api import sync
    except Exception:
        return
    with contextlib.suppress(Exception):  # delivery problems are the outbox's (mlops-nb sync)
        sync()
