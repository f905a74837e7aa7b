"""A pipeline as a Kubeflow Pipelines v2 pipeline: its IR YAML, and the same pipeline in the DSL.

Written next to each other in the output folder:

- ``<name>.kfp.yaml``: the pipeline's IR (KFP's ``PipelineSpec``, what
  ``kfp.Client().create_run_from_pipeline_package`` takes), written by mlops-nb itself from
  ``pipeline.yaml``: the export needs no ``kfp`` SDK (whose import alone takes longer than the
  whole export, and whose pins clash with ours); the tests compile ``<name>_kfp.py`` with the
  real ``kfp`` SDK and check both give the same IR;
- ``<name>_kfp.py``: the same pipeline in the KFP DSL, readable and editable (``python
  <name>_kfp.py OUT.yaml`` compiles it with the SDK): a container component per step, on one
  image that holds the notebooks and their environment; the steps' parameters are typed
  pipeline parameters (``<step>__<name>``), each declared output file is an output artifact
  passed to the steps that read it, and the executed notebook is one more artifact;
- ``Dockerfile`` and ``requirements.txt``: the default image (the pipeline's folder, mlops-nb,
  the notebooks' imports pinned to this environment's versions).

Both files come from one :func:`plan`, so they cannot drift apart. In a pod, a step runs as
``python -m mlops_nb.pipeline.orchestrators.kfp_task``: its input artifacts are copied to where
the notebook reads them, the step runs as ``mlops-nb pipeline run --only STEP`` does, and its
outputs are copied to the output artifacts.
"""

from __future__ import annotations

import ast
import keyword
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.pipeline.orchestrators.api import Export
from mlops_nb.pipeline.spec import Pipeline

IMAGE_ROOT = "/pipeline"
SCHEMA_VERSION = "2.1.0"  # the PipelineSpec schema the IR follows (kfp 2.x compiles to it)
TASK_MODULE = "mlops_nb.pipeline.orchestrators.kfp_task"
_TYPES = {bool: "bool", int: "int", float: "float", str: "str", list: "list", dict: "dict"}
# a DSL annotation -> the IR's parameterType
_IR_TYPES = {
    "bool": "BOOLEAN",
    "int": "NUMBER_INTEGER",
    "float": "NUMBER_DOUBLE",
    "str": "STRING",
    "list": "LIST",
    "dict": "STRUCT",
}
_ARTIFACT = {"schemaTitle": "system.Artifact", "schemaVersion": "0.0.1"}
NOTEBOOK_OUTPUT = "executed_notebook"


def identifier(text: str, taken: set[str]) -> str:
    """A lower-case ASCII Python identifier for ``text``, unique among ``taken`` (which it
    joins): KFP keeps such names as they are in the IR."""
    name = re.sub(r"[^0-9a-z_]", "_", text.lower()).strip("_") or "x"
    if name[0].isdigit() or keyword.iskeyword(name):
        name = f"p_{name}"
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    taken.add(name)
    return name


def k8s_name(text: str) -> str:
    """KFP's names of components and tasks: lower case, digits and single ``-``."""
    return re.sub("-+", "-", re.sub("[^-0-9a-z]+", "-", text.lower())).strip("-")


@dataclass(frozen=True)
class Param:
    """A step parameter as a typed KFP input, fed by the pipeline parameter ``pipeline_param``."""

    arg: str  # the component's input
    kind: str  # its DSL type (a key of _IR_TYPES)
    name: str  # the notebook's parameter
    default: Any  # pipeline.yaml's value
    pipeline_param: str  # ``<step>__<name>``


@dataclass(frozen=True)
class Component:
    """One step as a container component and the task that runs it."""

    step: str
    name: str  # KFP's component/task name (``step-<step>``), unique
    params: list[Param]
    fixed: dict[str, Any]  # values KFP cannot type (None, ...): passed as JSON
    inputs: list[tuple[str, str, str]]  # (arg, rel path, producing step)
    outputs: list[tuple[str, str]]  # (arg, rel path)
    after: list[str]  # every step it waits for (needs and the producers of its inputs)

    @property
    def func(self) -> str:
        return self.name.replace("-", "_")

    def output_arg(self, rel: str) -> str:
        return next(arg for arg, path in self.outputs if path == rel)

    def args(self) -> list[tuple[str, str]]:
        """The container's arguments: ``(kind, value)`` with kind ``lit`` (a string), ``const``
        (a module constant), ``job`` (the KFP job id), ``param``/``in``/``out`` (an input's
        value, an input or output artifact's path)."""
        args = [("lit", "--pipeline"), ("const", "PIPELINE"), ("lit", "--step"), ("lit", self.step)]
        args += [("lit", "--tracking-uri"), ("const", "TRACKING_URI")]
        args += [("lit", "--orchestrator-run"), ("job", "")]
        for p in self.params:
            args += [("lit", "--param"), ("lit", p.name), ("lit", p.kind), ("param", p.arg)]
        for name, value in self.fixed.items():
            args += [("lit", "--param"), ("lit", name), ("lit", "json"), ("lit", _json(value))]
        for arg, rel, _ in self.inputs:
            args += [("lit", "--input"), ("lit", rel), ("in", arg)]
        for arg, rel in self.outputs:
            args += [("lit", "--output"), ("lit", rel), ("out", arg)]
        args += [("lit", "--notebook-out"), ("out", NOTEBOOK_OUTPUT)]
        return args


def plan(pipeline: Pipeline) -> list[Component]:
    """The components of ``pipeline``, in its order: what both the IR and the DSL say."""
    producers = {out: s.name for s in pipeline.steps.values() for out in s.outputs}
    taken_pp: set[str] = set()
    names: set[str] = set()
    components: list[Component] = []
    for step_name in pipeline.order:
        step = pipeline.steps[step_name]
        taken: set[str] = {NOTEBOOK_OUTPUT}
        params = []
        for pname, value in step.parameters.items():
            kind = _TYPES.get(type(value))
            if kind is not None:
                pp = identifier(f"{step_name}__{pname}", taken_pp)
                params.append(Param(identifier(pname, taken), kind, pname, value, pp))
        inputs = [
            (identifier(f"in_{rel}", taken), rel, producers[rel])
            for rel in step.inputs
            if rel in producers
        ]
        outputs = [(identifier(f"out_{rel}", taken), rel) for rel in step.outputs]
        base = k8s_name(f"step-{step_name}") or "step"
        name, i = base, 2
        while name in names:
            name, i = f"{base}-{i}", i + 1
        names.add(name)
        components.append(
            Component(
                step=step_name,
                name=name,
                params=params,
                fixed={k: v for k, v in step.parameters.items() if type(v) not in _TYPES},
                inputs=inputs,
                outputs=outputs,
                after=list(pipeline.dependencies[step_name]),
            )
        )
    return components


def default_image(pipeline: Pipeline) -> str:
    safe = re.sub(r"[^a-z0-9._-]", "-", pipeline.name.lower()).strip("-.") or "pipeline"
    return f"mlops-nb-{safe}:{__version__}"


# --- the IR -------------------------------------------------------------------------------------


def ir(
    pipeline: Pipeline,
    *,
    image: str,
    retries: int,
    tracking_uri: str | None,
) -> dict[str, Any]:
    """The pipeline's ``PipelineSpec`` as the kfp SDK compiles ``<name>_kfp.py`` (pure)."""
    constants = {"PIPELINE": _image_pipeline(pipeline), "TRACKING_URI": tracking_uri or ""}
    plan_ = plan(pipeline)
    by_step = {c.step: c for c in plan_}
    components: dict[str, Any] = {}
    executors: dict[str, Any] = {}
    tasks: dict[str, Any] = {}
    root_params: dict[str, Any] = {}
    for comp in plan_:
        inputs: dict[str, Any] = {}
        if comp.inputs:
            inputs["artifacts"] = {arg: {"artifactType": _ARTIFACT} for arg, _, _ in comp.inputs}
        if comp.params:
            inputs["parameters"] = {
                p.arg: {"parameterType": _IR_TYPES[p.kind]} for p in comp.params
            }
        outputs = [arg for arg, _ in comp.outputs] + [NOTEBOOK_OUTPUT]
        spec: dict[str, Any] = {"executorLabel": f"exec-{comp.name}"}
        if inputs:
            spec["inputDefinitions"] = inputs
        spec["outputDefinitions"] = {"artifacts": {a: {"artifactType": _ARTIFACT} for a in outputs}}
        components[f"comp-{comp.name}"] = spec
        executors[f"exec-{comp.name}"] = {
            "container": {
                "args": [_ir_arg(kind, value, constants) for kind, value in comp.args()],
                "command": ["python", "-m", TASK_MODULE],
                "image": image,
            }
        }
        task: dict[str, Any] = {
            "cachingOptions": {"enableCache": True},
            "componentRef": {"name": f"comp-{comp.name}"},
        }
        if comp.after:
            task["dependentTasks"] = sorted(by_step[s].name for s in comp.after)
        task_inputs: dict[str, Any] = {}
        if comp.inputs:
            task_inputs["artifacts"] = {
                arg: {
                    "taskOutputArtifact": {
                        "outputArtifactKey": by_step[producer].output_arg(rel),
                        "producerTask": by_step[producer].name,
                    }
                }
                for arg, rel, producer in comp.inputs
            }
        if comp.params:
            task_inputs["parameters"] = {
                p.arg: {"componentInputParameter": p.pipeline_param} for p in comp.params
            }
        if task_inputs:
            task["inputs"] = task_inputs
        if retries:
            task["retryPolicy"] = {
                "backoffDuration": "0s",
                "backoffFactor": 2.0,
                "backoffMaxDuration": "3600s",
                "maxRetryCount": retries,
            }
        task["taskInfo"] = {"name": comp.step}
        tasks[comp.name] = task
        for p in comp.params:
            root_params[p.pipeline_param] = {
                "defaultValue": _number_as_double(p.default),
                "isOptional": True,
                "parameterType": _IR_TYPES[p.kind],
            }
    root: dict[str, Any] = {"dag": {"tasks": tasks}}
    if root_params:
        root["inputDefinitions"] = {"parameters": root_params}
    return {
        "components": components,
        "deploymentSpec": {"executors": executors},
        "pipelineInfo": {"description": _description(pipeline), "name": _kfp_name(pipeline.name)},
        "root": root,
        "schemaVersion": SCHEMA_VERSION,
        "sdkVersion": f"mlops-nb-{__version__}",
    }


def ir_yaml(spec: dict[str, Any]) -> str:
    """The IR as a pipeline package: a header naming the inputs, then the spec (sorted keys)."""
    import yaml

    header = [
        "# PIPELINE DEFINITION (KFP v2 IR, written by `mlops-nb pipeline export --to kfp`)",
        f"# Name: {spec['pipelineInfo']['name']}",
        f"# Description: {spec['pipelineInfo']['description']}",
    ]
    params = spec["root"].get("inputDefinitions", {}).get("parameters", {})
    if params:
        header.append("# Inputs:")
        header += [
            f"#    {name}: {p['parameterType']} [Default: {p['defaultValue']!r}]"
            for name, p in sorted(params.items())
        ]
    return "\n".join(header) + "\n" + yaml.safe_dump(spec, sort_keys=True)


def _ir_arg(kind: str, value: str, constants: dict[str, str]) -> str:
    if kind == "lit":
        return value
    if kind == "const":
        return constants[value]
    if kind == "job":
        return "{{$.pipeline_job_uuid}}"
    if kind == "param":
        return f"{{{{$.inputs.parameters['{value}']}}}}"
    where = "inputs" if kind == "in" else "outputs"
    return f"{{{{$.{where}.artifacts['{value}'].path}}}}"


def _number_as_double(value: Any) -> Any:
    """Default values as protobuf's ``Value`` holds them: every number a double."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list):
        return [_number_as_double(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _number_as_double(v) for k, v in value.items()}
    return value


# --- the DSL ------------------------------------------------------------------------------------


def render(
    pipeline: Pipeline,
    *,
    image: str,
    retries: int,
    tracking_uri: str | None,
) -> str:
    """The pipeline module's source in the KFP DSL (pure)."""
    lines = [
        f'"""Kubeflow Pipelines v2 pipeline of the mlops-nb pipeline {pipeline.name!r}.',
        "",
        f"Written by `mlops-nb pipeline export --to kfp` (mlops-nb {__version__}) from",
        f"{pipeline.path}; export again after changing pipeline.yaml. The export wrote its IR",
        "next to this file; compile this module with the kfp SDK instead after editing it:",
        "`python THIS_FILE OUT.yaml`; submit with kfp.Client().create_run_from_pipeline_package.",
        '"""',
        "",
        "import sys  # no `from __future__ import annotations`: kfp reads the annotations",
        "",
        "from kfp import compiler, dsl",
        "",
        f"IMAGE = {image!r}",
        f"PIPELINE = {_image_pipeline(pipeline)!r}  # pipeline.yaml inside the image",
        f"TRACKING_URI = {tracking_uri or ''!r}  # empty: the pod's MLFLOW_TRACKING_URI",
        "",
    ]
    plan_ = plan(pipeline)
    for comp in plan_:
        signature = [f"{p.arg}: {p.kind}" for p in comp.params]
        signature += [f"{arg}: dsl.Input[dsl.Artifact]" for arg, _, _ in comp.inputs]
        signature += [f"{arg}: dsl.Output[dsl.Artifact]" for arg, _ in comp.outputs]
        signature.append(f"{NOTEBOOK_OUTPUT}: dsl.Output[dsl.Artifact]")
        notebook = pipeline.steps[comp.step].notebook.name
        lines += [
            "",
            "@dsl.container_component",
            f"def {comp.func}({', '.join(signature)}):",
            f'    """Step {comp.step!r}: {notebook}."""',
            "    return dsl.ContainerSpec(",
            "        image=IMAGE,",
            f"        command=['python', '-m', {TASK_MODULE!r}],",
            "        args=[",
            *[f"            {_dsl_arg(kind, value)}," for kind, value in comp.args()],
            "        ],",
            "    )",
            "",
        ]
    params = [p for comp in plan_ for p in comp.params]
    signature = [f"{p.pipeline_param}: {p.kind} = {p.default!r}" for p in params]
    lines += [
        "",
        f"@dsl.pipeline(name={_kfp_name(pipeline.name)!r}, description={_description(pipeline)!r})",
        f"def pipeline({', '.join(signature)}):",
    ]
    by_step = {c.step: c for c in plan_}
    for comp in plan_:
        task = f"task_{comp.func}"
        kwargs = [f"{p.arg}={p.pipeline_param}" for p in comp.params]
        kwargs += [
            f"{arg}=task_{by_step[producer].func}.outputs[{by_step[producer].output_arg(rel)!r}]"
            for arg, rel, producer in comp.inputs
        ]
        lines.append(f"    {task} = {comp.func}({', '.join(kwargs)})")
        lines.append(f"    {task}.set_display_name({comp.step!r})")
        if retries:
            lines.append(f"    {task}.set_retry(num_retries={retries})")
        lines += [f"    {task}.after(task_{by_step[dep].func})" for dep in comp.after]
    lines += [
        "",
        "",
        'if __name__ == "__main__":',
        "    compiler.Compiler().compile(pipeline, sys.argv[1])",
        "",
    ]
    return "\n".join(lines)


def _dsl_arg(kind: str, value: str) -> str:
    if kind == "lit":
        return repr(value)
    if kind == "const":
        return value
    if kind == "job":
        return "dsl.PIPELINE_JOB_ID_PLACEHOLDER"
    if kind == "param":
        return value
    return f"{value}.path"


# --- the files ----------------------------------------------------------------------------------


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
    stem = re.sub(r"[^A-Za-z0-9_]", "_", pipeline.name) or "pipeline"
    remote = "://" in tracking_uri and not tracking_uri.startswith(("sqlite:", "file:"))
    options: dict[str, Any] = {
        "image": image or default_image(pipeline),
        "retries": retries,
        "tracking_uri": tracking_uri if remote else None,
    }
    source = render(pipeline, **options)
    compile(source, "kfp module", "exec")  # a template bug must fail here, not at compile time
    module = folder / f"{stem}_kfp.py"
    module.write_text(source, encoding="utf-8")
    compiled = folder / f"{stem}.kfp.yaml"
    compiled.write_text(ir_yaml(ir(pipeline, **options)), encoding="utf-8")
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


def _image_pipeline(pipeline: Pipeline) -> str:
    return f"{IMAGE_ROOT}/{pipeline.path.name}"


def _description(pipeline: Pipeline) -> str:
    return f"mlops-nb pipeline {pipeline.name}"


def _kfp_name(name: str) -> str:
    return k8s_name(name) or "pipeline"


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
    from mlops_nb.pipeline.orchestrators.pins import distributions

    pins = {f"mlops-nb=={__version__}"}
    found = distributions(sorted(modules - set(sys.stdlib_module_names) - {"mlops_nb"}))
    pins.update(f"{name}=={version}" for dists in found.values() for name, version in dists)
    own = {f"mlops_nb=={__version__}", f"mlops-nb=={__version__}"}
    return [*sorted(pins - own), f"mlops-nb=={__version__}"]
