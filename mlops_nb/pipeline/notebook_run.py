"""One notebook, one MLflow run: what ``mlops-nb run`` and every pipeline step and sweep trial do.

Three parts, so that only the middle one needs to run on a worker:

1. :func:`open_run` (caller's process): check the notebook, open the run (params, tags) → a
   :class:`Job`;
2. :func:`execute_job` (worker): papermill in an isolated kernel whose environment names the run
   as the parent of its ``%%track`` cells, the HTML rendering, delivery of what the tracked cells
   queued;
3. :func:`close_run` (caller's process): log the executed notebook, the HTML, duration and
   status, and close the run.

:func:`run_notebook` does all three in one process. A failing notebook is a result (status
``FAILED``, the failing cell), not an exception, so pipelines and sweeps can decide what to do.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.config import get_settings
from mlops_nb.exceptions import ExecutionError
from mlops_nb.pipeline import notebook as nbmod
from mlops_nb.pipeline import runs as R
from mlops_nb.pipeline.names import Kind, Status, Tag
from mlops_nb.pipeline.notebook import Execution

FINISHED = Status.FINISHED
FAILED = Status.FAILED
RECORD_ID = Tag.RECORD_ID


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


@dataclass(frozen=True)
class Job:
    """One notebook execution as it travels to a worker: paths, parameters, the kernel's
    environment; no MLflow (picklable, and a worker needs no tracking client to run it).

    ``record_id`` names the run that :func:`open_run` creates for it (tag ``mlops_nb.record_id``):
    the kernel's ``%%track`` cells name it as their parent, so a job can start before its run
    exists and the tracked runs still nest under it when delivered.
    """

    source: Path
    target: Path
    parameters: dict[str, Any]
    env: dict[str, str]
    experiment: str
    tracking_uri: str
    record_id: str
    kernel: str | None = None
    cwd: Path | None = None
    html: bool = True


@dataclass(frozen=True)
class Executed:
    """What a worker sends back: the execution and its HTML rendering, if any."""

    execution: Execution
    html_path: Path | None = None


@dataclass
class OpenRun:
    """A run opened by :func:`open_run` in the calling process, for its :class:`Job`."""

    job: Job
    run_id: str
    runs: R.Runs
    collect_metrics: bool = False


def prepare_job(
    notebook: str | Path,
    parameters: Mapping[str, Any] | None = None,
    *,
    out: str | Path | None = None,
    output_path: str | Path | None = None,
    experiment: str | None = None,
    kernel: str | None = None,
    cwd: str | Path | None = None,
    html: bool = True,
    tracking_uri: str | None = None,
) -> Job:
    """Check the notebook and describe its execution; cheap (no MLflow, no papermill)."""
    source = Path(notebook).resolve()
    params = dict(parameters or {})
    nbmod.require_parameters_cell(source, nbmod.read(source), list(params))
    settings = get_settings()
    uri = tracking_uri or settings.tracking_uri
    exp_name = experiment or settings.experiment or source.stem
    target = Path(output_path).resolve() if output_path else default_output(source, out)
    record_id = uuid.uuid4().hex
    env = {
        "MLOPS_NB_NOTEBOOK_PATH": str(source),
        "MLOPS_NB_PARENT_RECORD_ID": record_id,
        "MLOPS_NB_EXPERIMENT": exp_name,
        "MLOPS_NB_PARAMETERS": json.dumps(params, default=str),
        "MLFLOW_TRACKING_URI": uri,
    }
    return Job(source, target, params, env, exp_name, uri, record_id, kernel, _cwd(cwd), html)


def open_run(
    job: Job,
    *,
    parent_run_id: str | None = None,
    run_name: str | None = None,
    kind: str = Kind.NOTEBOOK,
    tags: Mapping[str, str] | None = None,
    collect_metrics: bool = False,
    runs: R.Runs | None = None,
    start_time: float | None = None,
) -> OpenRun:
    """Create the job's run (params, tags) in the calling process.

    Pipelines and sweeps call this in their own process and send only the job to an executor,
    so workers (a Dask cluster's above all) never import MLflow for the runs they execute. It may
    be called before or after the job is submitted: the returned ``OpenRun.job`` also passes the
    run id to the kernel (``MLOPS_NB_PARENT_RUN_ID``), the original job only the record id.
    """
    runs = runs or R.Runs(job.tracking_uri)
    run_id = runs.start(
        job.experiment,
        name=run_name or job.source.stem,
        kind=kind,
        notebook=str(job.source),
        parent_run_id=parent_run_id,
        params=job.parameters,
        tags={**(tags or {}), RECORD_ID: job.record_id},
        start_time=start_time or time.time(),
    )
    # a job submitted from here on also tells its kernel the run id itself
    job = dataclasses.replace(job, env={**job.env, "MLOPS_NB_PARENT_RUN_ID": run_id})
    return OpenRun(job, run_id, runs, collect_metrics)


def execute_job(job: Job) -> Executed:
    """The worker's part: papermill in an isolated kernel, the HTML rendering, then delivery of
    what the notebook's ``%%track`` cells queued (MLflow is imported only if there is some)."""
    # imported before the HTML warm-up thread starts: no two threads import the same packages
    from mlops_nb.pipeline.execute import execute, render_html

    warm = _warm_html_exporter() if job.html else None
    execution = execute(
        job.source, job.target, job.parameters, env=job.env, kernel=job.kernel, cwd=job.cwd
    )
    html_path: Path | None = None
    if warm is not None:
        warm.join()
    if job.html and job.target.exists():
        try:
            html_path = render_html(job.target)
        except Exception:  # a notebook nbconvert cannot render still ran; the .ipynb is logged
            html_path = None
    _deliver_tracked_cells(get_settings().spool_dir)
    return Executed(execution, html_path)


def close_run(opened: OpenRun, executed: Executed) -> NotebookRunResult:
    """Log the executed notebook, its HTML, duration and status, and close the run."""
    execution, html_path, runs = executed.execution, executed.html_path, opened.runs
    target = opened.job.target
    status = FINISHED if execution.ok else FAILED
    error = execution.describe_error()
    metrics = {"duration_s": round(execution.duration, 3)}
    if opened.collect_metrics:
        _deliver_tracked_cells(get_settings().spool_dir)  # any the worker left (run not there yet)
        with contextlib.suppress(Exception):  # no nested runs is not an error
            metrics.update(runs.child_metrics(opened.run_id))
    finish_tags: dict[str, str] = {}
    if error:
        finish_tags[Tag.ERROR] = error
    if execution.failure is not None:
        finish_tags[Tag.FAILED_CELL] = str(execution.failure.cell_index)
    runs.finish(
        opened.run_id,
        status=status,
        metrics=metrics,
        tags=finish_tags,
        artifacts={"notebook": target, "html": html_path} if html_path else {"notebook": target},
    )
    return NotebookRunResult(
        notebook=str(opened.job.source),
        run_id=opened.run_id,
        experiment_id=runs.experiment_id(opened.job.experiment),
        status=status,
        output_path=target,
        html_path=html_path,
        parameters=opened.job.parameters,
        duration=execution.duration,
        error=error,
        failure=execution.failure,
        metrics={k: v for k, v in metrics.items() if k != "duration_s"},
    )


def abort_run(opened: OpenRun, exc: BaseException) -> None:
    """Close the run of a job that never came back (interrupted, a worker lost, a bug)."""
    opened.runs.abort(opened.run_id, exc)


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
    kind: str = Kind.NOTEBOOK,
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
    job = prepare_job(
        notebook,
        parameters,
        out=out,
        output_path=output_path,
        experiment=experiment,
        kernel=kernel,
        cwd=cwd,
        html=html,
        tracking_uri=tracking_uri,
    )
    opened = open_run(
        job,
        parent_run_id=parent_run_id,
        run_name=run_name,
        kind=kind,
        tags=tags,
        collect_metrics=collect_metrics,
    )
    try:
        executed = execute_job(opened.job)
    except BaseException as exc:  # interrupted, or a bug: close the run, then let it propagate
        abort_run(opened, exc)
        raise
    return close_run(opened, executed)


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
