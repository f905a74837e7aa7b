"""A pipeline as a Kubeflow Pipelines v2 pipeline, compiled to its IR YAML with the ``kfp`` SDK.

Written next to each other in the output folder:

- ``<name>_kfp.py``: the pipeline in the KFP DSL, readable and editable: a container component
  per step, on one image that holds the notebooks and their environment; the steps' parameters
  are typed pipeline parameters (``<step>__<name>``), each declared output file is an output
  artifact passed to the steps that read it, and the executed notebook is one more artifact;
- ``<name>.kfp.yaml``: that module compiled (what ``kfp.Client().create_run_from_pipeline_package``
  takes) by the ``kfp`` SDK of this interpreter, or of ``MLOPS_NB_KFP_PYTHON`` (an interpreter
  whose environment has ``kfp``: the generated module imports nothing else);
- ``Dockerfile`` and ``requirements.txt``: the default image (the pipeline's folder, mlops-nb,
  the notebooks' imports pinned to this environment's versions).

In a pod, a step runs as ``python -m mlops_nb.pipeline.orchestrators.kfp_task``: its input
artifacts are copied to where the notebook reads them, the step runs as
``mlops-nb pipeline run --only STEP`` does, and its outputs are copied to the output artifacts.
"""

from __future__ import annotations

import ast
import keyword
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.exceptions import require
from mlops_nb.pipeline.errors import PipelineError
from mlops_nb.pipeline.orchestrators.api import Export
from mlops_nb.pipeline.spec import Pipeline

IMAGE_ROOT = "/pipeline"
_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}


def identifier(text: str, taken: set[str]) -> str:
    """A Python identifier for ``text``, unique among ``taken`` (which it joins)."""
    name = re.sub(r"\W", "_", text).strip("_") or "x"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"_{name}"
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def default_image(pipeline: Pipeline) -> str:
    safe = re.sub(r"[^a-z0-9._-]", "-", pipeline.name.lower()).strip("-.") or "pipeline"
    return f"mlops-nb-{safe}:{__version__}"


def render(
    pipeline: Pipeline,
    *,
    image: str,
    retries: int,
    tracking_uri: str | None,
) -> str:
    """The pipeline module's source (pure)."""
    producers = {out: s.name for s in pipeline.steps.values() for out in s.outputs}
    lines = [
        f'"""Kubeflow Pipelines v2 pipeline of the mlops-nb pipeline {pipeline.name!r}.',
        "",
        f"Written by `mlops-nb pipeline export --to kfp` (mlops-nb {__version__}) from",
        f"{pipeline.path}; export again after changing pipeline.yaml. Compile with",
        "`python THIS_FILE OUT.yaml`; submit with kfp.Client().create_run_from_pipeline_package.",
        '"""',
        "",
        "import sys  # no `from __future__ import annotations`: kfp reads the annotations",
        "",
        "from kfp import compiler, dsl",
        "",
        f"IMAGE = {image!r}",
        f"PIPELINE = {IMAGE_ROOT + '/' + pipeline.path.name!r}  # pipeline.yaml inside the image",
        f"TRACKING_URI = {tracking_uri or ''!r}  # empty: the pod's MLFLOW_TRACKING_URI",
        "",
    ]
    components: dict[str, dict[str, Any]] = {}
    pipeline_params: list[tuple[str, str, Any, str, str]] = []  # (pp name, type, default, step, p)
    taken_pp: set[str] = set()
    for name in pipeline.order:
        step = pipeline.steps[name]
        taken: set[str] = {"executed_notebook"}
        params = []
        for pname, value in step.parameters.items():
            kind = _TYPES.get(type(value))
            if kind is None:  # None and other YAML values: passed as fixed JSON
                continue
            arg = identifier(pname, taken)
            params.append((arg, kind, pname))
            pipeline_params.append(
                (identifier(f"{name}__{pname}", taken_pp), kind, value, name, arg)
            )
        inputs = [(identifier(f"in_{rel}", taken), rel) for rel in step.inputs if rel in producers]
        outputs = [(identifier(f"out_{rel}", taken), rel) for rel in step.outputs]
        fixed = {k: v for k, v in step.parameters.items() if type(v) not in _TYPES}
        func = identifier(f"step_{name}", set())
        components[name] = {
            "func": func,
            "params": params,
            "inputs": inputs,
            "outputs": dict((rel, arg) for arg, rel in outputs),
        }
        signature = [f"{arg}: {kind}" for arg, kind, _ in params]
        signature += [f"{arg}: dsl.Input[dsl.Artifact]" for arg, _ in inputs]
        signature += [f"{arg}: dsl.Output[dsl.Artifact]" for arg, _ in outputs]
        signature.append("executed_notebook: dsl.Output[dsl.Artifact]")
        args = ["'--pipeline'", "PIPELINE", "'--step'", repr(name)]
        args += [
            "'--tracking-uri'",
            "TRACKING_URI",
            "'--orchestrator-run'",
            "dsl.PIPELINE_JOB_ID_PLACEHOLDER",
        ]
        for arg, kind, pname in params:
            args += ["'--param'", repr(pname), repr(kind), arg]
        for pname, value in fixed.items():
            args += ["'--param'", repr(pname), "'json'", repr(_json(value))]
        for arg, rel in inputs:
            args += ["'--input'", repr(rel), f"{arg}.path"]
        for arg, rel in outputs:
            args += ["'--output'", repr(rel), f"{arg}.path"]
        args += ["'--notebook-out'", "executed_notebook.path"]
        lines += [
            "",
            "@dsl.container_component",
            f"def {func}({', '.join(signature)}):",
            f'    """Step {name!r}: {step.notebook.name}."""',
            "    return dsl.ContainerSpec(",
            "        image=IMAGE,",
            "        command=['python', '-m', 'mlops_nb.pipeline.orchestrators.kfp_task'],",
            "        args=[",
            *[f"            {a}," for a in args],
            "        ],",
            "    )",
            "",
        ]
    signature = [f"{pp}: {kind} = {value!r}" for pp, kind, value, _, _ in pipeline_params]
    lines += [
        "",
        f"@dsl.pipeline(name={_kfp_name(pipeline.name)!r}, description="
        f"{('mlops-nb pipeline ' + pipeline.name)!r})",
        f"def pipeline({', '.join(signature)}):",
    ]
    tasks: dict[str, str] = {}
    for name in pipeline.order:
        comp = components[name]
        task = identifier(f"task_{name}", set(tasks.values()))
        kwargs = [f"{arg}={pp}" for pp, _, _, step, arg in pipeline_params if step == name]
        for arg, rel in comp["inputs"]:
            producer = producers[rel]
            out_arg = components[producer]["outputs"][rel]
            kwargs.append(f"{arg}={tasks[producer]}.outputs[{out_arg!r}]")
        lines.append(f"    {task} = {comp['func']}({', '.join(kwargs)})")
        lines.append(f"    {task}.set_display_name({name!r})")
        if retries:
            lines.append(f"    {task}.set_retry(num_retries={retries})")
        for dep in pipeline.dependencies[name]:  # needs without data: order only
            lines.append(f"    {task}.after({tasks[dep]})")
        tasks[name] = task
    lines += [
        "",
        "",
        'if __name__ == "__main__":',
        "    compiler.Compiler().compile(pipeline, sys.argv[1])",
        "",
    ]
    return "\n".join(lines)


def write(
    pipeline: Pipeline,
    folder: Path,
    *,
    image: str | None,
    retries: int,
    schedule: str | None,
    tracking_uri: str,
    notes: list[str],
) -> Export:
    python = compiler_python()
    stem = re.sub(r"[^A-Za-z0-9_]", "_", pipeline.name) or "pipeline"
    remote = "://" in tracking_uri and not tracking_uri.startswith(("sqlite:", "file:"))
    source = render(
        pipeline,
        image=image or default_image(pipeline),
        retries=retries,
        tracking_uri=tracking_uri if remote else None,
    )
    module = folder / f"{stem}_kfp.py"
    module.write_text(source, encoding="utf-8")
    compiled = folder / f"{stem}.kfp.yaml"
    proc = subprocess.run([python, str(module), str(compiled)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise PipelineError(
            f"the kfp SDK could not compile {module}: {proc.stderr.strip().splitlines()[-1:]}"
        )
    files = [compiled, module]
    notes = list(notes)
    if image is None:
        files += _image_files(pipeline, folder)
        notes.append(
            f"the image {default_image(pipeline)} is not built: build it from {folder} with "
            f"`docker build -t IMAGE -f {folder / 'Dockerfile'} {pipeline.root}`, push it where "
            "the cluster pulls from, and export again with --image"
        )
    notes.append(
        "mlops-nb's content-hash cache does not carry over between pods (each starts from the "
        "image's files): KFP's own task caching (same component, same inputs) skips unchanged "
        "steps instead"
    )
    if schedule:
        notes.append(
            f"the schedule {schedule!r} is not part of a KFP pipeline package: create a "
            "recurring run with it (kfp.Client().create_recurring_run(..., cron_expression=...), "
            "KFP's cron has 6 fields: prepend the seconds)"
        )
    if not remote:
        notes.append(
            f"the tracking store {tracking_uri} is a local file that pods cannot reach: set "
            "MLFLOW_TRACKING_URI to a tracking server in the pods' environment (runs are "
            "recorded only there)"
        )
    return Export("kfp", files, notes)


def compiler_python() -> str:
    """The interpreter that compiles the pipeline module: ``MLOPS_NB_KFP_PYTHON``, else this one
    (which then needs ``kfp``: :class:`MissingDependencyError`, exit code 3)."""
    python = os.environ.get("MLOPS_NB_KFP_PYTHON") or sys.executable
    if python == sys.executable:
        require("kfp", "kfp", "mlops-nb pipeline export --to kfp")
    return python


def _kfp_name(name: str) -> str:
    return re.sub(r"[^a-z0-9-]", "-", name.lower()).strip("-") or "pipeline"


def _json(value: Any) -> str:
    import json

    return json.dumps(value, default=str)


def _image_files(pipeline: Pipeline, folder: Path) -> list[Path]:
    own = pipeline.root / "requirements.txt"
    reqs = folder / "requirements.txt"
    if own.is_file():
        reqs.write_text(own.read_text())
    else:
        reqs.write_text("\n".join(requirements(pipeline)) + "\n")
    dockerfile = folder / "Dockerfile"
    dockerfile.write_text(
        "# The image of every KFP step of this pipeline: the pipeline's folder, mlops-nb and the\n"
        "# notebooks' libraries. Build with the pipeline's folder as the context:\n"
        f"#   docker build -t IMAGE -f {dockerfile} {pipeline.root}\n"
        "FROM python:3.11-slim\n"
        f"COPY {_relative(reqs, pipeline.root)} /tmp/requirements.txt\n"
        "RUN pip install --no-cache-dir -r /tmp/requirements.txt\n"
        f"WORKDIR {IMAGE_ROOT}\n"
        f"COPY . {IMAGE_ROOT}\n"
    )
    return [dockerfile, reqs]


def _relative(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root))
    except ValueError:  # the output folder is outside the build context: copy it in first
        return path.name


def requirements(pipeline: Pipeline) -> list[str]:
    """mlops-nb and the distributions the notebooks import, pinned to this environment's."""
    from importlib import metadata

    from mlops_nb.pipeline import notebook as nbmod

    modules: set[str] = set()
    for step in pipeline.steps.values():
        for cell in nbmod.read(step.notebook).get("cells", []):
            if cell.get("cell_type") != "code":
                continue
            source = cell.get("source", "")
            text = "".join(source) if isinstance(source, list) else str(source)
            code = "\n".join(ln for ln in text.splitlines() if not ln.startswith(("%", "!")))
            try:
                tree = ast.parse(code)
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    modules.update(a.name.split(".")[0] for a in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.add(node.module.split(".")[0])
    dists = metadata.packages_distributions()
    pins = {f"mlops-nb=={__version__}"}
    for module in sorted(modules - set(sys.stdlib_module_names)):
        for dist in dists.get(module, []):
            try:
                pins.add(f"{dist}=={metadata.version(dist)}")
            except metadata.PackageNotFoundError:
                continue
    own = {f"mlops_nb=={__version__}", f"mlops-nb=={__version__}"}
    return [*sorted(pins - own), f"mlops-nb=={__version__}"]
