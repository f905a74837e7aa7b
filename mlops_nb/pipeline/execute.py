"""Execute one notebook with papermill, robustly, and render it to HTML.

A recipe of small steps, like papermill's own ``execute_notebook``: start an isolated kernel
(:mod:`.kernels`), execute with parameters injected after the ``parameters`` cell, and on a cell
error keep the executed notebook (papermill writes outputs up to the failure) and report the
failing cell. A kernel that dies before running any cell is started again (up to ``retries``).
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from mlops_nb.pipeline._imports import skip_slow_optional_imports

skip_slow_optional_imports()

import nbformat  # noqa: E402
import papermill  # noqa: E402
from papermill.exceptions import PapermillExecutionError  # noqa: E402

from mlops_nb.pipeline import notebook as nbmod  # noqa: E402
from mlops_nb.pipeline.kernels import manager_class  # noqa: E402
from mlops_nb.pipeline.notebook import Execution  # noqa: E402

log = logging.getLogger(__name__)


def execute(
    source: Path,
    output: Path,
    parameters: Mapping[str, Any],
    *,
    env: Mapping[str, str],
    kernel: str | None = None,
    cwd: Path | None = None,
    start_timeout: float = 60.0,
    retries: int = 2,
) -> Execution:
    """Run ``source`` into ``output``; never raises for a failure of the notebook itself."""
    output.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    attempt = 0
    while True:
        attempt += 1
        try:
            with _quiet_papermill():
                papermill.execute_notebook(
                    str(source),
                    str(output),
                    parameters=dict(parameters),
                    kernel_name=kernel,
                    progress_bar=False,
                    cwd=str(cwd) if cwd else None,
                    start_timeout=start_timeout,
                    kernel_manager_class=manager_class(env),
                )
        except PapermillExecutionError as exc:
            return Execution(
                output, time.perf_counter() - t0, _failure(output, exc), attempts=attempt
            )
        except Exception as exc:
            if attempt <= retries and not _any_cell_ran(output):
                log.warning("kernel failed to start (%s); starting it again", exc)
                time.sleep(0.2 * attempt)
                continue
            message = f"{type(exc).__name__}: {exc}"
            return Execution(output, time.perf_counter() - t0, error=message, attempts=attempt)
        return Execution(output, time.perf_counter() - t0, attempts=attempt)


def _failure(output: Path, exc: Any) -> nbmod.CellFailure:
    index = int(exc.cell_index)
    try:
        executed = nbmod.read(output)
        index = nbmod.source_index(executed, index)
    except Exception:  # the executed notebook is unreadable: keep papermill's index
        pass
    return nbmod.CellFailure(
        cell_index=index,
        execution_count=exc.exec_count,
        ename=str(exc.ename),
        evalue=str(exc.evalue),
        source=str(exc.source or ""),
    )


def _any_cell_ran(output: Path) -> bool:
    try:
        nb = json.loads(output.read_text())
    except (OSError, ValueError):
        return False
    return any(
        (cell.get("metadata", {}).get("papermill", {}) or {}).get("start_time")
        for cell in nb.get("cells", [])
    )


@contextlib.contextmanager
def _quiet_papermill() -> Iterator[None]:
    logger = logging.getLogger("papermill")
    previous = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(previous)


def render_html(executed: Path, target: Path | None = None) -> Path:
    """The executed notebook as a standalone HTML page (nbconvert's ``lab`` template)."""
    from nbconvert import HTMLExporter

    target = target or executed.with_suffix(".html")
    nb = nbformat.read(str(executed), as_version=4)
    body, _ = _exporter(HTMLExporter).from_notebook_node(nb)
    target.write_text(body, encoding="utf-8")
    return target


_EXPORTERS: dict[type, Any] = {}


def _exporter(cls: type) -> Any:
    """One exporter per process: building it (templates, filters) is the slow part."""
    if cls not in _EXPORTERS:
        _EXPORTERS[cls] = cls()
    return _EXPORTERS[cls]
