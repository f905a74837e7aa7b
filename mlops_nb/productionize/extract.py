"""Notebook -> the statements that build the model (cell tags first, a backward slice otherwise).

Cell tags (the contract, documented in the README):

``parameters``  papermill's parameters cell: its literal assignments become ``train.py`` flags
``imports``     import statements
``functions``   helper functions (and constants)
``train``       the code that loads data, derives features and fits the model
``skip``        never extracted

When any cell carries ``imports``, ``functions`` or ``train``, only tagged cells are extracted.
Otherwise the model variable (``--model-var``, else the last fitted estimator) is sliced backwards
over the whole notebook, dropping EDA, plots, displays and ``%``/``!`` lines.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_nb.exceptions import NotebookError
from mlops_nb.productionize.notebook import Cell, read_cells
from mlops_nb.productionize.slicing import BUILTINS, Stmt, analyse, backward_slice, base_name

EXTRACT_TAGS = {"imports", "functions", "train"}
_PLOT_NAMES = {"plt", "sns", "px", "go", "matplotlib", "seaborn", "plotly", "alt"}
_PLOT_METHODS = {"plot", "hist", "boxplot", "scatter", "imshow", "show", "savefig", "heatmap"}


class ExtractionError(NotebookError):
    """The notebook cannot become a training script (the message says why and what to do)."""

    exit_code = 2


@dataclass
class FitCall:
    """Where the model is fitted: ``model.fit(X_train, y_train)``."""

    stmt: Stmt
    model_var: str
    x_arg: str | None
    y_arg: str | None
    x_src: str = ""
    y_src: str = ""


@dataclass
class Parameter:
    name: str
    value: object
    cell: int

    @property
    def kind(self) -> str:
        return type(self.value).__name__


@dataclass
class Dropped:
    cell: int
    what: str
    reason: str


@dataclass
class Extraction:
    """What ``train.py`` is made of."""

    notebook: Path
    mode: str  # "tags" or "slice"
    model_var: str
    statements: list[Stmt]
    parameters: list[Parameter]
    fit: FitCall
    dropped: list[Dropped] = field(default_factory=list)
    all_statements: list[Stmt] = field(default_factory=list)

    @property
    def cells(self) -> list[int]:
        return sorted({s.cell.number for s in self.statements})


def find_fits(stmts: list[Stmt]) -> list[FitCall]:
    """Every ``.fit(...)`` whose result is a variable, in notebook order."""
    fits: list[FitCall] = []
    for stmt in stmts:
        node = stmt.node
        for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
            if not (isinstance(call.func, ast.Attribute) and call.func.attr == "fit"):
                continue
            receiver = base_name(call.func.value)
            var = None
            if (
                isinstance(node, ast.Assign)
                and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)
                and node.value is call
            ):
                var = node.targets[0].id
            elif receiver is not None and isinstance(call.func.value, ast.Name):
                var = receiver
            if var is None:
                continue
            args = [a.id if isinstance(a, ast.Name) else None for a in call.args[:2]]
            args += [None] * (2 - len(args))
            if len(call.args) < 2:
                continue  # fit(X) alone: a transformer, not a supervised model
            sources = [ast.unparse(a) for a in call.args[:2]]
            fits.append(FitCall(stmt, var, args[0], args[1], x_src=sources[0], y_src=sources[1]))
    return fits


def choose_model(fits: list[FitCall], model_var: str | None, path: Path) -> FitCall:
    if model_var:
        mine = [f for f in fits if f.model_var == model_var]
        if not mine:
            known = ", ".join(sorted({f.model_var for f in fits})) or "none"
            raise ExtractionError(
                f"no `{model_var}.fit(...)` found (fitted variables: {known}); pass the variable "
                "that holds the fitted model with --model-var",
                path=str(path),
            )
        return mine[-1]
    if not fits:
        raise ExtractionError(
            "no model found: no cell calls `.fit(...)` on a variable; fit the model into a "
            "variable (model.fit(X, y)) or pass --model-var",
            path=str(path),
        )
    last_cell = fits[-1].stmt.cell.number
    in_last = sorted({f.model_var for f in fits if f.stmt.cell.number == last_cell})
    if len(in_last) > 1:
        raise ExtractionError(
            f"several models are fitted in this cell ({', '.join(in_last)}); choose the one to "
            f"serve with --model-var (one of: {', '.join(in_last)})",
            path=str(path),
            cell=last_cell,
        )
    return fits[-1]


def parameters_of(cells: list[Cell]) -> list[Parameter]:
    params: list[Parameter] = []
    for cell in cells:
        if "parameters" not in cell.tags:
            continue
        for node in cell.tree.body:
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
                if isinstance(target, ast.Name):
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        continue
                    params.append(Parameter(target.id, value, cell.number))
    return params


def _why_dropped(stmt: Stmt, model_var: str) -> str:
    node = stmt.node
    names = {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}
    attrs = {n.attr for n in ast.walk(node) if isinstance(n, ast.Attribute)}
    if names & _PLOT_NAMES or attrs & _PLOT_METHODS:
        return "plot"
    if model_var in stmt.uses:
        return "uses the model after fitting (evaluation)"
    if isinstance(node, ast.Expr):
        return "display / EDA (an expression whose value is only shown)"
    return f"not needed to build `{model_var}`"


def _describe(stmt: Stmt) -> str:
    text = stmt.source.strip().splitlines()[0]
    return text if len(text) <= 70 else text[:67] + "..."


def extract(
    path: Path, model_var: str | None = None, rewrite: Callable[[str], str] | None = None
) -> Extraction:
    """Find the model and the statements that build it (``rewrite`` edits cell text first)."""
    cells = read_cells(path, rewrite)
    tagged = any(cell.tags & EXTRACT_TAGS for cell in cells)
    chosen = [c for c in cells if "skip" not in c.tags]
    if tagged:
        chosen = [c for c in chosen if c.tags & (EXTRACT_TAGS | {"parameters"})]
    stmts = analyse(chosen)
    fit = choose_model(find_fits(stmts), model_var, path)
    dropped: list[Dropped] = [
        Dropped(c.number, "cell", "tagged 'skip'") for c in cells if "skip" in c.tags
    ]
    for cell in cells:
        for _, line in cell.dropped_lines:
            dropped.append(Dropped(cell.number, line, "IPython magic or shell line"))
    if tagged:
        kept = stmts
        defined = {n for s in stmts for n in s.binds}
        unresolved = {n for s in stmts for n in s.uses} - defined - BUILTINS
        untagged = [
            c.number for c in cells if not (c.tags & (EXTRACT_TAGS | {"parameters", "skip"}))
        ]
        for number in untagged:
            dropped.append(Dropped(number, "cell", "untagged (the notebook uses cell tags)"))
    else:
        kept, unresolved = backward_slice(stmts, {fit.model_var})
        kept_ids = {s.index for s in kept}
        for stmt in stmts:
            if stmt.index not in kept_ids:
                dropped.append(
                    Dropped(stmt.cell.number, _describe(stmt), _why_dropped(stmt, fit.model_var))
                )
    # parameters come from the parameters cell, so they are never unresolved
    params = parameters_of(chosen)
    unresolved -= {p.name for p in params}
    if unresolved:
        name = sorted(unresolved)[0]
        users = [s for s in kept if name in s.uses]
        cell_no = users[0].cell.number if users else None
        raise ExtractionError(
            f"`{name}` is used but never defined by the extracted code (was it made by a magic, "
            "%run, or a cell tagged 'skip'?); define it in a cell of this notebook"
            + (" or tag that cell" if tagged else ""),
            path=str(path),
            cell=cell_no,
        )
    dropped.sort(key=lambda d: d.cell)
    return Extraction(
        notebook=path,
        mode="tags" if tagged else "slice",
        model_var=fit.model_var,
        statements=kept,
        parameters=params,
        fit=fit,
        dropped=dropped,
        all_statements=stmts,
    )
