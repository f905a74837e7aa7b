"""Run inside the notebook's environment, in a fresh process (``python fidelity_probe.py ...``):
retrain with train.py, then compare, on the notebook's held-out rows (else rows drawn across the
data and every class):

* **features**: what the service computes from the raw rows vs what the notebook computed for the
  same rows (and each row alone vs the rows together: a feature must not depend on other rows);
* **answers**: the notebook's model on the service's features vs on the notebook's features;
* **retraining**: train.py's model vs the notebook's model (predict, and predict_proba or
  decision_function where present).

Uses only the standard library, numpy, pandas and the generated code; prints one JSON object.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import pickle
import sys
import time
from pathlib import Path
from typing import Any

# run as a script, this file's folder comes first on sys.path, and its neighbours (packaging.py,
# schema.py, notebook.py, ...) would shadow installed modules of the same name (onnxmltools
# imports `packaging.version`): only the package's own imports may reach them
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]

#: how many rows are compared when the notebook holds none out
SAMPLE_ROWS = 300
#: how many rows are also scored one at a time
SINGLE_ROWS = 20
PROBA_ATOL = 1e-6


def _distributions(modules: set[str]) -> dict[str, str]:
    mapping = importlib.metadata.packages_distributions()
    stdlib = set(getattr(sys, "stdlib_module_names", ()))
    found: dict[str, str] = {}
    for module in sorted(modules - stdlib):
        for dist in mapping.get(module, []):
            try:
                found[dist] = importlib.metadata.version(dist)
            except importlib.metadata.PackageNotFoundError:
                continue
    return found


def _pickle_modules(path: str) -> set[str]:
    """Top-level modules a pickle refers to (what unpickling it imports)."""
    import pickletools

    modules: set[str] = set()
    strings: list[str] = []
    with open(path, "rb") as handle:
        for opcode, arg, _ in pickletools.genops(handle):
            if opcode.name in ("GLOBAL", "INST") and isinstance(arg, str):
                modules.add(arg.split(" ")[0].split(".")[0])
            elif opcode.name == "STACK_GLOBAL" and len(strings) >= 2:
                modules.add(strings[-2].split(".")[0])
            elif isinstance(arg, str):
                strings.append(arg)
    return modules


def imports_of(path: Path, seen: set[Path] | None = None) -> set[str]:
    """What importing ``path`` imports: its module-level imports (imports inside functions run
    only when called: features.py imports what only training needs inside ``program``), and
    those of the modules beside it that it imports."""
    import ast

    found: set[str] = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    seen = (seen or set()) | {path}
    local = set()
    for name in sorted(found):
        beside = path.with_name(f"{name}.py")
        if beside.is_file() or (path.parent / name / "__init__.py").is_file():
            local.add(name)  # shipped with the service, not installed
        if beside.is_file() and beside not in seen:
            found |= imports_of(beside, seen)
            seen.add(beside)
    return found - local


def _wait_for(path: Path, timeout: float = 1800.0) -> None:
    failed = path.with_suffix(".failed")
    deadline = time.monotonic() + timeout
    while not path.exists():
        if failed.exists() or time.monotonic() > deadline:
            raise SystemExit("the notebook's model was not produced")
        time.sleep(0.05)
    time.sleep(0.05)  # the writer closes the file right after creating it


def _kind(series: Any) -> str:
    import pandas.api.types as t

    if t.is_bool_dtype(series):
        return "boolean"
    if t.is_integer_dtype(series):
        return "integer"
    if t.is_numeric_dtype(series):
        return "number"
    return "string"


def _columns(frame: Any) -> list[dict[str, Any]]:
    out = []
    for name in frame.columns:
        series = frame[name]
        kind = _kind(series)
        info: dict[str, Any] = {
            "name": str(name),
            "type": kind,
            "nullable": bool(series.isna().any()),
        }
        clean = series.dropna()
        if kind in ("number", "integer") and len(clean):
            info["min"] = float(clean.min())
            info["max"] = float(clean.max())
        elif kind == "string":
            uniques = sorted(map(str, clean.unique()))
            info["categories"] = uniques[:50] if len(uniques) <= 50 else None
        out.append(info)
    return out


def _jsonable(values: Any) -> list[Any]:
    """Predictions as the service answers them: one value per row (CatBoost gives (n, 1))."""
    import numpy as np

    array = np.asarray(values)
    return list((array[:, 0] if array.ndim == 2 and array.shape[1] == 1 else array).tolist())


def _rows(fitted: Any, sample_rows: int) -> tuple[Any, Any, str]:
    """Raw rows to compare, the notebook's features for them (or None), and how they were chosen."""
    import numpy as np
    import pandas as pd

    raw, names = fitted.raw, fitted.names
    x_eval = names.get("_X_eval")
    if fitted.heldout and x_eval is not None and len(fitted.heldout) == _length(x_eval):
        return raw.loc[list(fitted.heldout)], x_eval, f"{len(fitted.heldout)} held-out rows"
    if (
        isinstance(x_eval, pd.DataFrame | pd.Series)
        and len(x_eval)
        and x_eval.index.is_unique
        and set(x_eval.index) <= set(raw.index)
    ):  # held out without a split (by position): the evaluation rows keep their labels
        picks = _spread(list(x_eval.index), names.get("_y_eval"), sample_rows)
        return raw.loc[picks], x_eval.loc[picks], f"{len(picks)} held-out rows"
    x_fit = names["_X"]
    if isinstance(x_fit, pd.DataFrame | pd.Series) and set(x_fit.index) <= set(raw.index):
        picks = _spread(list(x_fit.index), names.get("_y"), sample_rows)
        where = (
            "training rows"
            if x_eval is None
            else "training rows (the held-out rows are not identifiable)"
        )
        return raw.loc[picks], x_fit.loc[picks], f"{len(picks)} {where} drawn across the data"
    if _length(x_fit) == len(raw):
        positions = np.asarray(_spread(list(range(len(raw))), names.get("_y"), sample_rows))
        return (
            raw.iloc[positions],
            _take(x_fit, positions),
            f"{len(positions)} rows drawn across the data",
        )
    picks = _spread(list(raw.index), None, sample_rows)
    return raw.loc[picks], None, f"{len(picks)} rows drawn across the data"


def _spread(labels: list[Any], y: Any, n: int) -> list[Any]:
    """Up to ``n`` labels spread across the data, every class represented."""
    import numpy as np

    if len(labels) <= n:
        return labels
    picks = set(np.linspace(0, len(labels) - 1, n).round().astype(int).tolist())
    if y is not None and _length(y) == len(labels):
        values = np.asarray(y)
        if values.dtype.kind not in "f" or len(np.unique(values)) <= 50:
            for cls in np.unique(values):
                first = int(np.flatnonzero(values == cls)[0])
                picks.add(first)
    return [labels[i] for i in sorted(picks)]


def _length(value: Any) -> int:
    shape = getattr(value, "shape", None)
    return int(shape[0]) if shape else len(value)


def _take(value: Any, positions: Any) -> Any:
    if hasattr(value, "iloc"):
        return value.iloc[positions]
    return value[positions]


def _scores(model: Any, x: Any) -> Any:
    for method in ("predict_proba", "decision_function"):
        if hasattr(model, method):
            try:
                return method, getattr(model, method)(x)
            except Exception:
                continue
    return None, None


def _differ(a: Any, b: Any, rtol: float) -> int:
    """How many rows differ between two predictions / feature tables."""
    import numpy as np
    import pandas as pd
    from feature_runtime import same

    left = a.toarray() if hasattr(a, "toarray") else a
    right = b.toarray() if hasattr(b, "toarray") else b
    left = left.to_numpy() if isinstance(left, pd.DataFrame | pd.Series) else np.asarray(left)
    right = right.to_numpy() if isinstance(right, pd.DataFrame | pd.Series) else np.asarray(right)
    if left.shape != right.shape:
        return max(_length(left), 1)
    return sum(0 if same(left[i], right[i], rtol) else 1 for i in range(len(left)))


def prepare(fitted: Any, model: Any, transform: Any, rtol: float) -> dict[str, Any]:
    """Everything that does not need the notebook's model (done while the kernel still runs)."""
    state = fitted.state
    rows, x_notebook, chosen = _rows(fitted, SAMPLE_ROWS)
    requests = rows[state.inputs].reset_index(drop=True)
    x_served = transform(requests, state)
    report: dict[str, Any] = {"rows": len(requests), "chosen": chosen}
    if x_notebook is not None:
        # the feature code replayed on the whole raw rows must give the notebook's features
        x_replayed = transform(rows.reset_index(drop=True), state, every_column=True)
        report["feature_rows_differing"] = _differ(x_replayed, x_notebook, rtol)
    else:
        report["feature_rows_differing"] = None
    singles = min(SINGLE_ROWS, len(requests))
    lonely = 0
    for i in range(singles):
        one = transform(requests.iloc[[i]].reset_index(drop=True), state)
        if _differ(one, _take(x_served, [i]), rtol):
            lonely += 1
    report["single_rows"] = singles
    report["single_rows_differing"] = lonely
    method, ours = _scores(model, x_served)
    return {
        "report": report,
        "x_served": x_served,
        "requests": requests,
        "x_notebook": x_notebook,
        "retrained": model.predict(x_served),
        "scores": (method, ours),
    }


def compare(prepared: dict[str, Any], notebook_model: Any, rtol: float) -> dict[str, Any]:
    """The notebook's model on the same rows: its answers, and train.py's model against it."""
    report = dict(prepared["report"])
    x_served, x_notebook = prepared["x_served"], prepared["x_notebook"]
    served = notebook_model.predict(x_served)
    report["answers_differing"] = (
        _differ(served, notebook_model.predict(x_notebook), rtol)
        if x_notebook is not None
        else None
    )
    report["retrained_differing"] = _differ(prepared["retrained"], served, rtol)
    method, ours = prepared["scores"]
    _, theirs = _scores(notebook_model, x_served)
    report["scores"] = method
    report["scores_differing"] = (
        _differ(ours, theirs, PROBA_ATOL) if method and theirs is not None else None
    )
    return report


def _engine_rows(requested: str | None, state: Any, *frames: Any) -> Any:
    """The model inputs the engine is chosen on: the input example, the reference rows and the
    rows the fidelity check compares (held-out rows, when the notebook holds some out)."""
    if not requested:
        return None
    import features
    import pandas as pd

    columns = list(frames[0].columns)
    rows = pd.concat([frame[columns] for frame in frames], ignore_index=True)
    return features.transform(rows, state)


def _choose(requested: str | None, model: Any, rows: Any) -> Any:
    """engine.py's choice for ``model`` on ``rows`` (an EngineError is kept as the answer)."""
    if not requested:
        return None
    from mlops_nb.productionize.engine import EngineError, choose_engine

    try:
        return choose_engine(model, rows, requested)
    except EngineError as exc:
        return exc


def _engine(
    requested: str | None, service: Path, model: Any, retrained: Any, early: Any, rows: Any
) -> dict[str, Any] | None:
    """Write the served engine (engine.py) for the notebook's ``model``: the choice made early
    for train.py's model when both are the same fitted object, else a fresh one."""
    if not requested:
        return None
    from mlops_nb.productionize.engine import EngineError, save_choice
    from mlops_nb.productionize.same_fit import same_fit

    choice = early if same_fit(model, retrained) else _choose(requested, model, rows)
    if isinstance(choice, EngineError):
        return {"error": str(choice)}
    model_dir = service / "model"
    model_dir.mkdir(exist_ok=True)
    return dict(save_choice(model_dir, choice).describe())


def _passthrough(requested: str | None, state: Any, requests: Any) -> Any:
    """passthrough.py's verdict for the feature code (None when no engine is chosen)."""
    if not requested:
        return None
    import features

    from mlops_nb.productionize import passthrough

    return passthrough.find(features.transform, state, requests, [])


def _record_passthrough(service: Path, engine: dict[str, Any], verdict: Any) -> dict[str, Any]:
    """The engine reads its inputs straight from the request rows when the feature code only
    passes the API's columns through (engine.json ``passthrough``): onnxruntime always, the
    scikit-learn model when the columns are numbers and it answers the rows alike (the service
    checks that at load); the verdict is said anyway."""
    inputs = engine.get("inputs") or {}
    width = len(inputs.get("columns") or []) or None
    fits = verdict.columns is not None and (width is None or len(verdict.columns) == width)
    engine = {**engine, "feature_code": verdict.reason}
    if fits:
        engine["passthrough"] = verdict.describe()
    (service / "model" / "engine.json").write_text(json.dumps(engine, indent=2))
    return engine


def _qualname(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", required=True)
    parser.add_argument("--notebook-model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("--engine", default=None, help="also choose the served engine")
    parser.add_argument("train_args", nargs="*")
    args = parser.parse_args()
    service = Path(args.service)
    sys.path.insert(0, str(service))
    import feature_runtime
    import features
    import train

    started = time.perf_counter()
    result = train.main(["--out", args.out, *args.train_args])
    train_seconds = time.perf_counter() - started
    timings: dict[str, float] = {"train": train_seconds}
    fitted = result["fitted"]
    prepared = prepare(fitted, result["model"], features.transform, args.rtol)
    state = fitted.state
    # the input example: held-out rows, else rows training kept (not ones its filters dropped)
    example_rows = (
        fitted.raw.loc[list(fitted.heldout)[:5]]
        if fitted.heldout
        else feature_runtime.training_rows(fitted).head(5)
    )
    example = example_rows[state.inputs].reset_index(drop=True)
    engine_rows = _engine_rows(
        args.engine, state, example, result["reference"], prepared["requests"]
    )
    # while the kernel still runs: the engine for train.py's model, kept only when the notebook's
    # model turns out to be the very same fit, value for value (same_fit.py)
    early = _choose(args.engine, result["model"], engine_rows)
    # whether the service may read the model's input straight from the request (passthrough.py)
    verdict = _passthrough(args.engine, state, prepared["requests"])
    timings["prepare"] = time.perf_counter() - started
    waited = time.perf_counter()
    _wait_for(Path(args.notebook_model))
    timings["wait"] = time.perf_counter() - waited
    finishing = time.perf_counter()
    with open(args.notebook_model, "rb") as handle:
        notebook_model = pickle.load(handle)
    report = compare(prepared, notebook_model, args.rtol)
    expected = notebook_model.predict(features.transform(example, state))
    engine = _engine(args.engine, service, notebook_model, result["model"], early, engine_rows)
    if engine is not None and verdict is not None:
        engine = _record_passthrough(service, engine, verdict)
    serving_modules = _pickle_modules(args.notebook_model) | imports_of(service / "features.py")
    serving_modules |= _pickle_modules(str(Path(args.out) / "features.pkl"))
    params = notebook_model.get_params(deep=True) if hasattr(notebook_model, "get_params") else {}
    unseeded = sorted(k for k, v in params.items() if k.endswith("random_state") and v is None)
    classes = getattr(notebook_model, "classes_", None)
    notebook_metrics = train.evaluate(notebook_model, result["X_eval"], result["y_eval"])
    print(
        "FIDELITY-REPORT "
        + json.dumps(
            {
                **report,
                "example": json.loads(example.to_json(orient="records")),
                **({"engine": engine} if engine is not None else {}),
                "expected": _jsonable(expected),
                "metrics": result["metrics"],
                "notebook_metrics": notebook_metrics,
                "evaluated_on": result["evaluated_on"],
                "unseeded": unseeded,
                "classes": _jsonable(classes) if classes is not None else None,
                "columns": _columns(fitted.raw[state.inputs]),
                "raw_columns": state.raw_columns,
                "placeholders": sorted(state.placeholders),
                "reference_rows": len(result["reference"]),
                "train_seconds": round(train_seconds, 3),
                "timings": {
                    **{k: round(v, 3) for k, v in timings.items()},
                    "after_wait": round(time.perf_counter() - finishing, 3),
                },
                "model_class": _qualname(notebook_model),
                "serving_distributions": _distributions(serving_modules),
                "python": ".".join(map(str, sys.version_info[:3])),
                "versions": _distributions(
                    {
                        "numpy",
                        "scipy",
                        "pandas",
                        "sklearn",
                        "fastapi",
                        "uvicorn",
                        "pydantic",
                        "starlette",
                        "uvloop",
                        "httptools",
                        "cloudpickle",
                        "anyio",
                        "httpx",
                        "pytest",
                    }
                ),
            },
            default=str,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
