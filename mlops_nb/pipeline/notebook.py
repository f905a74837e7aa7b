"""Reading notebooks without executing them: the ``parameters`` cell, the code digest, failures.

Pure and cheap (``json`` only, no nbformat): the cache key of every step is computed from here on
each ``pipeline run``, including a fully cached one.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import NotebookError

PARAMETERS_TAG = "parameters"
INJECTED_TAG = "injected-parameters"
ERROR_TAG = "papermill-error-cell-tag"


def read(path: str | Path) -> dict[str, Any]:
    """The notebook document as plain JSON; :class:`NotebookError` when missing or malformed."""
    p = Path(path)
    try:
        nb = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotebookError("the notebook does not exist; check the path", path=str(p)) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise NotebookError(f"not a notebook (invalid JSON: {exc})", path=str(p)) from None
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        raise NotebookError("not a notebook (no 'cells' list)", path=str(p))
    return nb


def source_text(cell: dict[str, Any]) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def tags(cell: dict[str, Any]) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []) or [])


def parameters_cell(nb: dict[str, Any]) -> int | None:
    """Index of the cell tagged ``parameters`` (papermill injects its values right after it)."""
    for i, cell in enumerate(nb["cells"]):
        if PARAMETERS_TAG in tags(cell):
            return i
    return None


def require_parameters_cell(path: str | Path, nb: dict[str, Any], names: list[str]) -> None:
    """Parameters were given: the notebook must have a cell tagged ``parameters``."""
    if names and parameters_cell(nb) is None:
        raise NotebookError(
            f"parameters {', '.join(sorted(names))} were given but no cell is tagged "
            f"'{PARAMETERS_TAG}'; in Jupyter, add the tag '{PARAMETERS_TAG}' to the cell that "
            "holds the defaults (View > Cell Toolbar > Tags, or the property inspector)",
            path=str(path),
        )


def code_digest(nb: dict[str, Any]) -> str:
    """Digest of what the notebook *does*: cell types and sources, not outputs or metadata."""
    h = hashlib.sha256()
    for cell in nb["cells"]:
        h.update(str(cell.get("cell_type", "")).encode())
        h.update(b"\0")
        h.update(source_text(cell).encode())
        h.update(b"\0")
        if PARAMETERS_TAG in tags(cell):
            h.update(b"[parameters]")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name", "")
    h.update(str(kernel).encode())
    return h.hexdigest()


@dataclass(frozen=True)
class CellFailure:
    """Where and why an executed notebook stopped."""

    cell_index: int  # 0-based index in the *source* notebook (messages say #index+1)
    execution_count: int | None
    ename: str
    evalue: str
    source: str

    @property
    def first_line(self) -> str:
        for line in self.source.splitlines():
            if line.strip():
                return line.strip()[:80]
        return ""

    def describe(self) -> str:
        head = f"cell #{self.cell_index + 1}"
        extra = []
        if self.execution_count is not None:
            extra.append(f"In [{self.execution_count}]")
        if self.first_line:
            extra.append(f'"{self.first_line}"')
        if extra:
            head += f" ({', '.join(extra)})"
        return f"{head} raised {self.ename}: {self.evalue}"


def source_index(executed: dict[str, Any], executed_index: int) -> int:
    """Map a cell index of the executed notebook back to the source notebook (skip injected)."""
    cells = [c for c in executed["cells"] if ERROR_TAG not in tags(c)]
    injected = sum(1 for cell in cells[:executed_index] if INJECTED_TAG in tags(cell))
    return executed_index - injected


@dataclass(frozen=True)
class Execution:
    """What happened when a notebook ran (light: it travels back from workers to a client that
    need not import papermill)."""

    output_path: Path
    duration: float
    failure: CellFailure | None = None
    error: str | None = None  # a failure outside any cell (kernel died, timeout, ...)
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.failure is None and self.error is None

    def describe_error(self) -> str | None:
        if self.failure is not None:
            return self.failure.describe()
        return self.error
