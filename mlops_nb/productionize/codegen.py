"""Write ``features.py`` (the data code, shared by train.py and the service) and ``train.py``
(the model code) from an extraction and its data flow."""

from __future__ import annotations

import ast
import os
import re
import textwrap
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.productionize.dataflow import DataFlow, FeaturePlan
from mlops_nb.productionize.extract import Extraction
from mlops_nb.productionize.rewrite import Aliases, rewrite_function, rewrite_statement, unparse
from mlops_nb.productionize.slicing import BUILTINS, Stmt

#: the runtime module copied beside features.py
RUNTIME_MODULE = Path(__file__).with_name("feature_runtime.py")


@dataclass
class DataArg:
    """A data file the notebook reads: a train.py flag whose default is relative to the service."""

    flag: str
    dest: str
    default: str  # relative to the service directory (or absolute outside it)
    cell: int
    named: bool = False  # named after a notebook parameter (kept as the flag)


@dataclass
class TrainingCode:
    """The generated sources and what the rest of productionize needs to know about them."""

    train_py: str
    features_py: str
    data_args: list[DataArg] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    engineered: bool = False
    local_modules: list[Path] = field(default_factory=list)  # helper modules beside the notebook
    module_sources: dict[str, str] = field(default_factory=dict)  # rewritten helper modules


def _param_spec(name: str, value: Any, cell: int) -> dict[str, Any]:
    if isinstance(value, bool):
        kind, metavar = "_boolean", "BOOL"
    elif isinstance(value, int):
        kind, metavar = "int", "N"
    elif isinstance(value, float):
        kind, metavar = "float", "X"
    elif isinstance(value, str):
        kind, metavar = "str", "TEXT"
    else:
        kind, metavar = "json.loads", "JSON"
    return {
        "name": name,
        "flag": name.replace("_", "-"),
        "type": kind,
        "metavar": metavar,
        "cell": cell,
        "value": value,
    }


class _Paths:
    """String literals (and string parameters) naming files beside the notebook."""

    def __init__(self, notebook_dir: Path, service_dir: Path) -> None:
        self.base = notebook_dir
        self.service = service_dir
        self.found: dict[str, DataArg] = {}

    def file(self, value: object) -> Path | None:
        if not isinstance(value, str) or not value or len(value) > 400 or "\n" in value:
            return None
        path = Path(value) if Path(value).is_absolute() else self.base / value
        try:
            return path.resolve() if path.is_file() else None
        except OSError:
            return None

    def relative(self, path: Path) -> str:
        try:
            return os.path.relpath(path, self.service)
        except ValueError:
            return str(path)

    def arg_for(self, value: str, cell: int, dest: str | None = None) -> DataArg | None:
        path = self.file(value)
        if path is None:
            return None
        arg = self.found.get(value)
        if arg is None:
            stem = dest or "data_" + (
                re.sub(r"[^a-z0-9]+", "_", path.stem.lower()).strip("_") or "file"
            )
            arg = DataArg(
                flag=stem.replace("_", "-"),
                dest=stem,
                default=self.relative(path),
                cell=cell,
                named=dest is not None,
            )
            self.found[value] = arg
        return arg

    def constant(self, cell: int) -> Any:
        def replace(node: ast.Constant) -> ast.expr | None:
            if not isinstance(node.value, str):
                return None
            arg = self.found.get(node.value)
            if arg is None:
                return None
            return ast.Subscript(
                value=ast.Name("P", ast.Load()), slice=ast.Constant(arg.dest), ctx=ast.Load()
            )

        return replace

    def finalize(self) -> list[DataArg]:
        args = list(self.found.values())
        if len(args) == 1 and not args[0].named:
            args[0].dest, args[0].flag = "data", "data"
        return args


def _is_def(stmt: Stmt) -> bool:
    return isinstance(stmt.node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)


def _is_import(stmt: Stmt) -> bool:
    return isinstance(stmt.node, ast.Import | ast.ImportFrom)


def _header(stmt: Stmt, last: list[int | None]) -> list[str]:
    if last[0] == stmt.cell.number:
        return []
    last[0] = stmt.cell.number
    return [f"# notebook cell {stmt.cell.number}"]


def generate(
    ex: Extraction, flow: DataFlow, render: Any, service_dir: Path, engineered: bool = False
) -> TrainingCode:
    """Sources of features.py and train.py (``render(template, **context)`` fills templates)."""
    fp = flow.features
    if fp is None and not engineered:
        raise ValueError("no feature plan: pass engineered=True")
    paths = _Paths(ex.notebook.parent, service_dir)
    params = {p.name: p for p in ex.parameters}
    for p in ex.parameters:  # a string parameter naming a file is a data file
        if isinstance(p.value, str):
            paths.arg_for(p.value, p.cell, dest=p.name)
    for stmt in ex.statements:  # name every data file before the code refers to it
        for node in ast.walk(stmt.node):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                paths.arg_for(node.value, stmt.cell.number)
    data_args = paths.finalize()
    imports_nodes = [s.node for s in ex.all_statements if _is_import(s)]
    aliases = Aliases(imports_nodes)
    if fp is not None and not engineered:
        program_lines, functions, feature_imports, program_params, training_imports = (
            _feature_program(ex, fp, aliases, paths)
        )
        x_fit, y_fit = fp.x_fit, fp.y_fit
        model_input = _model_input(x_fit, aliases, paths, ex.fit.stmt.cell.number)
        evaluation = fp.evaluation
        model_stmts = fp.model_stmts
        cells = fp.cells
    else:
        training_imports = []
        program_lines, functions, feature_imports, program_params, model_stmts = (
            _engineered_program(ex, paths)
        )
        x_fit, y_fit = ex.fit.x_src, ex.fit.y_src
        model_input = f"_X = {x_fit}"
        evaluation = None
        cells = sorted({s.cell.number for s in ex.statements if not _is_def(s)})
    data_dests = {a.dest for a in data_args}
    feature_params = {name: params[name].value for name in program_params if name not in data_dests}
    for arg in data_args:
        feature_params[arg.dest] = arg.default
    eval_x = evaluation.x if evaluation else None
    eval_y = evaluation.y if evaluation else None
    features_py = render(
        "features.py.j2",
        model_var=ex.model_var,
        notebook_name=ex.notebook.name,
        cells=cells,
        imports=feature_imports,
        training_imports=training_imports,
        functions=functions,
        parameters=_literal(feature_params),
        parameter_names=sorted(program_params),
        body=textwrap.indent("\n".join(program_lines), "    ") if program_lines else "    pass",
        x_fit=x_fit,
        model_input=model_input,
        y_fit=y_fit,
        x_eval=eval_x,
        y_eval=eval_y,
        evaluated_on=evaluation.how if evaluation else None,
        engineered=engineered or fp is None,
    )
    train_py = _train_source(
        ex, flow, render, model_stmts, data_args, params, engineered or fp is None
    )
    specs = [
        _param_spec(p.name, p.value, p.cell) for p in ex.parameters if p.name not in data_dests
    ]
    imported = [s for s in ex.all_statements if _is_import(s)]
    modules = local_modules(ex.notebook.parent, [s.node for s in imported])
    return TrainingCode(
        local_modules=[m for m in modules if m.is_dir()],
        module_sources={m.name: rewrite_module(m) for m in modules if m.is_file()},
        train_py=train_py,
        features_py=features_py,
        data_args=data_args,
        parameters={s["name"]: s["value"] for s in specs},
        engineered=engineered or fp is None,
    )


def _feature_program(
    ex: Extraction, fp: FeaturePlan, aliases: Aliases, paths: _Paths
) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    lines: list[str] = []
    last: list[int | None] = [None]
    split = fp.split
    available = _module_names(ex, fp)
    for stmt in fp.program:
        serving = stmt.index in fp.serving
        if split is not None and stmt is split.stmt and serving:
            lines += _header(stmt, last)
            lines.append(_split_source(stmt, split, aliases, paths, available))
            continue
        if serving:
            available |= stmt.binds
        new = rewrite_statement(
            stmt.node,
            tag=f"cell{stmt.cell.number}",
            aliases=aliases,
            primary=fp.primary_call if stmt is fp.primary else None,
            constant=paths.constant(stmt.cell.number),
            serving=serving,
        )
        lines += _header(stmt, last)
        lines.append(unparse(new))
    functions = []
    for stmt in fp.functions:
        name = getattr(stmt.node, "name", "")
        if name in fp.passed_functions:
            functions.append(stmt.source)
        else:
            node = rewrite_function(
                stmt.node, tag=f"{name}", aliases=aliases, constant=paths.constant(stmt.cell.number)
            )
            functions.append(unparse([node]))
    needed = _serving_names("\n".join(lines)) | _names_in("\n".join(functions))
    imports = [s.source for s in fp.imports if s.binds & needed]
    training = [s.source for s in fp.imports if not s.binds & needed]
    return lines, functions, imports, list(fp.parameters), training


def _model_input(source: str, aliases: Aliases, paths: _Paths, cell: int) -> str:
    """``_X = <the fit's input>`` in its fitting/serving form: ``X[:300]`` in ``fit(X[:300], y)``
    selects training rows, so at serving it is every request row; a transformer fitted inside
    the argument (``fit(scaler.fit_transform(X), y)``) records its state like any other."""
    assign = ast.parse(f"_X = ({source})").body[0]
    new = rewrite_statement(
        assign,
        tag=f"cell{cell}-fit",
        aliases=aliases,
        primary=None,
        constant=paths.constant(cell),
        serving=True,
    )
    return unparse(new)


def _names_in(source: str) -> set[str]:
    return {n.id for n in ast.walk(ast.parse(source)) if isinstance(n, ast.Name)}


def _serving_names(program: str) -> set[str]:
    """Names the program reads at serving time: not inside ``if _S.fitting:`` blocks, nor in the
    data source's loader (at serving the source is the request). Imports of the other names
    (``load_*``, ``train_test_split``) move inside the program, so a service does not import
    what only training needs."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and ast.unparse(node.test) == "_S.fitting":
            for branch in node.orelse:
                visit(branch)
            return
        if isinstance(node, ast.Call) and ast.unparse(node.func) == "_S.source":
            return
        if isinstance(node, ast.Name):
            found.add(node.id)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(program))
    return found


def _module_names(ex: Extraction, fp: FeaturePlan) -> set[str]:
    names = set(BUILTINS) | {"P"} | set(fp.parameters)
    for stmt in [*fp.imports, *fp.functions]:
        names |= stmt.binds
    return names


def _split_source(
    stmt: Stmt, split: Any, aliases: Aliases, paths: _Paths, available: set[str]
) -> str:
    """The split: at training as written; at serving each part is its own input (the request)."""
    fitting = rewrite_statement(
        stmt.node,
        tag=f"cell{stmt.cell.number}",
        aliases=aliases,
        primary=None,
        constant=paths.constant(stmt.cell.number),
        serving=True,
    )
    serving: list[str] = []
    for i, array in enumerate(split.arrays):
        names = {n.id for n in ast.walk(array) if isinstance(n, ast.Name)}
        outputs = [n for n in split.outputs[2 * i : 2 * i + 2] if n]
        if outputs and names <= available:
            serving.append(f"{' = '.join(outputs)} = {ast.unparse(array)}")
    body = textwrap.indent(unparse(fitting), "    ")
    rest = textwrap.indent("\n".join(serving) or "pass", "    ")
    return f"if _S.fitting:\n{body}\nelse:\n{rest}"


def _engineered_program(
    ex: Extraction, paths: _Paths
) -> tuple[list[str], list[str], list[str], list[str], list[Stmt]]:
    """--engineered-input: the data code runs at training only; the API takes the model's input."""
    fit_pos = ex.statements.index(ex.fit.stmt)
    params = {p.name for p in ex.parameters}
    program = [
        s
        for s in ex.statements[:fit_pos]
        if not _is_def(s)
        and not _is_import(s)
        and not (s.binds and s.binds <= params and not s.mutates)
    ]
    lines: list[str] = []
    last: list[int | None] = [None]
    for stmt in program:
        transformer = _ConstantPaths(paths.constant(stmt.cell.number))
        node = transformer.visit(ast.parse(textwrap.dedent(stmt.source)))
        lines += _header(stmt, last)
        lines.append(ast.unparse(node))
    used = set().union(*(s.uses for s in program)) if program else set()
    functions = [s.source for s in ex.all_statements if _is_def(s) and s.node.name in used]  # type: ignore[attr-defined]
    imports = [s.source for s in ex.all_statements if _is_import(s) and s.binds & used]
    model_stmts = [s for s in ex.statements[fit_pos:] if not _is_def(s) and not _is_import(s)]
    return lines, functions, list(dict.fromkeys(imports)), sorted(used & params), model_stmts


class _ConstantPaths(ast.NodeTransformer):
    def __init__(self, replace: Any) -> None:
        self.replace = replace

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return self.replace(node) or node


def _called_functions(uses: set[str], defined: dict[str, Stmt], moved: set[str]) -> set[str]:
    found: set[str] = set()
    todo = [n for n in uses if n in defined and n not in moved]
    while todo:
        name = todo.pop()
        if name in found:
            continue
        found.add(name)
        todo += [n for n in defined[name].uses if n in defined and n not in moved]
    return found


def _train_source(
    ex: Extraction,
    flow: DataFlow,
    render: Any,
    model_stmts: list[Stmt],
    data_args: list[DataArg],
    params: dict[str, Any],
    engineered: bool,
) -> str:
    fp = flow.features
    model_uses = set().union(*(s.uses for s in model_stmts)) if model_stmts else set()
    model_binds = set().union(*(s.binds for s in model_stmts)) if model_stmts else set()
    defined_functions = {
        s.node.name: s  # type: ignore[attr-defined]
        for s in ex.all_statements
        if _is_def(s)
    }
    moved = {getattr(s.node, "name", "") for s in (fp.functions if fp and not engineered else [])}
    # notebook functions the model code calls (FunctionTransformer(add_ratio), a scorer), with the
    # functions they call in turn; their imports go into train.py too
    local_names = _called_functions(model_uses, defined_functions, moved)
    local_functions = [s.source for n, s in defined_functions.items() if n in local_names]
    needed = model_uses.union(*(defined_functions[n].uses for n in local_names))
    from_features = sorted(model_uses & moved)
    data_dests = {a.dest for a in data_args}
    train_params = [
        _param_spec(p.name, p.value, p.cell)
        for p in ex.parameters
        if p.name in model_uses and p.name not in data_dests
    ]
    flags = [
        _param_spec(p.name, p.value, p.cell) for p in ex.parameters if p.name not in data_dests
    ]
    import_stmts = [s for s in ex.all_statements if _is_import(s) and s.binds & needed]
    imports = [s.source for s in import_stmts]
    import_binds = set().union(*(s.binds for s in import_stmts)) if import_stmts else set()
    from_names = sorted(
        model_uses
        - model_binds
        - import_binds
        - set(defined_functions)
        - {p["name"] for p in train_params}
        - BUILTINS
    )
    body: list[str] = []
    last: list[int | None] = [None]
    for stmt in model_stmts:
        body += _header(stmt, last)
        body.append(stmt.source)
    return render(
        "train.py.j2",
        version=__version__,
        notebook_name=ex.notebook.name,
        cells=sorted({s.cell.number for s in model_stmts}),
        model_var=ex.model_var,
        imports=list(dict.fromkeys(imports)),
        from_features=from_features,
        functions=local_functions,
        flags=flags,
        defaults=_literal({p["name"]: p["value"] for p in flags}),
        train_params=train_params,
        data_args=data_args,
        from_names=from_names,
        body=textwrap.indent("\n".join(body), "    "),
        engineered=engineered,
    )


def local_modules(folder: Path, imports: list[ast.stmt]) -> list[Path]:
    """Modules the notebook imports from its own folder (``from helpers import f``): they travel
    with the service."""
    names: set[str] = set()
    for node in imports:
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module.split(".")[0])
    found = []
    for name in sorted(names):
        for candidate in (folder / f"{name}.py", folder / name / "__init__.py"):
            if candidate.is_file():
                found.append(candidate if candidate.name != "__init__.py" else candidate.parent)
                break
    return found


def rewrite_module(path: Path) -> str:
    """A helper module beside the notebook, its functions in fitting/serving form like the
    notebook's own (module-level code unchanged)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    aliases = Aliases([n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)])
    body: list[ast.stmt] = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            node = rewrite_function(
                node, tag=f"{path.stem}.{node.name}", aliases=aliases, constant=lambda c: None
            )
        body.append(node)
    header = ast.parse("from feature_runtime import S as _S").body
    insert = (
        1
        if body
        and isinstance(body[0], ast.Expr)
        and isinstance(getattr(body[0], "value", None), ast.Constant)
        else 0
    )
    while (
        insert < len(body)
        and isinstance(body[insert], ast.ImportFrom)
        and getattr(body[insert], "module", None) == "__future__"
    ):
        insert += 1
    body[insert:insert] = header
    note = (
        f"# {path.name}, rewritten by mlops-nb: the statistics and fits inside its functions are "
        "learned at training\n"
    )
    return note + unparse(body) + "\n"


def _literal(values: dict[str, Any]) -> str:
    """A dict as Python source (json would write true/null)."""
    text = repr(values)
    ast.literal_eval(text)
    return text


def runtime_source() -> str:
    """The text of feature_runtime.py, copied beside every features.py."""
    return RUNTIME_MODULE.read_text()
