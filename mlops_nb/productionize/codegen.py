"""Write ``train.py`` and ``features.py`` from an extraction and its data flow."""

from __future__ import annotations

import ast
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.productionize.extract import Extraction
from mlops_nb.productionize.featurize import DataFlow
from mlops_nb.productionize.slicing import Stmt


@dataclass
class DataArg:
    flag: str
    dest: str
    default: str
    cell: int


@dataclass
class TrainingCode:
    """The generated sources and what the rest of productionize needs to know about them."""

    train_py: str
    features_py: str | None
    data_args: list[DataArg] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    targets: list[str] = field(default_factory=list)


def _indent(text: str) -> str:
    return textwrap.indent(text, "    ")


def _is_definition(stmt: Stmt) -> bool:
    return isinstance(stmt.node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def _is_import(stmt: Stmt) -> bool:
    return isinstance(stmt.node, ast.Import | ast.ImportFrom)


class _DataPaths(ast.NodeTransformer):
    """Replace string literals naming existing files with ``args.<dest>``."""

    def __init__(self, base: Path, found: dict[str, DataArg], cell: int) -> None:
        self.base = base
        self.found = found
        self.cell = cell
        self.changed = False

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if not isinstance(value, str) or not value or len(value) > 400 or "\n" in value:
            return node
        path = Path(value) if Path(value).is_absolute() else self.base / value
        try:
            if not path.is_file():
                return node
        except OSError:
            return node
        arg = self.found.get(value)
        if arg is None:
            stem = re.sub(r"[^a-z0-9]+", "-", Path(value).stem.lower()).strip("-") or "file"
            arg = DataArg(flag=f"data-{stem}", dest="", default=str(path.resolve()), cell=self.cell)
            self.found[value] = arg
        self.changed = True
        return ast.copy_location(
            ast.Attribute(value=ast.Name("args", ast.Load()), attr="DEST:" + value, ctx=ast.Load()),
            node,
        )


def _statement_source(stmt: Stmt, base: Path, found: dict[str, DataArg]) -> str:
    tree = ast.parse(textwrap.dedent(stmt.source))
    transformer = _DataPaths(base, found, stmt.cell.number)
    tree = transformer.visit(tree)
    if not transformer.changed:
        return stmt.source
    return ast.unparse(tree)


def _finalize_data_args(found: dict[str, DataArg], sources: list[str]) -> list[str]:
    args = list(found.items())
    if len(args) == 1:
        args[0][1].flag = "data"
    for _, arg in args:
        arg.dest = arg.flag.replace("-", "_")
    out = []
    for text in sources:
        for literal, arg in args:
            text = text.replace("args.DEST:" + literal, f"args.{arg.dest}")
        out.append(text)
    return out


def _param_spec(name: str, value: Any, cell: int, base: Path) -> dict[str, Any]:
    if isinstance(value, bool):
        kind = 'lambda v: v.lower() in ("1", "true", "yes")'
        metavar = "BOOL"
    elif isinstance(value, int):
        kind, metavar = "int", "N"
    elif isinstance(value, float):
        kind, metavar = "float", "X"
    elif isinstance(value, str):
        kind, metavar = "str", "TEXT"
        candidate = base / value
        if value and not Path(value).is_absolute() and candidate.is_file():
            value = str(candidate.resolve())
    else:
        kind, metavar = "json.loads", "JSON"
    default = repr(value) if kind != "json.loads" else repr(__import__("json").dumps(value))
    return {
        "name": name,
        "flag": name.replace("_", "-"),
        "type": kind,
        "default": default,
        "metavar": metavar,
        "cell": cell,
        "value": value,
    }


def generate(ex: Extraction, flow: DataFlow, render: Any) -> TrainingCode:
    """Sources of train.py and features.py (``render(template, **context)`` fills templates)."""
    base = ex.notebook.parent
    fp = flow.features
    feature_ids = {s.index for s in fp.statements} if fp else set()
    moved = {s.node.name for s in fp.functions} if fp else set()  # type: ignore[attr-defined]
    params = {p.name: p for p in ex.parameters}
    used = set().union(*(s.uses for s in ex.statements))
    param_specs = [
        _param_spec(p.name, p.value, p.cell, base)
        for p in ex.parameters
        if p.name in used and not (fp and p.name in fp.parameters)
    ]
    train_uses = set().union(
        *(
            s.uses
            for s in ex.statements
            if s.index not in feature_ids
            and not _is_import(s)
            and not (_is_definition(s) and s.node.name in moved)  # type: ignore[attr-defined]
        )
    )
    imports = [s.source for s in ex.statements if _is_import(s) and s.binds & train_uses]
    functions = [
        s.source
        for s in ex.statements
        if _is_definition(s) and s.node.name not in moved  # type: ignore[attr-defined]
    ]
    found: dict[str, DataArg] = {}
    body: list[str] = []
    last_cell = None
    for stmt in ex.statements:
        if _is_import(stmt) or _is_definition(stmt):
            continue
        if stmt.binds and stmt.binds <= set(params) and not stmt.mutates:
            continue
        if stmt.index in feature_ids:
            assert fp is not None
            if stmt is fp.statements[0]:
                cells = ", ".join(str(c) for c in fp.cells)
                lines = [
                    f"# notebook cell(s) {cells}: feature code, in features.py",
                    f"raw_frame = {fp.raw_var}.copy()",
                    f"derived = feature_code.derive({fp.raw_var})",
                    *[f'{name} = derived["{name}"]' for name in fp.returns],
                ]
                body.append("\n".join(lines))
                last_cell = None
            continue
        text = _statement_source(stmt, base, found)
        if stmt.cell.number != last_cell:
            text = f"# notebook cell {stmt.cell.number}\n{text}"
            last_cell = stmt.cell.number
        body.append(text)
    body = _finalize_data_args(found, body)
    train_functions = [s for s in ex.statements if _is_definition(s) and s.node.name not in moved]  # type: ignore[attr-defined]
    body_binds = set().union(*(s.binds for s in ex.statements if not _is_definition(s)))
    free_in_functions = (
        set().union(*(s.uses for s in train_functions)) if train_functions else set()
    )
    global_names = sorted(free_in_functions & (body_binds | {p["name"] for p in param_specs}))
    split = flow.split
    x_fit, y_fit = ex.fit.x_src, ex.fit.y_src
    x_eval = split.x_eval if split and split.x_eval else x_fit
    y_eval = split.y_eval if split and split.y_eval else y_fit
    non_feature_uses = set().union(
        *(s.uses for s in ex.statements if s.index not in feature_ids and not _is_definition(s))
    )
    train_py = render(
        "train.py.j2",
        version=__version__,
        notebook_name=ex.notebook.name,
        cells=ex.cells,
        model_var=ex.model_var,
        has_features=fp is not None,
        feature_functions_used=sorted(moved & non_feature_uses),
        imports=imports,
        functions=functions,
        parameters=param_specs,
        data_args=list(found.values()),
        global_names=global_names,
        body=_indent("\n".join(body)),
        x_fit=x_fit,
        y_fit=y_fit,
        x_eval=x_eval,
        y_eval=y_eval,
        inputs_expr=f"raw_frame.loc[{x_fit}.index]" if fp else x_fit,
        target_columns=fp.targets if fp else [],
    )
    features_py = None
    if fp is not None:
        features_py = features_source(ex, flow, render, raw_columns=None)
    return TrainingCode(
        train_py=train_py,
        features_py=features_py,
        data_args=list(found.values()),
        parameters={p["name"]: p["value"] for p in param_specs},
        targets=fp.targets if fp else [],
    )


def features_source(
    ex: Extraction, flow: DataFlow, render: Any, raw_columns: list[str] | None
) -> str:
    fp = flow.features
    assert fp is not None
    params = {p.name: p.value for p in ex.parameters}
    return render(
        "features.py.j2",
        model_var=ex.model_var,
        notebook_name=ex.notebook.name,
        cells=fp.cells,
        imports=[s.source for s in fp.imports],
        target_columns=fp.targets,
        raw_columns=raw_columns,
        parameters=[(name, repr(params[name])) for name in fp.parameters],
        functions=[s.source for s in fp.functions],
        raw_var=fp.raw_var,
        body=_indent("\n".join(s.source for s in fp.statements)),
        returns=fp.returns,
        x_var=fp.x_var,
    )
