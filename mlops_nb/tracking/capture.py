"""Pure capture rules: what a cell assigned, fitted and computed (from its source and namespace).

Nothing here talks to MLflow or does I/O. :func:`analyze_source` reads the cell's AST once;
:func:`snapshot` records the namespace before the cell; :func:`collect` compares before and after
and returns a :class:`Capture` of params, metrics, fitted estimators and their training data.
"""

from __future__ import annotations

import ast
import copy
import math
import numbers
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlops_nb.tracking import estimators as est

#: tokens that make a variable name look like a metric (matched on ``_``-separated parts)
METRIC_TOKENS = frozenset(
    {
        "accuracy", "acc", "f1", "auc", "roc", "rmse", "mse", "mae", "mape", "smape", "r2",
        "loss", "score", "precision", "recall", "logloss", "error", "err", "kappa", "mcc",
        "brier", "ap", "map", "ndcg", "iou", "dice", "bleu", "rouge", "perplexity", "ppl",
        "specificity", "sensitivity", "balanced", "jaccard", "hamming", "auroc", "auprc",
        "pr", "metric", "metrics", "scores", "likelihood", "deviance", "aic", "bic", "silhouette",
        "explained", "variance", "gini", "lift", "top1", "top5", "wer", "cer",
    }
)  # fmt: skip
#: tokens that alone would be too eager (``variance`` in ``variance_threshold`` is a param)
_WEAK_TOKENS = frozenset({"variance", "explained", "balanced", "pr", "map", "metric"})
_SPLIT = re.compile(r"[_\W]+|(?<=[a-z])(?=[A-Z])")
FIT_METHODS = frozenset({"fit", "fit_transform", "fit_predict", "partial_fit", "fit_resample"})
MAX_PARAM_LEN = 6000  # MLflow 3's limit on a param value


def looks_like_metric(name: str) -> bool:
    """True when a variable name reads like a metric: ``accuracy``, ``val_loss``, ``test_f1``,
    ``roc_auc``, ``r2``... but not ``n_estimators`` or ``loss_fn``-style callables (values are
    checked separately)."""
    tokens = [t.lower() for t in _SPLIT.split(name) if t]
    strong = [t for t in tokens if t in METRIC_TOKENS and t not in _WEAK_TOKENS]
    if strong:
        return True
    return len(tokens) > 1 and sum(t in METRIC_TOKENS for t in tokens) >= 2


def is_number(value: Any) -> bool:
    """A real, finite-or-nan numeric scalar (not bool, not complex)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:  # numpy scalars that numbers.Real does not register (rare) and 0-d arrays
            import numpy as np

            if isinstance(value, np.ndarray) and value.ndim == 0 and value.dtype.kind in "iuf":
                return True
        except ImportError:  # pragma: no cover - numpy is a dependency
            pass
        return False
    return not isinstance(value, bool)


@dataclass(frozen=True)
class FitCall:
    """``target.fit(X, y)`` seen in the cell: the estimator expression and the data expressions."""

    target: str
    method: str
    x_expr: str | None
    y_expr: str | None


@dataclass(frozen=True)
class SourceInfo:
    """What the cell's AST says: names assigned (and which were literal scalars) and fit calls."""

    assigned: tuple[str, ...]
    literal: Mapping[str, Any]
    fit_calls: tuple[FitCall, ...]
    parse_error: str | None = None


_SAFE_NODES = (
    ast.Name, ast.Attribute, ast.Subscript, ast.Constant, ast.Load, ast.Slice, ast.Tuple,
    ast.List, ast.UnaryOp, ast.USub,
)  # fmt: skip


def _safe_expr(node: ast.AST) -> bool:
    """Expressions we may re-evaluate after the cell: names, attributes, subscripts; no calls."""
    return all(isinstance(n, _SAFE_NODES) for n in ast.walk(node))


def _literal(node: ast.AST) -> tuple[bool, Any]:
    try:
        value = ast.literal_eval(node)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False, None
    if value is None or isinstance(value, str | int | float | bool):
        return True, value
    if isinstance(value, tuple | list) and all(
        isinstance(v, str | int | float | bool) for v in value
    ):
        return True, value
    return False, None


def _target_names(target: ast.AST) -> Iterable[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for elt in target.elts:
            yield from _target_names(elt)
    elif isinstance(target, ast.Starred):
        yield from _target_names(target.value)


def analyze_source(source: str) -> SourceInfo:
    """Read the cell (already transformed to plain Python) without running it."""
    try:
        tree = ast.parse(source)
    except SyntaxError as exc:
        return SourceInfo((), {}, (), parse_error=f"{exc.msg} (line {exc.lineno})")
    assigned: dict[str, None] = {}
    literal: dict[str, Any] = {}
    fits: list[FitCall] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            for target in node.targets:
                for name in _target_names(target):
                    assigned[name] = None
                if isinstance(target, ast.Name):
                    ok, value = _literal(node.value)
                    if ok:
                        literal[target.id] = value
                    else:
                        literal.pop(target.id, None)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and node.value is not None:
            for name in _target_names(node.target):
                assigned[name] = None
                ok, value = _literal(node.value)
                if isinstance(node, ast.AnnAssign) and ok:
                    literal[name] = value
                else:
                    literal.pop(name, None)
        elif isinstance(node, ast.For | ast.comprehension):
            for name in _target_names(node.target):
                assigned[name] = None
        elif isinstance(node, ast.With):
            for item in node.items:
                if item.optional_vars is not None:
                    for name in _target_names(item.optional_vars):
                        assigned[name] = None
        elif isinstance(node, ast.NamedExpr):
            assigned[node.target.id] = None
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in FIT_METHODS
        ):
            fits.append(_fit_call(node))
    return SourceInfo(tuple(assigned), literal, tuple(fits))


def _fit_call(node: ast.Call) -> FitCall:
    assert isinstance(node.func, ast.Attribute)
    args: list[ast.expr | None] = [*node.args[:2]]
    while len(args) < 2:
        args.append(None)
    for kw in node.keywords:
        if kw.arg in ("X", "x"):
            args[0] = kw.value
        elif kw.arg == "y":
            args[1] = kw.value
    x_expr, y_expr = (ast.unparse(a) if a is not None and _safe_expr(a) else None for a in args)
    return FitCall(ast.unparse(node.func.value), node.func.attr, x_expr, y_expr)


# --------------------------------------------------------------------------------------------
# printed and displayed metrics

#: the function an instrumented cell calls with each printed/displayed metric-like value
HOOK = "_mlops_nb_shown_metric"
_METRIC_FUNCTION = re.compile(r"^(score|[a-z0-9_]+_(score|error|loss))$")
_REDUCERS = frozenset({"mean", "std", "median", "min", "max"})
_PASS_THROUGH = frozenset({"round", "float", "abs", "item", "squeeze"})


def _called_name(func: ast.expr) -> str | None:
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def shown_metric_name(node: ast.expr) -> str | None:
    """The metric name of an expression whose value a cell prints or shows, or None.

    A metric-like variable (``rmse``), attribute (``search.best_score_``) or string key
    (``scores["f1"]``) gives its own name; a metric function call gives the function's name
    (``accuracy_score(...)``, ``clf.score(...)``, ``log_loss(...)``); ``np.sqrt`` of a mean
    squared error is a ``root_mean_squared_error``; ``cross_val_score(...).mean()`` is
    ``cross_val_score_mean``; ``round``/``float``/``abs`` keep the name of what they wrap.
    """
    if isinstance(node, ast.Name):
        return node.id if looks_like_metric(node.id) else None
    if isinstance(node, ast.Attribute):
        name = node.attr.strip("_")
        return name if name and looks_like_metric(name) else None
    if isinstance(node, ast.Subscript):
        key = node.slice
        if isinstance(key, ast.Constant) and isinstance(key.value, str):
            return key.value if looks_like_metric(key.value) else None
        return None
    if not isinstance(node, ast.Call):
        return None
    called = _called_name(node.func)
    if called is None:
        return None
    if _METRIC_FUNCTION.match(called):
        return called
    if called in _REDUCERS and isinstance(node.func, ast.Attribute):
        inner = shown_metric_name(node.func.value)
        return f"{inner}_{called}" if inner else None
    if called == "item" and isinstance(node.func, ast.Attribute):
        return shown_metric_name(node.func.value)
    if node.args and called in _PASS_THROUGH:
        return shown_metric_name(node.args[0])
    if node.args and called == "sqrt":
        inner = shown_metric_name(node.args[0])
        if inner is None:
            return None
        if inner.startswith("mean_squared"):
            return "root_" + inner
        return inner[1:] if inner in ("mse", "msle") else f"sqrt_{inner}"
    return None


def _label(text: str) -> str | None:
    """``"Test RMSE: "`` -> ``test_rmse`` when the words read like a metric."""
    words = re.findall(r"[A-Za-z0-9]+", text.rsplit(",", 1)[-1])
    name = "_".join(w.lower() for w in words)
    return name if name and looks_like_metric(name) else None


def _wrap(expr: ast.expr, name: str) -> ast.expr:
    call = ast.Call(ast.Name(HOOK, ast.Load()), [ast.Constant(name), expr], [])
    return ast.copy_location(call, expr)


def _instrument_value(expr: ast.expr, label: str | None) -> ast.expr:
    name = shown_metric_name(expr)
    if isinstance(expr, ast.Name | ast.Attribute | ast.Subscript):
        name = name or label
    else:
        name = label or name
    return _wrap(expr, name) if name else expr


def _instrument_print_arg(arg: ast.expr, label: str | None) -> ast.expr:
    if isinstance(arg, ast.JoinedStr):  # f"RMSE: {rmse:.3f}"
        text: str | None = None
        for part in arg.values:
            if isinstance(part, ast.Constant) and isinstance(part.value, str):
                text = part.value
            elif isinstance(part, ast.FormattedValue):
                part.value = _instrument_value(part.value, _label(text) if text else None)
                text = None
        return arg
    if (
        isinstance(arg, ast.BinOp)
        and isinstance(arg.op, ast.Mod)
        and isinstance(arg.left, ast.Constant)
        and isinstance(arg.left.value, str)
        and not isinstance(arg.right, ast.Tuple | ast.Dict)
    ):  # "RMSE: %.3f" % rmse
        arg.right = _instrument_value(arg.right, _label(arg.left.value.split("%")[0]))
        return arg
    if (
        isinstance(arg, ast.Call)
        and isinstance(arg.func, ast.Attribute)
        and arg.func.attr == "format"
        and isinstance(arg.func.value, ast.Constant)
        and isinstance(arg.func.value.value, str)
        and len(arg.args) == 1
    ):  # "RMSE: {:.3f}".format(rmse)
        arg.args[0] = _instrument_value(arg.args[0], _label(arg.func.value.value.split("{")[0]))
        return arg
    return _instrument_value(arg, label)


def _is_print(stmt: ast.stmt) -> bool:
    value = stmt.value if isinstance(stmt, ast.Expr) else None
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Name)
        and value.func.id == "print"
    )


def instrument_shown_metrics(tree: ast.Module) -> ast.Module:
    """Wrap the metric-like values a cell prints (``print(...)`` statements at the cell's top
    level) or shows (its last expression) in a call to :data:`HOOK`, which records the value and
    returns it unchanged. Only the cell's own top level: a print inside a loop or a function
    would log one value of many.

    Returns a new module; ``tree`` is left as it was (only the statements that may change are
    copied, so a cell of plain assignments costs next to nothing)."""
    body = list(tree.body)
    for index, stmt in enumerate(body):
        last = index == len(body) - 1
        if not isinstance(stmt, ast.Expr) or not (last or _is_print(stmt)):
            continue
        stmt = body[index] = copy.deepcopy(stmt)
        value = stmt.value
        if _is_print(stmt):
            assert isinstance(value, ast.Call)
            label: str | None = None
            new_args: list[ast.expr] = []
            for arg in value.args:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    label = _label(arg.value)
                    new_args.append(arg)
                    continue
                new_args.append(_instrument_print_arg(arg, label))
                label = None
            value.args = new_args
        else:
            stmt.value = _instrument_value(value, None)
        ast.fix_missing_locations(stmt)
    return ast.Module(body=body, type_ignores=list(tree.type_ignores))


class ShownMetrics:
    """Collects what an instrumented cell printed or showed (numbers only)."""

    def __init__(self) -> None:
        self.values: dict[str, float] = {}

    def observe(self, name: str, value: Any) -> Any:
        try:
            if is_number(value) and not math.isinf(float(value)):
                self.values[name] = float(value)
        except Exception:  # never let capture change what the cell prints
            pass
        return value


# --------------------------------------------------------------------------------------------
# namespace snapshot and diff


@dataclass(frozen=True)
class Snapshot:
    """The namespace before the cell: object ids, and the fitted state of estimators."""

    ids: Mapping[str, int]
    fitted: Mapping[str, tuple[int, Any]]


def _user_items(namespace: Mapping[str, Any]) -> Iterable[tuple[str, Any]]:
    for name, value in namespace.items():
        if name.startswith("_") or name in ("In", "Out", "exit", "quit"):
            continue
        yield name, value


def snapshot(namespace: Mapping[str, Any]) -> Snapshot:
    ids: dict[str, int] = {}
    fitted: dict[str, tuple[int, Any]] = {}
    sklearn_loaded = est.sklearn_loaded()
    for name, value in _user_items(namespace):
        ids[name] = id(value)
        if sklearn_loaded and est.is_estimator(value):
            fitted[name] = (id(value), est.fitted_fingerprint(value))
    return Snapshot(ids, fitted)


@dataclass
class FittedModel:
    """An estimator fitted in the cell, with the data it was fitted on when the cell shows it."""

    name: str
    model: Any
    x: Any = None
    y: Any = None
    x_expr: str | None = None
    y_expr: str | None = None


@dataclass
class Capture:
    """Everything the cell produced that is worth logging (values, not yet serialized)."""

    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    models: list[FittedModel] = field(default_factory=list)
    plotly_figures: dict[str, Any] = field(default_factory=dict)
    open_figures: list[Any] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def param_value(value: Any) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= MAX_PARAM_LEN else text[: MAX_PARAM_LEN - 3] + "..."


def changed_names(before: Snapshot, namespace: Mapping[str, Any], info: SourceInfo) -> list[str]:
    """Names the cell (re)bound: new or different objects, plus names its source assigns."""
    names: dict[str, None] = {}
    for name, value in _user_items(namespace):
        if before.ids.get(name) != id(value):
            names[name] = None
    for name in info.assigned:
        if name in namespace and not name.startswith("_"):
            names[name] = None
    return list(names)


def _collect_metrics(
    names: Iterable[str], namespace: Mapping[str, Any], explicit: Iterable[str]
) -> tuple[dict[str, float], list[str]]:
    metrics: dict[str, float] = {}
    notes: list[str] = []
    explicit = list(explicit)
    for name in [*names, *explicit]:
        if name not in namespace:
            if name in explicit:
                notes.append(f"--metrics names {name!r}, which the cell did not define")
            continue
        value = namespace[name]
        wanted = name in explicit or looks_like_metric(name)
        if is_number(value):
            if wanted:
                metrics[name] = float(value)
        elif isinstance(value, Mapping) and value and (wanted or _metric_keys(value)):
            for key, item in value.items():
                if isinstance(key, str) and is_number(item) and (wanted or looks_like_metric(key)):
                    metrics[key if key not in metrics else f"{name}.{key}"] = float(item)
        elif name in explicit:
            notes.append(f"--metrics names {name!r}, which is not a number")
    return {k: v for k, v in metrics.items() if not math.isinf(v)}, notes


def _metric_keys(mapping: Mapping[Any, Any]) -> bool:
    return any(isinstance(k, str) and looks_like_metric(k) for k in mapping)


def collect(
    before: Snapshot,
    namespace: Mapping[str, Any],
    info: SourceInfo,
    *,
    explicit_params: Iterable[str] = (),
    explicit_metrics: Iterable[str] = (),
    injected_params: Mapping[str, Any] | None = None,
    shown_metrics: Mapping[str, float] | None = None,
    models: bool = True,
) -> Capture:
    """Compare the namespace after the cell with ``before`` and apply the capture rules."""
    cap = Capture()
    names = changed_names(before, namespace, info)
    cap.metrics, cap.notes = _collect_metrics(names, namespace, explicit_metrics)
    for name, shown in (shown_metrics or {}).items():
        cap.metrics.setdefault(name, shown)

    for name in names:
        if name in info.literal and name not in cap.metrics and not looks_like_metric(name):
            value = namespace.get(name)
            if value is None or isinstance(value, str | int | float | bool | tuple | list):
                cap.params[name] = param_value(value)
    for name in explicit_params:
        if name in namespace:
            cap.params[name] = param_value(namespace[name])
        else:
            cap.notes.append(f"--params names {name!r}, which the cell did not define")
    for name, value in (injected_params or {}).items():
        cap.params.setdefault(name, param_value(value))

    if est.sklearn_loaded():
        fitted = _fitted_in_cell(before, namespace, info, names)
        for fm in fitted:
            _attach_data(fm, info, namespace)
        prefix = len(fitted) > 1
        for fm in fitted:
            for key, value in est.flat_params(fm.model).items():
                cap.params.setdefault(f"{fm.name}.{key}" if prefix else key, param_value(value))
            for key, value in est.search_results(fm.model).items():
                if key.startswith("best_params."):
                    cap.params.setdefault(key, param_value(value))
                elif is_number(value):
                    cap.metrics.setdefault(key if not prefix else f"{fm.name}.{key}", float(value))
        if models:
            cap.models = fitted

    plotly = _plotly_figure_type()
    if plotly is not None:
        for name in names:
            if isinstance(namespace.get(name), plotly):
                cap.plotly_figures[name] = namespace[name]
    return cap


def _plotly_figure_type() -> type | None:
    import sys

    module = sys.modules.get("plotly.graph_objs")
    return getattr(module, "Figure", None) if module is not None else None


def _fitted_in_cell(
    before: Snapshot, namespace: Mapping[str, Any], info: SourceInfo, names: list[str]
) -> list[FittedModel]:
    fit_targets = {call.target for call in info.fit_calls}
    found: list[FittedModel] = []
    for name, value in _user_items(namespace):
        if not est.is_estimator(value) or not est.is_fitted(value):
            continue
        prior = before.fitted.get(name)
        refit = (
            name in fit_targets
            or prior is None
            or prior[0] != id(value)
            or prior[1] != est.fitted_fingerprint(value)
        )
        if refit and (name in names or name in fit_targets or prior is not None):
            found.append(FittedModel(name, value))
    if len(found) < 2:
        return found
    # keep the outermost: a Pipeline or search already contains its steps / best estimator
    inner = {id(child) for fm in found for child in est.children(fm.model)}
    unique: dict[int, FittedModel] = {}
    for fm in found:
        if id(fm.model) not in inner:
            unique.setdefault(id(fm.model), fm)
    return list(unique.values())


def _attach_data(fm: FittedModel, info: SourceInfo, namespace: Mapping[str, Any]) -> None:
    calls = [c for c in info.fit_calls if c.target == fm.name and c.x_expr]
    if not calls:  # one fit call with data on some other expression (a loop variable...)
        with_data = [c for c in info.fit_calls if c.x_expr]
        targets = {c.target for c in with_data}
        if len(targets) == 1 and targets != {fm.name}:
            calls = [c for c in with_data if _width_matches(fm.model, c, namespace)]
    if not calls:
        return
    call = calls[-1]
    fm.x_expr, fm.y_expr = call.x_expr, call.y_expr
    fm.x = _evaluate(call.x_expr, namespace)
    fm.y = _evaluate(call.y_expr, namespace)


def _width_matches(model: Any, call: FitCall, namespace: Mapping[str, Any]) -> bool:
    x = _evaluate(call.x_expr, namespace)
    width = getattr(model, "n_features_in_", None)
    shape = getattr(x, "shape", None)
    return width is not None and shape is not None and len(shape) == 2 and shape[1] == width


def _evaluate(expr: str | None, namespace: Mapping[str, Any]) -> Any:
    """Re-evaluate a side-effect-free data expression (``X_train``, ``df[cols]``)."""
    if not expr:
        return None
    try:
        return eval(compile(expr, "<mlops-nb>", "eval"), {"__builtins__": {}}, dict(namespace))
    except Exception:
        return None
