"""How the fitted data is made: the data source, the split, the held-out rows, and which of the
notebook's statements are data code (``features.py``) and which build the model (``train.py``).

* **Sources** are where data enters: ``pd.read_*``, ``load_*``/``fetch_*``/``make_*`` (scikit-learn
  datasets and notebook loaders alike), ``np.loadtxt``. The *primary* source is the one the target
  comes from (else the first one the features come from): its rows are the request rows. Any
  other source on the data path is a table loaded at training and shipped with the model.
* **Data code** is every kept statement before the chosen ``fit`` that the fit's inputs (or the
  notebook's own evaluation inputs) depend on. Of those, the ones the fit's ``X`` depends on run
  at serving too; the others (the target's path, the held-out side) run at training only.
* **Model code** is the rest of the kept statements (the estimator, the fit, aliases after it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from mlops_nb.productionize.estimators import called_name
from mlops_nb.productionize.extract import Extraction
from mlops_nb.productionize.slicing import Stmt, backward_slice, base_name

#: calls that load data, by the called name's prefix or name
SOURCE_PREFIXES = ("read_", "load_", "fetch_", "make_")
SOURCE_NAMES = {"loadtxt", "genfromtxt", "fromfile", "load_dataset", "read_csv"}
NOT_SOURCES = {
    "make_pipeline",
    "make_union",
    "make_column_transformer",
    "make_column_selector",
    "make_scorer",
    "load_model",
    "read_pickle_model",
    "load_state",
    "load_ext",
}
SPLIT_FUNCTIONS = {"train_test_split"}
EVAL_METHODS = {"predict", "predict_proba", "score", "decision_function", "predict_log_proba"}
#: cross-row feature operations: a single request row cannot reproduce them
CROSS_ROW = {
    "shift",
    "diff",
    "rolling",
    "expanding",
    "ewm",
    "rank",
    "cumsum",
    "cumprod",
    "cummax",
    "cummin",
    "pct_change",
    "interpolate",
    "ffill",
    "bfill",
}


class DataFlowError(ValueError):
    """The data code cannot move to the service (the message names the line and the reason)."""


@dataclass
class Split:
    """``X_tr, X_te, y_tr, y_te = train_test_split(X, y, ...)``."""

    stmt: Stmt
    outputs: list[str | None]
    arrays: list[ast.expr]

    def twin(self, name: str) -> str | None:
        """The held-out counterpart of a training output (``X_tr`` -> ``X_te``)."""
        for i in range(0, len(self.outputs) - 1, 2):
            if self.outputs[i] == name:
                return self.outputs[i + 1]
        return None

    @property
    def heldout(self) -> set[str]:
        return {n for i, n in enumerate(self.outputs) if i % 2 == 1 and n}


@dataclass
class Evaluation:
    """The notebook's held-out inputs and target (source text), and how they were found."""

    x: str
    y: str | None
    how: str
    stmts: list[Stmt] = field(default_factory=list)


@dataclass
class FeaturePlan:
    """The data code and how train.py and the service call it."""

    primary: Stmt
    primary_call: ast.Call
    secondary: list[tuple[Stmt, ast.Call]]
    program: list[Stmt]  # data statements, notebook order
    serving: set[int]  # Stmt.index of the statements that also run at serving
    functions: list[Stmt]  # notebook functions the data code calls
    imports: list[Stmt]
    parameters: list[str]  # notebook parameters the data code reads
    model_stmts: list[Stmt]  # what train.py runs after the data code
    split: Split | None
    x_fit: str
    y_fit: str
    evaluation: Evaluation | None
    passed_functions: set[str] = field(default_factory=set)

    @property
    def cells(self) -> list[int]:
        return sorted({s.cell.number for s in [*self.functions, *self.program]})


@dataclass
class DataFlow:
    split: Split | None
    features: FeaturePlan | None
    notes: list[str] = field(default_factory=list)


def _names(expr: str) -> set[str]:
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return set()
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}


def is_source_call(call: ast.Call) -> bool:
    name = called_name(call)
    if name is None or name in NOT_SOURCES:
        return False
    return name.startswith(SOURCE_PREFIXES) or name in SOURCE_NAMES


def _source_calls(stmt: Stmt) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(stmt.node)
        if isinstance(n, ast.Call)
        and is_source_call(n)
        and not isinstance(stmt.node, ast.FunctionDef | ast.AsyncFunctionDef)
    ]


_NOT_DATA = {"default_rng", "seed", "RandomState", "Generator", "SeedSequence", "get_state"}


def _built_data(stmt: Stmt, tables: bool) -> list[ast.Call]:
    """Data the notebook makes itself: ``pd.DataFrame({...})`` (``tables``), else ``np.array(...)``
    or ``np.random.rand(...)``; the outermost such call of the statement."""
    found: list[ast.Call] = []
    for node in ast.walk(stmt.node):
        if not isinstance(node, ast.Call):
            continue
        text = ast.unparse(node.func)
        last = text.rsplit(".", 1)[-1]
        if tables:
            hit = last == "DataFrame"
        else:
            random = ".random." in f".{text}" and last not in _NOT_DATA
            hit = last in ("array", "asarray") or random
        if hit and not any(node in list(ast.walk(outer)) for outer in found):
            found.append(node)
    return found


def find_split(stmts: list[Stmt]) -> Split | None:
    for stmt in stmts:
        node = stmt.node
        if not (isinstance(node, ast.Assign) and isinstance(node.value, ast.Call)):
            continue
        if called_name(node.value) not in SPLIT_FUNCTIONS:
            continue
        target = node.targets[0]
        if not isinstance(target, ast.Tuple | ast.List):
            continue
        outputs = [e.id if isinstance(e, ast.Name) else None for e in target.elts]
        return Split(stmt, outputs, list(node.value.args))
    return None


def _is_module_level(stmt: Stmt, params: set[str]) -> bool:
    node = stmt.node
    if isinstance(node, ast.Import | ast.ImportFrom | ast.FunctionDef | ast.AsyncFunctionDef):
        return True
    if isinstance(node, ast.ClassDef):
        return True
    return bool(stmt.binds) and stmt.binds <= params and not stmt.mutates


def _xpath(program: list[Stmt], x_names: set[str], split: Split | None) -> set[int]:
    """Statements the fit's X depends on; a split passes each output its own array only."""
    needed = set(x_names)
    keep: set[int] = set()
    for stmt in reversed(program):
        if not (stmt.defines & needed):
            continue
        keep.add(stmt.index)
        if split is not None and stmt is split.stmt:
            wanted = {i for i, n in enumerate(split.outputs) if n in needed}
            needed -= stmt.binds
            for i in wanted:
                if i // 2 < len(split.arrays):
                    needed |= {
                        n.id for n in ast.walk(split.arrays[i // 2]) if isinstance(n, ast.Name)
                    }
            continue
        if not stmt.may_bind:
            needed -= stmt.binds - stmt.uses
        needed |= stmt.uses
    return keep


def find_evaluation(ex: Extraction, split: Split | None, aliases: set[str]) -> Evaluation | None:
    """The notebook's own held-out inputs: what it passes to ``model.predict``/``score`` after the
    fit (when that comes from the split's held-out side), else the split twins of the fit's
    arguments."""
    if split is None:
        return _positional_evaluation(ex, aliases)
    held = split.heldout
    for stmt, call in _eval_calls(ex, aliases):
        x_src = ast.unparse(call.args[0])
        if x_src == ex.fit.x_src:
            continue
        before = [s for s in ex.all_statements if s.index < stmt.index]
        wanted = _names(x_src)
        y_src = ast.unparse(call.args[1]) if len(call.args) > 1 else None
        if y_src is None:
            y_src = _twin_expr(ex.fit.y_src, split)
        if y_src:
            wanted |= _names(y_src)
        stmts, _ = backward_slice(before, wanted)
        stmts = [s for s in stmts if not (s.uses & aliases)]
        reached = wanted | set().union(*(s.uses for s in stmts)) if stmts else wanted
        if reached & held:
            return Evaluation(
                x_src, y_src, f"as the notebook evaluates it (cell {stmt.cell.number})", stmts
            )
    x_twin = _twin_expr(ex.fit.x_src, split)
    y_twin = _twin_expr(ex.fit.y_src, split)
    if x_twin:
        return Evaluation(x_twin, y_twin, "the split's held-out side")
    return None


def _eval_calls(ex: Extraction, aliases: set[str]) -> list[tuple[Stmt, ast.Call]]:
    """``model.predict(...)``/``score(...)`` calls on the fitted model after the fit."""
    fit_index = ex.fit.stmt.index
    found = []
    for stmt in (s for s in ex.all_statements if s.index > fit_index):
        for call in (n for n in ast.walk(stmt.node) if isinstance(n, ast.Call)):
            func = call.func
            if (
                isinstance(func, ast.Attribute)
                and func.attr in EVAL_METHODS
                and call.args
                and base_name(func.value) in aliases
            ):
                found.append((stmt, call))
    return found


def _positional_evaluation(ex: Extraction, aliases: set[str]) -> Evaluation | None:
    """Rows held out by position (positional.py): the notebook evaluates its model on rows of
    the table it fitted on that the fit's rows do not include."""
    from mlops_nb.productionize import positional

    fit_position = ex.all_statements.index(ex.fit.stmt)
    fitted_on = ex.all_statements[:fit_position]
    try:
        x_fit = positional.rows_of(ast.parse(ex.fit.x_src, mode="eval").body, fitted_on)
        y_fit = positional.rows_of(ast.parse(ex.fit.y_src, mode="eval").body, fitted_on)
    except SyntaxError:
        return None
    if x_fit is None:
        return None
    for stmt, call in _eval_calls(ex, aliases):
        before = [s for s in ex.all_statements if s.index < stmt.index]
        x_eval = positional.rows_of(call.args[0], before)
        if x_eval is None or not x_fit.disjoint(x_eval):
            continue
        x_src = ast.unparse(call.args[0])
        if len(call.args) > 1:
            y_eval = positional.rows_of(call.args[1], before)
            if y_eval is None or y_fit is None or not y_fit.disjoint(y_eval):
                continue
            y_src = ast.unparse(call.args[1])
        elif y_fit is not None and y_fit.direct and x_eval.direct:
            y_src = x_eval.slice_of(y_fit.sliced)  # the same rows of the fit's target
        else:
            continue
        wanted = _names(x_src) | _names(y_src)
        stmts, _ = backward_slice(before, wanted)
        stmts = [s for s in stmts if not (s.uses & aliases)]
        return Evaluation(
            x_src,
            y_src,
            f"as the notebook evaluates it (cell {stmt.cell.number}): rows held out by position",
            stmts,
        )
    return None


def _twin_expr(expr: str, split: Split) -> str | None:
    """``X_tr.values`` -> ``X_te.values`` when the expression reads split training outputs."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError:
        return None
    changed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            twin = split.twin(node.id)
            if twin:
                node.id = twin
                changed = True
    return ast.unparse(tree) if changed else None


def plan(ex: Extraction, aliases: set[str] | None = None) -> DataFlow:
    """Classify the kept statements into data code and model code."""
    aliases = set(aliases or ()) | {ex.model_var, ex.fit.model_var} | _fit_receivers(ex)
    stmts = ex.statements
    if ex.fit.stmt not in stmts:
        raise DataFlowError("the chosen fit is not among the extracted statements")
    fit_pos = stmts.index(ex.fit.stmt)
    pre = stmts[:fit_pos]
    x_names, y_names = _names(ex.fit.x_src), _names(ex.fit.y_src)
    data, _ = backward_slice(pre, x_names | y_names)
    split = find_split(data)
    flow = DataFlow(split=split, features=None)
    evaluation = find_evaluation(ex, split, aliases)
    params = {p.name for p in ex.parameters}
    chosen = {s.index: s for s in data}
    if evaluation is not None:
        for stmt in evaluation.stmts:
            chosen.setdefault(stmt.index, stmt)
    ordered = [chosen[i] for i in sorted(chosen)]
    program = [s for s in ordered if not _is_module_level(s, params)]
    serving = _xpath(program, x_names, split)
    xpath = [s for s in program if s.index in serving]
    sources = [(s, c) for s in program for c in _source_calls(s)]
    y_path, _ = backward_slice(data, y_names)
    y_ids = {s.index for s in y_path}
    on_both = [(s, c) for s, c in sources if s.index in y_ids and s.index in serving]
    on_x = [(s, c) for s, c in sources if s.index in serving]
    if not on_x:
        built = [(s, c) for s in xpath for c in _built_data(s, True)]
        built = built or [(s, c) for s in xpath for c in _built_data(s, False)]
        if not built:
            flow.notes.append(
                "no data source found on the model's data path (pd.read_*, load_*/fetch_*/make_*, "
                "np.loadtxt, a pd.DataFrame built in the notebook)"
            )
            return flow
        on_x = built[:1]  # data made in the notebook itself (pd.DataFrame({...}), np.random)
    primary_stmt, primary_call = (on_both or on_x)[0]
    secondary = [(s, c) for s, c in sources if c is not primary_call and s.index in serving]
    cross = _cross_row(xpath)
    if cross:
        stmt, name = cross
        raise DataFlowError(
            f"cell {stmt.cell.number}, line {stmt.lineno}: `.{name}(...)` computes a feature from "
            "other rows (a lag, window or rank); one request row cannot reproduce it. Compute it "
            "upstream and read it as a column, or pass --engineered-input to serve the model's own "
            "columns"
        )
    defs = {
        s.node.name: s
        for s in ex.all_statements
        if isinstance(s.node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
    }
    functions = _functions_used(program, defs)
    used = set().union(*(s.uses for s in [*program, *functions]))
    imports = [
        s
        for s in ex.all_statements
        if isinstance(s.node, ast.Import | ast.ImportFrom) and s.binds & used
    ]
    program_ids = {s.index for s in program}
    model_stmts = [
        s for s in stmts if s.index not in program_ids and not _is_module_level(s, params)
    ]
    flow.features = FeaturePlan(
        primary=primary_stmt,
        primary_call=primary_call,
        secondary=secondary,
        program=program,
        serving=serving,
        functions=functions,
        imports=_dedupe(imports),
        parameters=sorted(used & params),
        model_stmts=model_stmts,
        split=split,
        x_fit=ex.fit.x_src,
        y_fit=ex.fit.y_src,
        evaluation=evaluation,
        passed_functions=_passed_functions(program, set(defs)),
    )
    if evaluation is None:
        flow.notes.append(
            "the notebook holds no rows out (no train_test_split before the fit, no model "
            "evaluated on rows its fit left out by position): metrics and the fidelity check use "
            "rows drawn across the training data"
        )
    for stmt, call in secondary:
        flow.notes.append(
            f"cell {stmt.cell.number}, line {stmt.lineno}: `{ast.unparse(call)[:60]}` is a second "
            "table: it is loaded at training and shipped with the model"
        )
    return flow


def _fit_receivers(ex: Extraction) -> set[str]:
    """``lr`` in ``model = lr.fit(X, y)``: the estimator is bound to both names."""
    found = set()
    for node in ast.walk(ex.fit.stmt.node):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "fit"
        ):
            name = base_name(node.func.value)
            if name:
                found.add(name)
    return found


def _dedupe(stmts: list[Stmt]) -> list[Stmt]:
    seen: set[str] = set()
    out = []
    for stmt in stmts:
        text = ast.unparse(stmt.node)
        if text not in seen:
            seen.add(text)
            out.append(stmt)
    return out


def _cross_row(stmts: list[Stmt]) -> tuple[Stmt, str] | None:
    for stmt in stmts:
        for node in ast.walk(stmt.node):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in CROSS_ROW
            ):
                return stmt, node.func.attr
    return None


def _functions_used(stmts: list[Stmt], defs: dict[str, Stmt]) -> list[Stmt]:
    todo = set().union(*(s.uses for s in stmts)) & set(defs) if stmts else set()
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        seen.add(name)
        todo |= (defs[name].uses & set(defs)) - seen
    return sorted((defs[n] for n in seen), key=lambda s: s.index)


def _passed_functions(stmts: list[Stmt], functions: set[str]) -> set[str]:
    """Notebook functions passed as values (``df.apply(f)``): they run per row, unrewritten."""
    passed: set[str] = set()
    for stmt in stmts:
        for node in ast.walk(stmt.node):
            if isinstance(node, ast.Call) and called_name(node) != "pipe":
                for arg in [*node.args, *(k.value for k in node.keywords)]:
                    if isinstance(arg, ast.Name) and arg.id in functions:
                        passed.add(arg.id)
    return passed
