"""Run inside the notebook's environment, in a fresh process (``python fidelity_probe.py ...``):
retrain with train.py, compare with the notebook's model, and describe the training inputs.

Uses only the standard library, numpy and the generated code; prints one JSON object.
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


def _imports_of(path: Path) -> set[str]:
    import ast

    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module.split(".")[0])
    return found


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
    import numpy as np

    return np.asarray(values).tolist()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", required=True)
    parser.add_argument("--notebook-model", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--rtol", type=float, default=1e-9)
    parser.add_argument("train_args", nargs="*")
    args = parser.parse_args()
    service = Path(args.service)
    sys.path.insert(0, str(service))
    import numpy as np

    has_features = (service / "features.py").exists()
    import train

    started = time.perf_counter()
    result = train.main(["--out", args.out, *args.train_args])
    train_seconds = time.perf_counter() - started
    _wait_for(Path(args.notebook_model))
    with open(args.notebook_model, "rb") as handle:
        notebook_model = pickle.load(handle)
    serving_modules = _pickle_modules(args.notebook_model)
    if has_features:
        serving_modules |= _imports_of(service / "features.py")
    if "cloudpickle" in serving_modules:
        serving_modules.add("cloudpickle")
    reference = result["reference"]
    example = reference.head(5).reset_index(drop=True)
    if has_features:
        import features

        model_input = features.build_features(example)
    else:
        model_input = example
        if getattr(notebook_model, "feature_names_in_", None) is None:
            model_input = example.to_numpy()
    expected = notebook_model.predict(model_input)
    retrained = result["model"].predict(model_input)
    expected_arr, retrained_arr = np.asarray(expected), np.asarray(retrained)
    if expected_arr.dtype.kind == "f" and retrained_arr.shape == expected_arr.shape:
        equal = bool(np.allclose(expected_arr, retrained_arr, rtol=args.rtol, atol=1e-12))
    else:
        equal = bool(np.array_equal(expected_arr, retrained_arr))
    notebook_metrics = train.evaluate(notebook_model, result["X_eval"], result["y_eval"])
    params = {}
    if hasattr(notebook_model, "get_params"):
        params = notebook_model.get_params(deep=True)
    unseeded = sorted(k for k, v in params.items() if k.endswith("random_state") and v is None)
    classes = getattr(notebook_model, "classes_", None)
    raw_columns = [str(c) for c in result.get("raw_columns") or []] if has_features else None
    report = {
        "equal": equal,
        "expected": _jsonable(expected),
        "retrained": _jsonable(retrained),
        "example": json.loads(example.to_json(orient="records")),
        "metrics": result["metrics"],
        "notebook_metrics": notebook_metrics,
        "unseeded": unseeded,
        "classes": _jsonable(classes) if classes is not None else None,
        "columns": _columns(reference),
        "raw_columns": raw_columns,
        "reference_rows": len(reference),
        "train_seconds": round(train_seconds, 3),
        "model_class": f"{type(notebook_model).__module__}.{type(notebook_model).__qualname__}",
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
    }
    print("FIDELITY-REPORT " + json.dumps(report, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
