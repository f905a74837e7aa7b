"""Notebook -> the statements that build the model (cell tags first, a backward slice otherwise).

Cell tags (the contract, documented in the README):

``parameters``  papermill's parameters cell: its literal assignments become ``train.py`` flags
``imports``     import statements
``functions``   helper functions (and constants)
``train``       the code that loads data, derives features and fits the model
``skip``        never extracted

When any cell carries ``imports``, ``functions`` or ``train``, only tagged cells are extracted.
Otherwise the model variable (``--model-var``, else the model fitted last outside loops: see
:mod:`mlops_nb.productionize.model_choice`) is sliced backwards from its fit, dropping EDA, plots,
displays, ``%``/``!`` lines and whatever comes after the fit (evaluation, a save and reload).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlops_nb.productionize.model_choice import (
    Choice,
    ExtractionError,
    ModelNote,
    choose,
    root_constructor,
)
from mlops_nb.productionize.notebook import Cell, read_cells
from mlops_nb.productionize.slicing import BUILTINS, Stmt, analyse, backward_slice
from mlops_nb.productionize.supported import check_class_definition

EXTRACT_TAGS = {"imports", "functions", "train"}
_PLOT_NAMES = {"plt", "sns", "px", "go", "matplotlib", "seaborn", "plotly", "alt"}
_PLOT_METHODS = {"plot", "hist", "boxplot", "scatter", "imshow", "show", "savefig", "heatmap"}


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
    #: what the user should know about the model choice (loops, other candidates, unseeded)
    notes: list[ModelNote] = field(default_factory=list)
    #: every name bound to the served estimator (``--model-var`` accepts each)
    aliases: list[str] = field(default_factory=list)
    #: (cell, line, class) of estimators fitted without a seed, in the served model
    unseeded: list[tuple[int, int, str]] = field(default_factory=list)
    #: the notebook cell after which the served model exists (run the notebook up to here)
    capture_cell: int = 0

    @property
    def cells(self) -> list[int]:
        return sorted({s.cell.number for s in self.statements})


def _fit_call(choice: Choice) -> FitCall:
    call = choice.site.call
    args: list[ast.expr | None] = list(call.args[:2])
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    if len(args) < 1:
        args.append(keywords.get("X"))
    if len(args) < 2:
        args.append(keywords.get("y"))
    names = [a.id if isinstance(a, ast.Name) else None for a in args]
    sources = [ast.unparse(a) if a is not None else "" for a in args]
    return FitCall(
        choice.site.stmt, choice.model_var, names[0], names[1], x_src=sources[0], y_src=sources[1]
    )


def _refuse_unsupported_class(choice: Choice, stmts: list[Stmt]) -> None:
    """A model class defined in the notebook without scikit-learn's bases is refused up front."""
    call = root_constructor(choice.site, stmts)
    name = call.func.id if call is not None and isinstance(call.func, ast.Name) else None
    for stmt in stmts:
        if isinstance(stmt.node, ast.ClassDef) and stmt.node.name == name:
            check_class_definition(stmt.node, choice.model_var, stmt.cell.number)


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
    choice = choose(stmts, model_var, path)
    _refuse_unsupported_class(choice, stmts)
    fit = _fit_call(choice)
    dropped: list[Dropped] = [
        Dropped(c.number, "cell", "tagged 'skip'") for c in cells if "skip" in c.tags
    ]
    for cell in cells:
        for _, line in cell.dropped_lines:
            dropped.append(Dropped(cell.number, line, "IPython magic or shell line"))
    if tagged:
        # definitions anywhere; other statements up to the fit (a save/reload after it is left out)
        kept = [
            s
            for s in stmts
            if s.index <= choice.end
            or isinstance(s.node, ast.FunctionDef | ast.ClassDef | ast.Import | ast.ImportFrom)
        ]
        defined = {n for s in kept for n in s.binds}
        unresolved = {n for s in kept for n in s.uses} - defined - BUILTINS
        untagged = [
            c.number for c in cells if not (c.tags & (EXTRACT_TAGS | {"parameters", "skip"}))
        ]
        for number in untagged:
            dropped.append(Dropped(number, "cell", "untagged (the notebook uses cell tags)"))
    else:
        kept, unresolved = backward_slice(stmts, {fit.model_var}, end=choice.end + 1)
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
        notes=choice.notes,
        aliases=sorted(choice.site.aliases),
        unseeded=choice.unseeded,
        capture_cell=stmts[choice.end].cell.number,
    )
