"""Statement-level data flow over notebook cells, and the backward slice from a variable.

Each top-level statement gets the names it binds, the names it mutates (``df["c"] = ...``,
``model.fit(...)``, ``inplace=True``) and the names it reads. Slicing walks the statements backwards
from the end of the notebook, keeping every statement that binds or mutates a name still needed.
"""

from __future__ import annotations

import ast
import builtins
from dataclasses import dataclass, field

from mlops_nb.productionize.notebook import Cell

#: method calls that change their receiver (as a statement, or anywhere for fit-like ones)
MUTATING_METHODS = {
    "fit",
    "partial_fit",
    "fit_transform",
    "fit_predict",
    "fit_resample",
    "set_params",
    "append",
    "extend",
    "insert",
    "update",
    "pop",
    "remove",
    "clear",
    "setdefault",
    "add",
    "sort",
    "reverse",
    "popitem",
    "discard",
    "__setitem__",
    "set_output",
}
_FIT_ANYWHERE = {"fit", "partial_fit", "fit_transform", "fit_predict"}
BUILTINS = set(dir(builtins)) | {"__file__", "__name__", "display", "get_ipython", "In", "Out"}


@dataclass
class Stmt:
    """One top-level statement of a code cell."""

    index: int
    cell: Cell
    node: ast.stmt
    binds: set[str] = field(default_factory=set)
    mutates: set[str] = field(default_factory=set)
    uses: set[str] = field(default_factory=set)
    may_bind: bool = False  # compound statements: binds are possible, not certain

    @property
    def defines(self) -> set[str]:
        return self.binds | self.mutates

    @property
    def source(self) -> str:
        return ast.get_source_segment(self.cell.code, self.node) or ast.unparse(self.node)

    @property
    def lineno(self) -> int:
        return self.node.lineno


def base_name(node: ast.AST) -> str | None:
    """``df`` for ``df``, ``df["a"]``, ``df.loc[:, "a"]``, ``model.steps[0]``."""
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _target_names(target: ast.AST, binds: set[str], mutates: set[str]) -> None:
    if isinstance(target, ast.Name):
        binds.add(target.id)
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            _target_names(element, binds, mutates)
    elif isinstance(target, ast.Starred):
        _target_names(target.value, binds, mutates)
    elif isinstance(target, ast.Attribute | ast.Subscript):
        name = base_name(target)
        if name:
            mutates.add(name)


def _loads(node: ast.AST) -> set[str]:
    """Names ``node`` reads from the notebook's namespace: a lambda's parameters and a
    comprehension's variables are local to them (``df.apply(lambda r: r.a, axis=1)`` reads
    ``df``, not ``r``)."""
    if isinstance(node, ast.Lambda):
        return _function_free_names(node)
    if isinstance(node, ast.ListComp | ast.SetComp | ast.GeneratorExp | ast.DictComp):
        bound = {
            t.id for gen in node.generators for t in ast.walk(gen.target) if isinstance(t, ast.Name)
        }
        inner: set[str] = set()
        for gen in node.generators:
            inner |= _loads(gen.iter)
            for cond in gen.ifs:
                inner |= _loads(cond)
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        for part in parts:
            inner |= _loads(part)
        # the first iterable is evaluated outside the comprehension
        return (inner - bound) | _loads(node.generators[0].iter)
    if isinstance(node, ast.Name):
        return {node.id} if isinstance(node.ctx, ast.Load) else set()
    found: set[str] = set()
    for child in ast.iter_child_nodes(node):
        found |= _loads(child)
    return found


def _function_free_names(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> set[str]:
    """Names a function reads from the enclosing (notebook) namespace."""
    local: set[str] = set()
    args = node.args
    for arg in [*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg]:
        if arg is not None:
            local.add(arg.arg)
    body = node.body if isinstance(node.body, list) else [node.body]
    for sub in body:
        for n in ast.walk(sub):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                local.add(n.id)
            elif isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                local.add(n.name)
            elif isinstance(n, ast.alias):
                local.add((n.asname or n.name).split(".")[0])
    used: set[str] = set()
    for sub in body:
        used |= _loads(sub)
    defaults = [*args.defaults, *[d for d in args.kw_defaults if d is not None]]
    for default in defaults:
        used |= _loads(default)
    return used - local


def _call_mutations(node: ast.AST, local_functions: set[str]) -> set[str]:
    """Receivers changed by calls inside ``node``: ``x.fit()``, ``df.drop(..., inplace=True)``,
    and the frame arguments of notebook functions called as a statement."""
    mutated: set[str] = set()
    for n in ast.walk(node):
        if not isinstance(n, ast.Call):
            continue
        func = n.func
        if isinstance(func, ast.Attribute):
            receiver = base_name(func.value)
            inplace = any(
                k.arg == "inplace" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in n.keywords
            )
            if receiver and (func.attr in _FIT_ANYWHERE or inplace):
                mutated.add(receiver)
    return mutated


def analyse(cells: list[Cell], local_functions: set[str] | None = None) -> list[Stmt]:
    """Top-level statements of all cells, in notebook order, with binds/mutates/uses."""
    functions = set(local_functions or ())
    for cell in cells:
        for node in cell.tree.body:
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                functions.add(node.name)
    stmts: list[Stmt] = []
    for cell in cells:
        for node in cell.tree.body:
            stmt = Stmt(index=len(stmts), cell=cell, node=node)
            _fill(stmt, node, functions)
            stmts.append(stmt)
    return stmts


def _fill(stmt: Stmt, node: ast.stmt, functions: set[str]) -> None:
    binds, mutates = stmt.binds, stmt.mutates
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        binds.add(node.name)
        if isinstance(node, ast.ClassDef):
            for item in node.body:  # methods read the notebook namespace as functions do
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    stmt.uses |= _function_free_names(item)
                else:
                    stmt.uses |= _loads(item)
            stmt.uses |= set().union(*(_loads(b) for b in node.bases)) if node.bases else set()
        else:
            stmt.uses |= _function_free_names(node)
        stmt.uses |= (
            set().union(*(_loads(d) for d in node.decorator_list)) if node.decorator_list else set()
        )
        stmt.uses.discard(node.name)
        return
    if isinstance(node, ast.Import | ast.ImportFrom):
        for alias in node.names:
            binds.add((alias.asname or alias.name).split(".")[0])
        return
    if isinstance(node, ast.Assign):
        for target in node.targets:
            _target_names(target, binds, mutates)
    elif isinstance(node, ast.AugAssign | ast.AnnAssign):
        _target_names(node.target, binds, mutates)
        if isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            mutates.add(node.target.id)
            binds.discard(node.target.id)
    elif isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
        func = node.value.func
        if isinstance(func, ast.Attribute) and func.attr in MUTATING_METHODS:
            receiver = base_name(func.value)
            if receiver:
                mutates.add(receiver)
        elif isinstance(func, ast.Name) and func.id in functions:
            for arg in node.value.args:
                if isinstance(arg, ast.Name):
                    mutates.add(arg.id)
    elif isinstance(node, ast.For | ast.AsyncFor | ast.While | ast.If | ast.With | ast.Try):
        stmt.may_bind = True
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store):
                binds.add(n.id)
            elif isinstance(n, ast.Assign | ast.AugAssign):
                targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                for target in targets:
                    if isinstance(target, ast.Attribute | ast.Subscript):
                        name = base_name(target)
                        if name:
                            mutates.add(name)
            elif (
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr in MUTATING_METHODS
            ):
                name = base_name(n.func.value)
                if name:
                    mutates.add(name)
    mutates |= _call_mutations(node, functions)
    stmt.uses |= _loads(node)
    for n in ast.walk(node):
        if isinstance(n, ast.Lambda):
            stmt.uses |= _function_free_names(n)
    # a mutated name is also read (its earlier value flows on)
    stmt.uses |= mutates


def backward_slice(
    stmts: list[Stmt], targets: set[str], end: int | None = None
) -> tuple[list[Stmt], set[str]]:
    """Statements (in order) that ``targets`` depend on at statement ``end`` (default: the end).

    Returns the kept statements and the names that no statement defines (builtins excluded).
    """
    needed = set(targets)
    kept: list[Stmt] = []
    stop = len(stmts) if end is None else end
    for stmt in reversed(stmts[:stop]):
        if not (stmt.defines & needed):
            continue
        kept.append(stmt)
        if not stmt.may_bind:
            needed -= stmt.binds - stmt.uses
        needed |= stmt.uses
    kept.reverse()
    unresolved = {name for name in needed if name not in BUILTINS}
    defined_anywhere: set[str] = set()
    for stmt in kept:
        defined_anywhere |= stmt.binds
    return kept, unresolved - defined_anywhere
