"""Which fitted estimator to serve, and what the user should know about the choice.

The default is the final fit of the last model variable fitted *outside* loops and exploratory
code: fits inside ``for``/``while`` bodies, comprehensions and notebook functions are exploration
(a search tried twenty times, a cross-validation loop), not the model. What was passed over, fits
of unseeded estimators and the other candidates come back as :class:`ModelNote` s that name the
``--model-var`` to pass.

Every name the fitted estimator is bound to selects it: ``model = lr.fit(X, y)`` (``model`` and
``lr``), ``best = search.best_estimator_`` after ``search.fit``, ``a, b = model, 1``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path

from mlops_nb.exceptions import NotebookError
from mlops_nb.productionize.estimators import SEARCHES, called_name, unseeded
from mlops_nb.productionize.slicing import Stmt, base_name

#: classes fitted with ``(X, y)`` that transform or select rather than predict
_NOT_MODELS = {
    "SelectKBest",
    "SelectPercentile",
    "SelectFromModel",
    "SelectFpr",
    "SelectFdr",
    "SelectFwe",
    "GenericUnivariateSelect",
    "RFE",
    "RFECV",
    "SequentialFeatureSelector",
    "TargetEncoder",
}
#: attribute reads that give the served estimator from a fitted object
_ESTIMATOR_ATTRS = {"best_estimator_"}
#: calls whose result is the same fitted model (a copy or a reload of the argument)
_COPIES = {"deepcopy", "copy"}


class ExtractionError(NotebookError):
    """The notebook cannot become a training script (the message says why and what to do)."""

    exit_code = 2


@dataclass(frozen=True)
class ModelNote:
    """Something the user should know about the chosen model; ``model_var`` is what to pass."""

    kind: str  # candidates | loop | function_in_loop | only_in_loop | picked | unseeded | alias
    message: str
    cell: int | None = None
    line: int | None = None
    model_var: str | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class FitSite:
    """One ``.fit(X, y)`` call in the notebook."""

    call: ast.Call
    stmt: Stmt  # the top-level statement holding it
    names: list[str]  # names bound to the fitted estimator by the fit statement, primary first
    in_loop: bool
    function: str | None  # the notebook function whose body holds it
    aliases: dict[str, int] = field(default_factory=dict)  # name -> stmt index making it
    canonical: dict[str, str] = field(default_factory=dict)  # alias -> the name it copies

    @property
    def cell(self) -> int:
        return self.stmt.cell.number

    @property
    def line(self) -> int:
        return self.call.lineno

    @property
    def primary(self) -> str:
        return self.names[0]

    @property
    def exploratory(self) -> bool:
        return self.in_loop or self.function is not None


@dataclass
class Choice:
    site: FitSite
    model_var: str
    end: int  # index of the last statement the slice may use (the fit, or the alias)
    notes: list[ModelNote]
    unseeded: list[tuple[int, int, str]]  # (cell, line, class name) of unseeded estimators


def _is_fit(call: ast.Call) -> bool:
    if not (isinstance(call.func, ast.Attribute) and call.func.attr == "fit"):
        return False
    return len(call.args) >= 2 or any(k.arg == "y" for k in call.keywords)


class _Finder:
    """Collect fit calls with their context (loop, function) inside one top-level statement."""

    def __init__(self, stmt: Stmt) -> None:
        self.stmt = stmt
        self.sites: list[FitSite] = []
        self.calls: list[tuple[str, bool, str | None]] = []  # (called name, in_loop, function)

    def visit(self, node: ast.AST, in_loop: bool, function: str | None) -> None:
        child: ast.AST
        if isinstance(node, ast.For | ast.AsyncFor | ast.While):
            head: list[ast.AST] = (
                [node.test] if isinstance(node, ast.While) else [node.iter, node.target]
            )
            for child in head:
                self.visit(child, in_loop, function)
            body: list[ast.AST] = [*node.body, *node.orelse]
            for child in body:
                self.visit(child, True, function)
            return
        if isinstance(node, ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp):
            for child in ast.iter_child_nodes(node):
                self.visit(child, True, function)
            return
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            name = getattr(node, "name", "<lambda>")
            for child in ast.iter_child_nodes(node):
                self.visit(child, in_loop, function or name)
            return
        if isinstance(node, ast.Assign | ast.NamedExpr) and isinstance(node.value, ast.Call):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if _is_fit(node.value):
                names = [t.id for t in targets if isinstance(t, ast.Name)]
                self._record(node.value, names, in_loop, function)
                for child in ast.iter_child_nodes(node.value):
                    self.visit(child, in_loop, function)
                return
        if isinstance(node, ast.Call):
            if _is_fit(node):
                self._record(node, [], in_loop, function)
            name = called_name(node)
            if name:
                self.calls.append((name, in_loop, function))
        for child in ast.iter_child_nodes(node):
            self.visit(child, in_loop, function)

    def _record(
        self, call: ast.Call, names: list[str], in_loop: bool, function: str | None
    ) -> None:
        assert isinstance(call.func, ast.Attribute)
        receiver = call.func.value
        if isinstance(receiver, ast.Name) and receiver.id not in names:
            names = [*names, receiver.id]
        if not names:
            return
        self.sites.append(FitSite(call, self.stmt, names, in_loop, function))


def _binding(stmts: list[Stmt], name: str, before: int, line: int) -> tuple[ast.expr, Stmt] | None:
    """The value last assigned to ``name`` (``name = ...``, also inside a loop body) before the
    statement ``before`` (or, within it, before ``line``)."""
    for stmt in reversed(stmts[: before + 1]):
        assigned = [
            node.value
            for node in ast.walk(stmt.node)
            if isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and node.targets[0].id == name
            and (stmt.index < before or node.lineno < line)
        ]
        if assigned:
            return max(assigned, key=lambda value: (value.lineno, value.col_offset)), stmt
        if name in stmt.binds and stmt.index < before:
            return None  # bound some other way (an import, a tuple): not followed
    return None


def constructors(site: FitSite, stmts: list[Stmt]) -> list[tuple[ast.Call, Stmt]]:
    """The calls that build the fitted estimator (and the estimators it holds)."""
    assert isinstance(site.call.func, ast.Attribute)
    todo: list[tuple[ast.expr, Stmt, int]] = [(site.call.func.value, site.stmt, site.line)]
    seen: set[str] = set()
    found: list[tuple[ast.Call, Stmt]] = []
    while todo:
        expr, stmt, line = todo.pop()
        if isinstance(expr, ast.Name):
            if expr.id in seen:
                continue
            seen.add(expr.id)
            bound = _binding(stmts, expr.id, stmt.index, line)
            if bound is not None:
                todo.append((bound[0], bound[1], bound[0].lineno))
            continue
        for node in ast.walk(expr):
            if isinstance(node, ast.Call) and node is not site.call:
                found.append((node, stmt))
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
                todo.append((node, stmt, line))
    found.sort(key=lambda pair: (pair[1].index, pair[0].lineno, pair[0].col_offset))
    return found


def root_constructor(site: FitSite, stmts: list[Stmt]) -> ast.Call | None:
    """The call that builds the fitted object itself (``MyModel()`` for ``m = MyModel()``)."""
    assert isinstance(site.call.func, ast.Attribute)
    expr: ast.expr | None = site.call.func.value
    for _ in range(5):
        if isinstance(expr, ast.Call):
            return expr
        if not isinstance(expr, ast.Name):
            return None
        bound = _binding(stmts, expr.id, site.stmt.index, site.line)
        expr = bound[0] if bound else None
    return None


def _source(value: ast.expr, names: set[str]) -> tuple[str, bool] | None:
    """The bound name ``value`` gives the fitted estimator from, and whether it is the same
    object: ``model`` and ``copy.deepcopy(model)`` are; ``search.best_estimator_`` is not."""
    if isinstance(value, ast.Name):
        return (value.id, True) if value.id in names else None
    if isinstance(value, ast.Attribute) and value.attr in _ESTIMATOR_ATTRS:
        inner = value.value
        return (inner.id, False) if isinstance(inner, ast.Name) and inner.id in names else None
    if isinstance(value, ast.Call) and called_name(value) in _COPIES and len(value.args) == 1:
        return _source(value.args[0], names)
    return None


def _aliases(site: FitSite, stmts: list[Stmt]) -> tuple[dict[str, int], dict[str, str]]:
    """Every name bound to the fitted estimator, with the statement that makes what it holds,
    and the name it stands for (itself, or the name at that statement it is a copy of)."""
    bound = {name: site.stmt.index for name in site.names}
    canonical = {name: name for name in site.names}
    for stmt in stmts[site.stmt.index + 1 :]:
        node = stmt.node
        if not isinstance(node, ast.Assign):
            continue
        pairs: list[tuple[ast.expr, ast.expr]] = []
        for target in node.targets:
            if (
                isinstance(target, ast.Tuple | ast.List)
                and isinstance(node.value, ast.Tuple | ast.List)
                and len(target.elts) == len(node.value.elts)
            ):
                pairs += list(zip(target.elts, node.value.elts, strict=True))
            else:
                pairs.append((target, node.value))
        for target, value in pairs:
            if not isinstance(target, ast.Name) or target.id in bound:
                continue
            found = _source(value, set(bound))
            if found is None:
                continue
            source, same = found
            if same:
                bound[target.id], canonical[target.id] = bound[source], canonical[source]
            else:
                bound[target.id], canonical[target.id] = stmt.index, target.id
    return bound, canonical


def _container(target: ast.expr, iterated: ast.expr, name: str) -> str | None:
    """The container whose elements the loop variable ``name`` takes: ``models`` in
    ``for m in models``, ``models.values()``, ``models.items()``, ``enumerate(models)`` and
    ``zip(names, models)`` (matched by position)."""
    if isinstance(target, ast.Name):
        if target.id != name:
            return None
        if isinstance(iterated, ast.Call):
            func = iterated.func
            if isinstance(func, ast.Attribute) and func.attr == "values" and not iterated.args:
                return base_name(func.value)
            return None
        return base_name(iterated)
    if not isinstance(target, ast.Tuple | ast.List) or not isinstance(iterated, ast.Call):
        return None
    slots = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
    if name not in slots:
        return None
    at = slots.index(name)
    func = iterated.func
    if isinstance(func, ast.Attribute) and func.attr == "items" and len(slots) == 2 and at == 1:
        return base_name(func.value)
    if isinstance(func, ast.Name) and func.id == "enumerate" and len(slots) == 2 and at == 1:
        return _container(target.elts[1], iterated.args[0], name) if iterated.args else None
    if isinstance(func, ast.Name) and func.id == "zip" and len(iterated.args) == len(slots):
        return _container(target.elts[at], iterated.args[at], name)
    return None


def _picked_from_container(site: FitSite, stmts: list[Stmt]) -> dict[str, int]:
    """Names bound after a loop of fits to one of the fitted estimators it iterated over:
    ``for name, m in models.items(): m.fit(X, y)`` then ``best = models[winner]`` (or
    ``models.get(winner)``): ``best`` holds a fitted model, made by that later statement."""
    containers: set[str] = set()
    for node in ast.walk(site.stmt.node):
        if not isinstance(node, ast.For):
            continue
        holds_fit = any(n is site.call for n in ast.walk(node))
        container = _container(node.target, node.iter, site.primary) if holds_fit else None
        if container:
            containers.add(container)
    picked: dict[str, int] = {}
    for stmt in stmts[site.stmt.index + 1 :]:
        node = stmt.node
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if not isinstance(target, ast.Name):
            continue
        source: ast.expr | None = None
        if isinstance(value, ast.Subscript):
            source = value.value
        elif isinstance(value, ast.Call) and isinstance(value.func, ast.Attribute):
            source = value.func.value if value.func.attr == "get" else None
        if isinstance(source, ast.Name) and source.id in containers:
            picked[target.id] = stmt.index
    return picked


def find_sites(stmts: list[Stmt]) -> tuple[list[FitSite], list[ModelNote]]:
    """Every fit of a model in notebook order, and notes on fits inside loops/functions."""
    sites: list[FitSite] = []
    calls: list[tuple[Stmt, str, bool, str | None]] = []
    for stmt in stmts:
        finder = _Finder(stmt)
        finder.visit(stmt.node, False, None)
        sites += finder.sites
        calls += [(stmt, name, loop, fn) for name, loop, fn in finder.calls]
    models: list[FitSite] = []
    for site in sites:
        built_by = [called_name(c) for c, _ in constructors(site, stmts)[:1]]
        if built_by and built_by[0] in _NOT_MODELS:
            continue
        if site.exploratory:
            site.aliases = {n: site.stmt.index for n in site.names}
            site.canonical = {n: n for n in site.names}
            if site.in_loop and site.function is None:
                for name, index in _picked_from_container(site, stmts).items():
                    site.aliases[name], site.canonical[name] = index, name
        else:
            site.aliases, site.canonical = _aliases(site, stmts)
        models.append(site)
    fitting_functions = {s.function for s in models if s.function}
    notes = [
        ModelNote(
            "function_in_loop",
            f"`{name}(...)` (a notebook function that fits a model) is called in a loop in cell "
            f"{stmt.cell.number}: exploratory, not served",
            cell=stmt.cell.number,
        )
        for stmt, name, in_loop, _ in calls
        if in_loop and name in fitting_functions
    ]
    return models, notes


def _describe(site: FitSite) -> str:
    return f"`{site.primary}` (cell {site.cell}, line {site.line})"


def choose(stmts: list[Stmt], model_var: str | None, path: Path) -> Choice:
    """The fit to serve (``model_var``: any name bound to it), with notes on the choice."""
    sites, notes = find_sites(stmts)
    top = [s for s in sites if not s.exploratory]
    loops = [s for s in sites if s.in_loop and s.function is None]
    if model_var:
        mine = [s for s in top if model_var in s.aliases] or [
            s for s in loops if model_var in s.aliases
        ]
        if not mine:
            known = sorted({n for s in [*top, *loops] for n in s.aliases})
            raise ExtractionError(
                f"no fitted model is bound to `{model_var}` (fitted models are bound to: "
                f"{', '.join(known) or 'none'}){_unsupervised_hint(stmts)}; pass one of them "
                "with --model-var",
                path=str(path),
            )
        site = mine[-1]
        name = site.canonical.get(model_var, model_var)
        if name != model_var:
            notes.append(
                ModelNote(
                    "alias",
                    f"`{model_var}` holds the same fitted model as `{name}`; serving it as "
                    f"`{name}` (fitted in cell {site.cell}, line {site.line})",
                    cell=site.cell,
                    line=site.line,
                    model_var=name,
                )
            )
    elif top:
        site = top[-1]
        name = site.primary
    elif loops and _picks(loops[-1]):
        site = loops[-1]
        name = _picks(site)[-1]
        notes.append(
            ModelNote(
                "picked",
                f"serving `{name}` (cell {stmts[site.aliases[name]].cell.number}), picked from "
                f"the models the loop in cell {site.cell} fits; pass --model-var to choose "
                "another",
                cell=stmts[site.aliases[name]].cell.number,
                model_var=name,
            )
        )
    elif loops:
        site = loops[-1]
        name = site.primary
        notes.append(
            ModelNote(
                "only_in_loop",
                f"every model is fitted inside a loop; serving {_describe(site)} as the last "
                "iteration leaves it. Fit the final model once, outside the loop, to choose it "
                "yourself",
                cell=site.cell,
                line=site.line,
                model_var=name,
            )
        )
    else:
        inside = sorted({s.function for s in sites if s.function})
        hint = (
            f" (`.fit` is called only inside notebook function(s) {', '.join(inside)}, whose "
            "variables are local: fit the model at the top level of a cell)"
            if inside
            else _native_hint(stmts) or _unsupervised_hint(stmts)
        )
        raise ExtractionError(
            f"no model found: no cell calls `.fit(X, y)` outside a notebook function{hint}; fit "
            "the model into a variable (model.fit(X, y)) or pass --model-var",
            path=str(path),
        )
    end = site.aliases.get(name, site.stmt.index)
    end = max(end, site.stmt.index)
    notes += _other_candidates(site, top, stmts)
    notes += _loop_notes(site, loops)
    found = _unseeded(site, stmts)
    for cell, line, cls in found:
        notes.append(
            ModelNote(
                "unseeded",
                f"`{cls}(...)` in cell {cell}, line {line} has no random_state: its fit differs "
                "from run to run, so train.py cannot reproduce the notebook's model exactly; set "
                "random_state=... in the notebook, or pass --seed N",
                cell=cell,
                line=line,
                model_var=name,
            )
        )
    return Choice(site, name, end, notes, found)


#: native training APIs, and the scikit-learn style estimator productionize serves instead
_NATIVE = {
    "xgboost": "xgboost.XGBClassifier / XGBRegressor",
    "lightgbm": "lightgbm.LGBMClassifier / LGBMRegressor",
    "catboost": "catboost.CatBoostClassifier / CatBoostRegressor",
}


#: estimators fitted without a target that still predict (clusterers, outlier detectors)
_UNSUPERVISED = {
    "KMeans",
    "MiniBatchKMeans",
    "BisectingKMeans",
    "GaussianMixture",
    "BayesianGaussianMixture",
    "Birch",
    "MeanShift",
    "AffinityPropagation",
    "DBSCAN",
    "AgglomerativeClustering",
    "IsolationForest",
    "OneClassSVM",
    "EllipticEnvelope",
    "LocalOutlierFactor",
}


def _unsupervised_hint(stmts: list[Stmt]) -> str:
    """`` (`km.fit(X)` in cell 3 fits KMeans without a target: ...)`` when the notebook fits a
    clusterer or an outlier detector; empty otherwise."""
    built: dict[str, str] = {}
    for stmt in stmts:
        node = stmt.node
        if (
            isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Call)
            and called_name(node.value) in _UNSUPERVISED
        ):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    built[target.id] = str(called_name(node.value))
    for stmt in stmts:
        for call in (n for n in ast.walk(stmt.node) if isinstance(n, ast.Call)):
            func = call.func
            if not (isinstance(func, ast.Attribute) and func.attr in ("fit", "fit_predict")):
                continue
            receiver = func.value
            if isinstance(receiver, ast.Name) and receiver.id in built:
                kind = built[receiver.id]
            elif isinstance(receiver, ast.Call) and called_name(receiver) in _UNSUPERVISED:
                kind = str(called_name(receiver))
            else:
                continue
            return (
                f" (`{ast.unparse(call)[:60]}` in cell {stmt.cell.number} fits {kind} without a "
                "target: productionize serves supervised models, fitted with `.fit(X, y)`; a "
                "clusterer or an outlier detector is not supported yet)"
            )
    return ""


def _native_hint(stmts: list[Stmt]) -> str:
    """`` (xgb.train(...) in cell 3 is XGBoost's native API: ...)`` when the notebook trains
    that way; empty otherwise."""
    modules: dict[str, str] = {}
    for stmt in stmts:
        if isinstance(stmt.node, ast.Import):
            for alias in stmt.node.names:
                modules[alias.asname or alias.name] = alias.name.split(".")[0]
    for stmt in stmts:
        for call in (n for n in ast.walk(stmt.node) if isinstance(n, ast.Call)):
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr == "train"
                and isinstance(func.value, ast.Name)
                and modules.get(func.value.id) in _NATIVE
            ):
                library = modules[func.value.id]
                return (
                    f" (`{func.value.id}.train(...)` in cell {stmt.cell.number} is {library}'s "
                    f"native API; productionize serves estimators with fit/predict: train "
                    f"{_NATIVE[library]} instead)"
                )
    return ""


def _picks(site: FitSite) -> list[str]:
    """Names picked from a loop's fitted models after it, in notebook order."""
    return sorted((n for n in site.aliases if n not in site.names), key=site.aliases.__getitem__)


def _unseeded(site: FitSite, stmts: list[Stmt]) -> list[tuple[int, int, str]]:
    out = []
    for call, stmt in constructors(site, stmts):
        if unseeded(call):
            out.append((stmt.cell.number, call.lineno, called_name(call) or "?"))
    return out


def _other_candidates(chosen: FitSite, top: list[FitSite], stmts: list[Stmt]) -> list[ModelNote]:
    others: dict[str, FitSite] = {}
    for site in top:
        if site.primary != chosen.primary and chosen.primary not in site.names:
            others[site.primary] = site  # the last fit of each other variable
    if not others:
        return []
    listed = ", ".join(
        _describe(s) + (" unseeded" if _unseeded(s, stmts) else "") for s in others.values()
    )
    first = next(iter(others))
    return [
        ModelNote(
            "candidates",
            f"other fitted models: {listed}; serving {_describe(chosen)}, the last fitted. To "
            f"serve another, pass --model-var NAME (e.g. --model-var {first})",
            cell=chosen.cell,
            line=chosen.line,
            model_var=first,
        )
    ]


def _loop_notes(chosen: FitSite, loops: list[FitSite]) -> list[ModelNote]:
    notes = []
    seen: set[tuple[str, int]] = set()
    for site in loops:
        if site is chosen or (site.primary, site.stmt.index) in seen:
            continue
        seen.add((site.primary, site.stmt.index))
        searched = any(
            called_name(c) in SEARCHES for c in ast.walk(site.stmt.node) if isinstance(c, ast.Call)
        )
        what = "a hyper-parameter search" if searched else "a model"
        notes.append(
            ModelNote(
                "loop",
                f"{_describe(site)} fits {what} inside a loop: exploratory, not served. To serve "
                f"what its last iteration leaves, pass --model-var {site.primary}",
                cell=site.cell,
                line=site.line,
                model_var=site.primary,
            )
        )
    return notes
