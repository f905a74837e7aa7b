"""The steps :func:`mlops_nb.productionize.api.productionize` runs, one small function each."""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import time
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.exceptions import ConfigError
from mlops_nb.productionize import codegen, packaging, schema
from mlops_nb.productionize.dataflow import DataFlow
from mlops_nb.productionize.extract import Extraction
from mlops_nb.productionize.render import render_tree

DEFAULT_BASE = "python:{python}-slim"


def service_name(notebook: Path, name: str | None) -> str:
    raw = name or notebook.stem
    slug = re.sub(r"[^a-z0-9]+", "-", raw.lower()).strip("-")
    if not slug:
        raise ConfigError(f"--name {raw!r} has no usable characters (a-z, 0-9, -)")
    return slug[:50]


def check_out_dir(out: Path, force: bool) -> None:
    """Refuse to replace a non-empty folder unless ``force``; never delete what we did not make."""
    if out.exists() and any(out.iterdir()):
        if not force:
            raise ConfigError(f"{out} exists and is not empty; pass --force to replace it")
        if not (out / "model" / "metadata.json").exists() and not (out / "app").is_dir():
            raise ConfigError(
                f"{out} is not a service made by mlops-nb; refusing to replace it even with --force"
            )


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
    has_features = True
    needs_pandas = has_features or not ctx["numeric_only"]
    reqs = packaging.requirements(probe, needs_pandas)
    metrics = probe["notebook_metrics"]
    context = {
        **ctx,
        "service_name": name,
        "model_var": ex.model_var,
        "model_class": probe["model_class"],
        "notebook_name": ex.notebook.name,
        "version": __version__,
        "has_features": has_features,
        "tag": tag,
        "base_image": base_image,
        "wheelhouse": wheelhouse,
        "python": probe["python"],
        "requirements": reqs,
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
    """Move the finished service into place (replacing an earlier mlops-nb service)."""
    shutil.rmtree(stage / "train-output", ignore_errors=True)
    if out.exists():
        shutil.rmtree(out)
    stage.rename(out)


def default_base_image(python: str) -> str:
    major_minor = ".".join(python.split(".")[:2])
    return DEFAULT_BASE.format(python=major_minor)
