"""Rewrite the notebook's data statements so they run in fitting or serving mode.

Each place whose result depends on the training rows becomes a call of ``_S`` (the runtime in
``feature_runtime.py``): statistics, transformers fitted outside a Pipeline, ``get_dummies``,
categoricals, ``qcut``/``cut`` bins, ``factorize``, row filters, samples and sorts, the split,
and the data sources. Everything else is the notebook's code, unchanged. Code inside lambdas and
inside functions passed as values (``df.apply(f)``) runs per row and is left alone.
"""

from __future__ import annotations

import ast
import copy
from collections.abc import Callable

from mlops_nb.productionize.dataflow import SPLIT_FUNCTIONS, is_source_call
from mlops_nb.productionize.estimators import called_name

RUNTIME = "_S"
#: reductions over rows (their result is a training statistic) unless ``axis=1``
REDUCTIONS = {
    "mean",
    "median",
    "mode",
    "std",
    "var",
    "min",
    "max",
    "sum",
    "prod",
    "quantile",
    "unique",
    "nunique",
    "value_counts",
    "count",
    "describe",
    "idxmax",
    "idxmin",
    "agg",
    "aggregate",
    "sem",
    "skew",
    "kurt",
    "nlargest",
    "nsmallest",
    "cov",
    "corr",
    "first_valid_index",
}
NUMPY_REDUCTIONS = {
    "mean",
    "median",
    "std",
    "var",
    "min",
    "max",
    "amin",
    "amax",
    "sum",
    "percentile",
    "quantile",
    "nanmean",
    "nanmedian",
    "nanstd",
    "nanvar",
    "nanmin",
    "nanmax",
    "nanpercentile",
    "nanquantile",
    "unique",
    "average",
    "ptp",
    "histogram_bin_edges",
}
#: row operations: training only
ROW_METHODS = {
    "dropna",
    "drop_duplicates",
    "sample",
    "head",
    "tail",
    "query",
    "sort_values",
    "sort_index",
    "drop",
}
_ACCESSORS = {"str", "dt", "cat", "sparse", "rolling", "expanding", "ewm"}


def _kw(call: ast.Call, name: str) -> ast.expr | None:
    for k in call.keywords:
        if k.arg == name:
            return k.value
    return None


def _is_const(node: ast.expr | None, *values: object) -> bool:
    return isinstance(node, ast.Constant) and node.value in values


def _axis_columns(call: ast.Call) -> bool:
    return _is_const(_kw(call, "axis"), 1, "columns")


def _is_row_call(call: ast.Call) -> bool:
    """``df.dropna()`` (not axis=1), ``df.drop(index)``, ``df.sample()``, ``df.sort_values()``..."""
    func = call.func
    if not isinstance(func, ast.Attribute) or func.attr not in ROW_METHODS:
        return False
    if func.attr == "dropna":
        return not _axis_columns(call)
    if func.attr == "drop":
        if _kw(call, "columns") is not None or _axis_columns(call):
            return False
        return _kw(call, "index") is not None or bool(call.args)
    if func.attr in ("head", "tail") and isinstance(func.value, ast.Call):
        return called_name(func.value) not in ("groupby",)
    return True


def _inplace(call: ast.Call) -> bool:
    return _is_const(_kw(call, "inplace"), True)


def _call(name: str, *args: ast.expr, keywords: list[ast.keyword] | None = None) -> ast.Call:
    return ast.Call(
        func=ast.Attribute(value=ast.Name(RUNTIME, ast.Load()), attr=name, ctx=ast.Load()),
        args=list(args),
        keywords=keywords or [],
    )


def _thunk(node: ast.expr, *params: str) -> ast.Lambda:
    return ast.Lambda(
        args=ast.arguments(
            posonlyargs=[],
            args=[ast.arg(p) for p in params],
            vararg=None,
            kwonlyargs=[],
            kw_defaults=[],
            kwarg=None,
            defaults=[],
        ),
        body=node,
    )


def _slice_expr(node: ast.expr) -> ast.expr:
    """A subscript's slice as an ordinary expression (``a:b`` -> ``slice(a, b)``)."""
    if isinstance(node, ast.Slice):
        none = ast.Constant(None)
        return ast.Call(
            func=ast.Name("slice", ast.Load()),
            args=[node.lower or none, node.upper or none, node.step or none],
            keywords=[],
        )
    if isinstance(node, ast.Tuple):
        return ast.Tuple([_slice_expr(e) for e in node.elts], ast.Load())
    return node


def _plain_columns(node: ast.expr) -> bool:
    """``df["a"]``, ``df[["a", "b"]]``, ``x[0]``: nothing to decide at run time."""
    if isinstance(node, ast.Constant):
        return True
    if isinstance(node, ast.List | ast.Tuple):
        return all(isinstance(e, ast.Constant) and isinstance(e.value, str) for e in node.elts)
    return False


class Aliases:
    """Which names refer to pandas and numpy in this notebook."""

    def __init__(self, imports: list[ast.stmt]) -> None:
        self.pandas: set[str] = set()
        self.numpy: set[str] = set()
        self.direct: dict[str, str] = {}  # name -> "pandas.get_dummies"
        for node in imports:
            if isinstance(node, ast.Import):
                for alias in node.names:
                    bound = alias.asname or alias.name.split(".")[0]
                    if alias.name == "pandas":
                        self.pandas.add(bound)
                    elif alias.name == "numpy":
                        self.numpy.add(bound)
            elif isinstance(node, ast.ImportFrom) and node.module in ("pandas", "numpy"):
                for alias in node.names:
                    self.direct[alias.asname or alias.name] = f"{node.module}.{alias.name}"

    def qualified(self, call: ast.Call) -> str | None:
        func = call.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            if func.value.id in self.pandas:
                return f"pandas.{func.attr}"
            if func.value.id in self.numpy:
                return f"numpy.{func.attr}"
        if isinstance(func, ast.Name):
            return self.direct.get(func.id)
        return None


class _Rewriter(ast.NodeTransformer):
    def __init__(
        self,
        tag: str,
        aliases: Aliases,
        primary: ast.Call | None,
        constant: Callable[[ast.Constant], ast.expr | None],
    ) -> None:
        self.tag = tag
        self.aliases = aliases
        self.primary = primary
        self.constant = constant
        self.fitted_names: list[tuple[str, str]] = []
        self.ship_sources = False  # other tables on the serving path are shipped in the state

    def site(self, node: ast.AST) -> ast.Constant:
        return ast.Constant(
            f"{self.tag}:{getattr(node, 'lineno', 0)}:{getattr(node, 'col_offset', 0)}"
        )

    # leave per-row code alone
    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        return self.constant(node) or node

    def visit_Subscript(self, node: ast.Subscript) -> ast.AST:
        self.generic_visit(node)
        if not isinstance(node.ctx, ast.Load) or _plain_columns(node.slice):
            return node
        key = _slice_expr(node.slice)
        value = node.value
        if isinstance(value, ast.Attribute) and value.attr in ("loc", "iloc"):
            return ast.copy_location(
                _call("loc", self.site(node), value.value, key, ast.Constant(value.attr)), node
            )
        return ast.copy_location(_call("index", value, key), node)

    def visit_Call(self, node: ast.Call) -> ast.AST:
        original = node
        self.generic_visit(node)
        site = self.site(original)
        func = node.func
        name = called_name(node)
        qualified = self.aliases.qualified(node)
        wrapped: ast.expr | None = None
        if original is self.primary or (is_source_call(original) and self.ship_sources):
            how = "source" if original is self.primary else "value"
            wrapped = _call(how, site, _thunk(node))
        elif (grouped := _group_transform(node)) is not None:
            frame, by, selection, statistic, keywords = grouped
            wrapped = _call(
                "group_transform", site, frame, by, selection, statistic, keywords=keywords
            )
        elif isinstance(func, ast.Attribute) and name in ("fit", "partial_fit"):
            wrapped = _call("fit", site, func.value, *node.args, keywords=node.keywords)
        elif isinstance(func, ast.Attribute) and name in ("fit_transform", "fit_predict"):
            wrapped = _call(name, site, func.value, *node.args, keywords=node.keywords)
            if isinstance(func.value, ast.Name):
                self.fitted_names.append((func.value.id, str(site.value)))
        elif name == "fit_resample" and isinstance(func, ast.Attribute):
            wrapped = _call("resample", _thunk(node), *node.args[:2])
        elif name in SPLIT_FUNCTIONS:
            wrapped = _call("split", site, func, *node.args, keywords=node.keywords)
        elif name in ("resample", "shuffle") and qualified is None and node.args:
            wrapped = _call("resample", _thunk(node), *node.args)
        elif qualified == "pandas.get_dummies" and node.args:
            wrapped = _call("dummies", site, func, *node.args, keywords=node.keywords)
        elif qualified in ("pandas.cut", "pandas.qcut"):
            wrapped = self._cut(node, site)
        elif qualified == "pandas.factorize" and node.args:
            wrapped = _call("factorize", site, func, node.args[0], keywords=node.keywords)
        elif qualified == "pandas.Categorical" or (name == "astype" and _mentions_category(node)):
            wrapped = _call("categorical", site, node)
        elif qualified is not None and qualified.startswith("numpy."):
            if qualified[6:] in NUMPY_REDUCTIONS and not _axis_columns(node):
                wrapped = _call("value", site, _thunk(node))
        elif qualified is not None and qualified.startswith("pandas."):
            if qualified[7:] in ("unique", "value_counts"):
                wrapped = _call("value", site, _thunk(node))
        elif isinstance(func, ast.Attribute) and not _accessor(func.value):
            if name in REDUCTIONS and not _axis_columns(node):
                wrapped = _call("value", site, _thunk(node))
            elif _is_row_call(node) and not _inplace(node):
                receiver = func.value
                node.func = ast.Attribute(
                    value=ast.Name("_r", ast.Load()), attr=func.attr, ctx=ast.Load()
                )
                wrapped = _call("rows", receiver, _thunk(node, "_r"))
        if wrapped is None:
            return node
        return ast.copy_location(wrapped, original)

    def _cut(self, node: ast.Call, site: ast.Constant) -> ast.expr | None:
        """``pd.cut(x, 5)`` / ``pd.qcut(x, 4)``: learned edges (explicit edges need nothing)."""
        if not node.args:
            return None
        keyword = "bins" if called_name(node) == "cut" else "q"
        bins = node.args[1] if len(node.args) > 1 else _kw(node, keyword)
        if bins is None or isinstance(bins, ast.List | ast.Tuple):
            return None
        keywords = [k for k in node.keywords if k.arg != keyword]
        return _call("cut", site, node.func, node.args[0], bins, keywords=keywords)


#: statistics ``groupby(...).transform`` gives every row of a group alike
GROUP_STATISTICS = {
    "mean",
    "median",
    "sum",
    "min",
    "max",
    "std",
    "var",
    "count",
    "nunique",
    "size",
    "first",
    "last",
    "prod",
    "sem",
}


def _group_transform(
    call: ast.Call,
) -> tuple[ast.expr, ast.expr, ast.expr, ast.expr, list[ast.keyword]] | None:
    """``frame.groupby(by)[col].transform("mean")`` (or ``.col``, or no selection): its frame,
    keys, selection, statistic (a name, a lambda or a library function) and groupby keywords;
    None for anything else (a notebook function may be rewritten itself: it is not replayed)."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "transform" and len(call.args) == 1):
        return None
    how = call.args[0]
    named = isinstance(how, ast.Constant) and how.value in GROUP_STATISTICS
    # a lambda or a library function (np.median), replayed per request row on its training group
    function = isinstance(how, ast.Lambda) or (
        isinstance(how, ast.Attribute) and isinstance(how.value, ast.Name)
    )
    if call.keywords or not (named or function):
        return None
    target = func.value
    selection: ast.expr = ast.Constant(None)
    if isinstance(target, ast.Subscript):
        selection, target = _slice_expr(target.slice), target.value
    elif isinstance(target, ast.Attribute):
        selection, target = ast.Constant(target.attr), target.value
    if not (
        isinstance(target, ast.Call)
        and isinstance(target.func, ast.Attribute)
        and target.func.attr == "groupby"
        and len(target.args) == 1
    ):
        return None
    by = target.args[0]
    plain = isinstance(by, ast.Constant) and isinstance(by.value, str)
    listed = isinstance(by, ast.List) and all(
        isinstance(e, ast.Constant) and isinstance(e.value, str) for e in by.elts
    )
    if not (plain or listed):
        return None
    return target.func.value, by, selection, how, list(target.keywords)


def _accessor(node: ast.expr) -> bool:
    """``s.str.count(...)``, ``s.rolling(3).mean()``: per-row or windowed, not a statistic."""
    if isinstance(node, ast.Attribute) and node.attr in _ACCESSORS:
        return True
    return isinstance(node, ast.Call) and called_name(node) in _ACCESSORS


def _mentions_category(call: ast.Call) -> bool:
    for node in ast.walk(call):
        if isinstance(node, ast.Constant) and node.value == "category":
            return True
        if isinstance(node, ast.Name | ast.Attribute) and "CategoricalDtype" in ast.unparse(node):
            return True
    return False


def rewrite_statement(
    node: ast.stmt,
    *,
    tag: str,
    aliases: Aliases,
    primary: ast.Call | None,
    constant: Callable[[ast.Constant], ast.expr | None],
    serving: bool,
) -> list[ast.stmt]:
    """One notebook statement -> its fitting/serving form (one or more statements)."""
    mapping: dict[int, ast.AST] = {}
    original_nodes = list(ast.walk(node))
    copied = copy.deepcopy(node)
    for a, b in zip(original_nodes, ast.walk(copied), strict=True):
        mapping[id(a)] = b
    target_primary = mapping.get(id(primary)) if primary is not None else None
    rewriter = _Rewriter(tag, aliases, target_primary, constant)  # type: ignore[arg-type]
    rewriter.ship_sources = serving
    out: list[ast.stmt] = []
    if isinstance(copied, ast.Expr) and isinstance(copied.value, ast.Call):
        call = copied.value
        func = call.func
        if isinstance(func, ast.Attribute) and (
            _inplace(call) and func.attr in ROW_METHODS and _is_row_call(call)
        ):
            out = [_guard([copied])]
            return out
        if (
            isinstance(func, ast.Attribute)
            and func.attr in ("fit", "partial_fit")
            and isinstance(func.value, ast.Name)
        ):
            receiver = func.value.id
            value = rewriter.visit(call)
            assign = ast.Assign(targets=[ast.Name(receiver, ast.Store())], value=value)
            out = [ast.copy_location(assign, copied)]
            return out if serving else [_guard(out)]
    new = rewriter.visit(copied)
    out = [new]
    for receiver, site in rewriter.fitted_names:
        out.append(
            ast.Assign(
                targets=[ast.Name(receiver, ast.Store())],
                value=_call("fitted", ast.Constant(site), ast.Name(receiver, ast.Load())),
            )
        )
    return out if serving else [_guard(out)]


def rewrite_function(
    node: ast.stmt,
    *,
    tag: str,
    aliases: Aliases,
    constant: Callable[[ast.Constant], ast.expr | None],
) -> ast.stmt:
    """A notebook function the data code calls: its statistics and fits become state too."""
    copied = copy.deepcopy(node)
    rewriter = _Rewriter(tag, aliases, None, constant)
    return rewriter.visit(copied)


def _guard(body: list[ast.stmt]) -> ast.stmt:
    test = ast.Attribute(value=ast.Name(RUNTIME, ast.Load()), attr="fitting", ctx=ast.Load())
    return ast.If(test=test, body=body, orelse=[])


def unparse(stmts: list[ast.stmt]) -> str:
    module = ast.Module(body=stmts, type_ignores=[])
    ast.fix_missing_locations(module)
    return ast.unparse(module)
