"""Read a notebook into parsed code cells: tags, IPython-only lines removed (and reported), an AST.

Cell numbers are 1-based positions in the notebook (markdown cells count), as JupyterLab shows them.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_nb.exceptions import NotebookError

#: cell magics whose body is ordinary Python run in the user namespace: keep the body
_TRANSPARENT_CELL_MAGICS = {"track", "time", "timeit", "capture", "prun"}
_MAGIC_ASSIGN = re.compile(r"^\s*[\w\s,()\[\]]+=\s*[%!]")  # files = !ls, t = %timeit f()


@dataclass
class Cell:
    """One code cell of the notebook."""

    number: int
    cell_id: str
    tags: frozenset[str]
    source: str
    code: str
    tree: ast.Module
    dropped_lines: list[tuple[int, str]] = field(default_factory=list)


def _strip_ipython(source: str) -> tuple[str, list[tuple[int, str]], bool]:
    """Blank out ``%``/``!`` lines (kept as empty lines so line numbers still match).

    Returns the Python code, the dropped lines, and whether the whole cell is a non-Python magic.
    """
    lines = source.splitlines()
    dropped: list[tuple[int, str]] = []
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is not None and lines[first].lstrip().startswith("%%"):
        magic = lines[first].strip()[2:].split()[0] if lines[first].strip()[2:] else ""
        dropped.append((first + 1, lines[first].strip()))
        if magic not in _TRANSPARENT_CELL_MAGICS:
            return "", [(first + 1, lines[first].strip())], True
        lines[first] = ""
    out = []
    for number, line in enumerate(lines, start=1):
        if line.lstrip().startswith(("%", "!")) or _MAGIC_ASSIGN.match(line):
            dropped.append((number, line.strip()))
            out.append("")
        else:
            out.append(line)
    return "\n".join(out), dropped, False


def read_cells(path: Path, rewrite: Callable[[str], str] | None = None) -> list[Cell]:
    """Parse the code cells of ``path``; a cell that is not valid Python raises NotebookError.

    ``rewrite`` edits each code cell's text first (``--seed``)."""
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise NotebookError("no such notebook; check the path", path=str(path)) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise NotebookError(
            f"not a readable .ipynb notebook ({exc}); open and save it in Jupyter first",
            path=str(path),
        ) from None
    if (
        not isinstance(nb, dict)
        or nb.get("nbformat", 0) < 4
        or not isinstance(nb.get("cells"), list)
    ):
        raise NotebookError(
            "not an nbformat 4 notebook; open and save it with a current Jupyter", path=str(path)
        )
    cells: list[Cell] = []
    for number, raw in enumerate(nb["cells"], start=1):
        if not isinstance(raw, dict) or raw.get("cell_type") != "code":
            continue
        source = raw.get("source", "")
        if isinstance(source, list):
            source = "".join(source)
        if rewrite is not None:
            source = rewrite(source)
        code, dropped, whole_magic = _strip_ipython(source)
        try:
            tree = ast.parse(code, filename=f"{path.name}:cell{number}")
        except SyntaxError as exc:
            raise NotebookError(
                f"this cell is not valid Python (line {exc.lineno}: {exc.msg}); fix it, or tag "
                "the cell 'skip' to leave it out",
                path=str(path),
                cell=number,
            ) from None
        tags = frozenset(raw.get("metadata", {}).get("tags", []) or [])
        cells.append(
            Cell(
                number=number,
                cell_id=str(raw.get("id", number)),
                tags=tags,
                source=source,
                code="" if whole_magic else code,
                tree=tree,
                dropped_lines=dropped,
            )
        )
    if not cells:
        raise NotebookError("the notebook has no code cells", path=str(path))
    return cells
