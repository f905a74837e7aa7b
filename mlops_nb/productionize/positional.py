"""Rows held out by position: ``X_train, X_test = X[:600], X[600:]`` (or ``.iloc``, or the slice
written straight into ``fit``/``score``), the way time-ordered data and many course notebooks
split instead of ``train_test_split``.

An expression is followed back through plain assignments to a positional row slice of a named
table; two slices of the same table hold disjoint rows when their bounds, counted from the same
end, do not overlap (``[:600]``/``[600:]``, ``[:-100]``/``[-100:]``). Bounds that are not integer
literals, steps, or slices of different tables are not recognised (the notebook is then said to
hold no rows out, as before).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace

from mlops_nb.productionize.slicing import Stmt

#: how many assignments are followed back from an expression
MAX_DEPTH = 8
#: methods whose result holds some of the rows of the table they are called on, never others
ROW_KEEPING = {
    "drop",
    "copy",
    "dropna",
    "fillna",
    "astype",
    "reset_index",
    "to_numpy",
    "select_dtypes",
    "filter",
    "assign",
}


@dataclass(frozen=True)
class Rows:
    """``table[lower:upper]`` by position: ``table`` is the sliced expression (``X`` or
    ``X.iloc``), bounds are integers (negative: from the end) or None."""

    table: str
    sliced: ast.expr
    lower: int | None
    upper: int | None
    #: the expression is the slice itself (not columns or a subset of its rows)
    direct: bool = True

    def disjoint(self, other: Rows) -> bool:
        if self.table != other.table:
            return False
        return _before(self.upper, other.lower) or _before(other.upper, self.lower)

    def slice_of(self, table: ast.expr) -> str:
        """The same rows of another table (``y[600:]`` for ``X[600:]``)."""
        bounds = ast.Slice(lower=_literal(self.lower), upper=_literal(self.upper))
        return ast.unparse(ast.Subscript(value=table, slice=bounds, ctx=ast.Load()))


def _before(upper: int | None, lower: int | None) -> bool:
    """Whether every row below ``upper`` comes before every row from ``lower`` on."""
    if upper is None or lower is None:
        return False
    if (upper < 0) != (lower < 0):
        return False  # counted from different ends: depends on the table's length
    return upper <= lower


def _literal(value: int | None) -> ast.expr | None:
    if value is None:
        return None
    if value < 0:
        return ast.UnaryOp(op=ast.USub(), operand=ast.Constant(-value))
    return ast.Constant(value)


def _bound(node: ast.expr | None) -> tuple[bool, int | None]:
    if node is None:
        return True, None
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return True, node.value
    if (
        isinstance(node, ast.UnaryOp)
        and isinstance(node.op, ast.USub)
        and isinstance(node.operand, ast.Constant)
        and type(node.operand.value) is int
    ):
        return True, -node.operand.value
    return False, None


def rows_of(expr: ast.expr, before: list[Stmt], depth: int = 0) -> Rows | None:
    """The positional rows ``expr`` selects, following names back through ``before``."""
    if depth > MAX_DEPTH:
        return None
    if isinstance(expr, ast.Subscript) and isinstance(expr.slice, ast.Slice):
        part = expr.slice
        table = expr.value
        ok_lower, lower = _bound(part.lower)
        ok_upper, upper = _bound(part.upper)
        if (
            part.step is not None
            or not (ok_lower and ok_upper)
            or (lower is None and upper is None)
        ):
            return None
        iloc = isinstance(table, ast.Attribute) and table.attr == "iloc"
        name = table.value if isinstance(table, ast.Attribute) and iloc else table
        if not isinstance(name, ast.Name):
            return None
        return Rows(ast.unparse(table), table, lower, upper)
    inner = _rows_kept(expr)
    if inner is not None:  # columns of the rows, or some of them: still within the same rows
        found = rows_of(inner, before, depth + 1)
        return replace(found, direct=False) if found is not None else None
    if isinstance(expr, ast.Name):
        value = _assigned(expr.id, before)
        if value is None:
            return None
        position, node = value
        return rows_of(node, before[:position], depth + 1)
    return None


def _rows_kept(expr: ast.expr) -> ast.expr | None:
    """``t`` for an expression whose rows are some of ``t``'s: ``t[cols]``, ``t["a"]``, ``t[mask]``,
    ``t.values``, ``t.drop(columns=...)``, ``t.dropna()``, ``t.to_numpy()`` and the like."""
    if isinstance(expr, ast.Subscript) and not isinstance(expr.slice, ast.Slice):
        if isinstance(expr.value, ast.Attribute) and expr.value.attr in ("loc", "iloc"):
            return expr.value.value
        return expr.value
    if isinstance(expr, ast.Attribute) and expr.attr == "values":
        return expr.value
    if (
        isinstance(expr, ast.Call)
        and isinstance(expr.func, ast.Attribute)
        and expr.func.attr in ROW_KEEPING
    ):
        return expr.func.value
    return None


def _assigned(name: str, before: list[Stmt]) -> tuple[int, ast.expr] | None:
    """The expression last bound to ``name`` by a plain assignment (``name = e`` or one element
    of ``a, name = e1, e2``), and the statement's position; None if anything else binds it."""
    for position in range(len(before) - 1, -1, -1):
        stmt = before[position]
        if name not in stmt.defines:
            continue
        node = stmt.node
        if not isinstance(node, ast.Assign) or len(node.targets) != 1:
            return None
        target = node.targets[0]
        if isinstance(target, ast.Name) and target.id == name:
            return position, node.value
        if isinstance(target, ast.Tuple | ast.List) and isinstance(
            node.value, ast.Tuple | ast.List
        ):
            for element, value in zip(target.elts, node.value.elts, strict=False):
                if isinstance(element, ast.Name) and element.id == name:
                    return position, value
        return None
    return None
