"""The steps :func:`mlops_nb.productionize.api.productionize` runs, one small function each."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.exceptions import ConfigError
from mlops_nb.productionize import codegen, packaging, schema
from mlops_nb.productionize.dataflow import DataFlow
from mlops_nb.productionize.engine import EngineError
from mlops_nb.productionize.extract import Extraction
from mlops_nb.productionize.render import render_tree

DEFAULT_BASE = "python:{python}-slim"


def service_name(notebook: Path, name: str | None) -> str:
    raw = name or notebook.stem
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not slug:
        raise ConfigError(f"--name {raw!r} has no usable characters (a-z, 0-9, -)")
    return slug[:50]


#: the file that marks a folder as made by ``mlops-nb productionize`` (only such a folder is ever
#: replaced, and only with ``--force``)
MARKER = ".mlops-nb-service"


def is_service_dir(folder: Path) -> bool:
    """True for a real folder (not a link) holding mlops-nb's marker file."""
    marker = folder / MARKER
    if folder.is_symlink() or not folder.is_dir() or marker.is_symlink() or not marker.is_file():
        return False
    try:
        return json.loads(marker.read_text()).get("generated_by") == "mlops-nb"
    except (OSError, ValueError, AttributeError):
        return False


def check_out_dir(out: Path, force: bool) -> Path:
    """Refuse a link, a file, or a non-empty folder (with ``force``: one mlops-nb did not make).

    Returns the absolute path to write to; the last component is never a link."""
    out = Path(os.path.abspath(out))
    if out.is_symlink():
        raise ConfigError(
            f"{out} is a symbolic link; productionize never writes through or replaces a link. "
            "Remove the link, or pass --out with a real folder"
        )
    if out.exists():
        if not out.is_dir():
            raise ConfigError(f"{out} exists and is not a folder; pass another --out")
        if any(out.iterdir()):
            if not force:
                raise ConfigError(f"{out} exists and is not empty; pass --force to replace it")
            if not is_service_dir(out):
                raise ConfigError(
                    f"{out} was not made by mlops-nb productionize (it has no {MARKER} file); "
                    "refusing to replace it, even with --force. Move it away or pass another --out"
                )
    return out.parent.resolve() / out.name


def staging_dir(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = out.parent / f".{out.name}.mlops-nb-{int(time.time() * 1000)}"
    stage.mkdir()
    return stage


def write_code(stage: Path, code: codegen.TrainingCode) -> None:
    (stage / "train.py").write_text(code.train_py)
    (stage / "features.py").write_text(code.features_py)
    (stage / "feature_runtime.py").write_text(codegen.runtime_source())
    for name, text in code.module_sources.items():
        (stage / name).write_text(text)
    for module in code.local_modules:
        if module.is_dir():
            shutil.copytree(
                module, stage / module.name, ignore=shutil.ignore_patterns("__pycache__")
            )
        else:
            shutil.copyfile(module, stage / module.name)


def train_args(code: codegen.TrainingCode, stage: Path, out: Path) -> list[str]:
    """Data flags for the probe: defaults are relative to the final folder, not the staging one."""
    return [
        arg for d in code.data_args for arg in (f"--{d.flag}", str((out / d.default).resolve()))
    ]


def write_model_dir(
    stage: Path, notebook_model: Path, probe: dict[str, Any], meta: dict[str, Any]
) -> dict[str, Any]:
    model_dir = stage / "model"
    model_dir.mkdir(exist_ok=True)
    shutil.copyfile(notebook_model, model_dir / "model.pkl")
    digest = hashlib.sha256((model_dir / "model.pkl").read_bytes()).hexdigest()
    shutil.copyfile(stage / "train-output" / "reference.csv", model_dir / "reference.csv")
    shutil.copyfile(stage / "train-output" / "features.pkl", model_dir / "features.pkl")
    example = {"records": probe["example"], "predictions": probe["expected"]}
    (model_dir / "input_example.json").write_text(json.dumps(example, indent=2))
    (model_dir / "schema.json").write_text(json.dumps({"columns": probe["columns"]}, indent=2))
    metadata = {
        **meta,
        "model_sha256": digest,
        "model_class": probe["model_class"],
        "classes": probe["classes"],
        "training_metrics": probe["notebook_metrics"],
        "retrained_metrics": probe["metrics"],
        "metrics_evaluated_on": probe["evaluated_on"],
        "raw_columns": probe["raw_columns"],
        "filled_columns": probe["placeholders"],
        "input_columns": [c["name"] for c in probe["columns"]],
        "reference_rows": probe["reference_rows"],
        "python": probe["python"],
        "versions": probe["versions"],
        "generated_by": f"mlops-nb {__version__}",
    }
    (model_dir / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str))
    return example


def render_service(
    stage: Path,
    *,
    ex: Extraction,
    flow: DataFlow,
    code: codegen.TrainingCode,
    probe: dict[str, Any],
    example: dict[str, Any],
    name: str,
    tag: str,
    base_image: str,
    wheelhouse: bool,
    run_id: str | None,
) -> list[tuple[str, str]]:
    first = example["records"][0]
    ctx = schema.schema_context(probe["columns"], first, example["predictions"], probe["classes"])
    # the served engine, chosen by the fidelity probe (model/model.onnx, model/engine.json)
    chosen = probe["engine"]
    if "error" in chosen:
        raise EngineError(chosen["error"])
    served = chosen["engine"]
    # ONNX with a proven passthrough (the feature code only selects/renames API columns): the
    # image carries neither the feature code nor pandas; features.py stays for train.py
    has_features = not (served == "onnx" and chosen.get("passthrough"))
    needs_pandas = has_features or (served != "onnx" and not ctx["numeric_only"])
    feature_dists = packaging.feature_distributions(stage) if has_features else []
    reqs = packaging.requirements(probe, needs_pandas, served, feature_dists)
    metrics = probe["notebook_metrics"]
    context = {
        **ctx,
        "service_name": name,
        "model_var": ex.model_var,
        "model_class": probe["model_class"],
        "notebook_name": ex.notebook.name,
        "version": __version__,
        "has_features": has_features,
        "engine": served,
        "tag": tag,
        "base_image": base_image,
        "wheelhouse": wheelhouse,
        "python": probe["python"],
        "requirements": reqs,
        "system_packages": packaging.system_packages(reqs),
        "test_requirements": packaging.test_requirements(probe),
        "run_id": run_id,
        "parameters": [
            {"flag": k.replace("_", "-"), "value": v} for k, v in code.parameters.items()
        ],
        "data_args": code.data_args,
        "metrics_text": ", ".join(f"{k} {v:.4f}" for k, v in metrics.items()),
    }
    context["local_modules"] = [m.name for m in code.local_modules] + sorted(code.module_sources)
    render_tree(stage, context, skip={"train.py.j2", "features.py.j2"})
    return reqs


def publish(stage: Path, out: Path) -> None:
    """Move the finished service into place. An existing ``out`` is replaced only when it is an
    empty folder or a folder mlops-nb made (checked again here: it may have changed meanwhile);
    the old service is moved aside first and removed only once the new one is in place."""
    shutil.rmtree(stage / "train-output", ignore_errors=True)
    marker = {"generated_by": "mlops-nb", "version": __version__}
    (stage / MARKER).write_text(json.dumps(marker) + "\n")
    if out.is_symlink():
        raise ConfigError(f"{out} is a symbolic link; productionize never replaces a link")
    old = None
    if out.exists():
        if out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        elif is_service_dir(out):
            old = out.parent / f".{out.name}.mlops-nb-old-{int(time.time() * 1000)}"
            out.rename(old)
        else:
            raise ConfigError(
                f"{out} appeared while productionize ran and was not made by mlops-nb; nothing "
                "was replaced. Move it away or pass another --out, and run again"
            )
    stage.rename(out)
    if old is not None:
        shutil.rmtree(old)


def default_base_image(python: str) -> str:
    major_minor = ".".join(python.split(".")[:2])
    return DEFAULT_BASE.format(python=major_minor)
