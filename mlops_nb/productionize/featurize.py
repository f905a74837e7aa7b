"""Find the notebook code that derives the model's features from a raw frame.

When the fitted ``X`` comes from a raw frame through notebook functions or column arithmetic, that
code moves to ``features.py``: ``train.py`` and the service both call it, so the service takes the
raw columns and training and serving cannot skew. A pure column selection (``df[cols]``,
``df.drop(columns=...)``) needs no feature code: the service takes the model's columns directly.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from mlops_nb.productionize.extract import Extraction
from mlops_nb.productionize.slicing import BUILTINS, Stmt, backward_slice, base_name

_DERIVING_METHODS = {"assign", "apply", "eval", "pipe", "transform", "map", "applymap", "where"}


@dataclass
class Split:
    """``X_tr, X_te, y_tr, y_te = train_test_split(X, y, ...)``."""

    stmt: Stmt
    x_full: str
    y_full: str | None
    x_eval: str | None
    y_eval: str | None


@dataclass
class FeaturePlan:
    """The feature code and how ``train.py`` calls it."""

    raw_var: str
    load_stmt: Stmt
    statements: list[Stmt]
    functions: list[Stmt]
    imports: list[Stmt]
    parameters: list[str]
    targets: list[str]
    returns: list[str]
    x_var: str

    @property
    def cells(self) -> list[int]:
        return sorted({s.cell.number for s in [*self.functions, *self.statements]})


@dataclass
class DataFlow:
    """How the fitted data is made: the split (if any) and the feature code (if any)."""

    split: Split | None
    features: FeaturePlan | None
    notes: list[str] = field(default_factory=list)


def find_split(ex: Extraction) -> Split | None:
    x_arg = ex.fit.x_arg
    for stmt in reversed(ex.statements):
        node = stmt.node
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Tuple) or x_arg not in stmt.binds:
            continue
        names = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
        args = [a.id if isinstance(a, ast.Name) else None for a in node.value.args]
        if len(names) == 4 and names[0] == x_arg and args and args[0]:
            return Split(
                stmt=stmt,
                x_full=args[0],
                y_full=args[1] if len(args) > 1 else None,
                x_eval=names[1],
                y_eval=names[3],
            )
    return None


def _is_deriving(stmt: Stmt, functions: set[str]) -> str | None:
    """The frame variable this statement derives features from, if it does."""
    node = stmt.node
    for call in (n for n in ast.walk(node) if isinstance(n, ast.Call)):
        if isinstance(call.func, ast.Name) and call.func.id in functions:
            for arg in call.args:
                if isinstance(arg, ast.Name):
                    return arg.id
        if isinstance(call.func, ast.Attribute) and call.func.attr in _DERIVING_METHODS:
            receiver = base_name(call.func.value)
            if receiver:
                return receiver
    if isinstance(node, ast.Assign | ast.AugAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        for target in targets:
            if isinstance(target, ast.Subscript | ast.Attribute):
                return base_name(target)
    return None


def _string_constants(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def _targets(ex: Extraction, y_var: str | None, end: int) -> list[str]:
    if y_var is None:
        return []
    for stmt in reversed(ex.statements[:end]):
        if y_var in stmt.binds:
            node = stmt.node
            found = []
            for n in ast.walk(node):
                if isinstance(n, ast.Subscript):
                    found += _string_constants(n.slice)
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute):
                    if n.func.attr == "pop":
                        found += [
                            a.value
                            for a in n.args
                            if isinstance(a, ast.Constant) and isinstance(a.value, str)
                        ]
                elif (
                    isinstance(n, ast.Attribute)
                    and isinstance(n.value, ast.Name)
                    and n.attr not in {"values", "to_numpy", "copy", "astype", "ravel"}
                ):
                    found.append(n.attr)
            return [t for t in dict.fromkeys(found) if isinstance(t, str)]
    return []


def plan(ex: Extraction) -> DataFlow:
    """Work out the split and the feature code of an extraction."""
    split = find_split(ex)
    x_full = split.x_full if split else ex.fit.x_arg
    y_full = split.y_full if split else ex.fit.y_arg
    flow = DataFlow(split=split, features=None)
    if x_full is None:
        flow.notes.append("the model is fitted on an expression, not a variable: no feature code")
        return flow
    stop_stmt = split.stmt if split else ex.fit.stmt
    end = ex.statements.index(stop_stmt)
    x_slice, _ = backward_slice(ex.statements[:end], {x_full})
    functions = {s.node.name for s in ex.statements if isinstance(s.node, ast.FunctionDef)}
    first = next(
        ((i, var) for i, s in enumerate(x_slice) if (var := _is_deriving(s, functions))), None
    )
    if first is None:
        return flow
    position, raw_var = first
    loads = [s for s in x_slice[:position] if raw_var in s.binds]
    if not loads:
        flow.notes.append(f"`{raw_var}` is not loaded before its features are derived")
        return flow
    load = loads[-1]
    after = x_slice[x_slice.index(load) + 1 :]
    params = {p.name for p in ex.parameters}
    stmts = [
        s
        for s in after
        if not isinstance(s.node, ast.FunctionDef | ast.Import | ast.ImportFrom)
        and not (s.binds and s.binds <= params)
    ]
    defs = {s.node.name: s for s in ex.statements if isinstance(s.node, ast.FunctionDef)}
    needed_functions = _functions_used(stmts, defs)
    free = set().union(*(s.uses for s in stmts)) | set().union(*(f.uses for f in needed_functions))
    free -= set().union(*(s.binds for s in stmts))
    free -= {raw_var, *defs}
    imports = [
        s
        for s in ex.statements
        if isinstance(s.node, ast.Import | ast.ImportFrom) and s.binds & free
    ]
    free -= set().union(*(s.binds for s in imports)) if imports else set()
    used_params = sorted(free & params)
    free -= params
    free -= BUILTINS
    if free:
        flow.notes.append(
            "feature code depends on " + ", ".join(sorted(free)) + ": kept inside train.py"
        )
        return flow
    targets = _targets(ex, y_full, end)
    if not targets:
        flow.notes.append("could not tell the target column from `y`: no feature code")
        return flow
    later = [s for s in ex.statements if s.index > stmts[-1].index and s not in stmts]
    used_later = set().union(*(s.uses for s in later)) if later else set()
    bound = set().union(*(s.defines for s in stmts))
    returns = sorted((bound & used_later) | {x_full})
    flow.features = FeaturePlan(
        raw_var=raw_var,
        load_stmt=load,
        statements=stmts,
        functions=needed_functions,
        imports=imports,
        parameters=used_params,
        targets=targets,
        returns=returns,
        x_var=x_full,
    )
    return flow


def _functions_used(stmts: list[Stmt], defs: dict[str, Stmt]) -> list[Stmt]:
    todo = set().union(*(s.uses for s in stmts)) & set(defs)
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        seen.add(name)
        todo |= (defs[name].uses & set(defs)) - seen
    return sorted((defs[n] for n in seen), key=lambda s: s.index)
