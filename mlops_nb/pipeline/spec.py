"""``pipeline.yaml`` → a validated :class:`Pipeline` (steps, parameters, files, dependencies).

Format::

    name: iris                      # optional; the MLflow experiment (default: the folder name)
    kernel: python3                 # optional; default kernel for every step
    steps:
      - name: prepare
        notebook: prepare.ipynb     # relative to this file
        parameters: {test_size: 0.25}
        inputs: []                  # files read (relative to this file)
        outputs: [data/train.csv]   # files the step must write
      - name: train
        notebook: train.ipynb
        needs: [prepare]            # other steps (also implied when an input is another's output)
        inputs: [data/train.csv]

``steps`` may also be a mapping of name → step. Every problem is reported with the step it
concerns and what to change; nothing is executed before the whole file validates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import NotebookError
from mlops_nb.pipeline import notebook as nbmod
from mlops_nb.pipeline.errors import PipelineError

DEFAULT_FILE = "pipeline.yaml"
STEP_KEYS = ("name", "notebook", "parameters", "inputs", "outputs", "needs", "kernel")
TOP_KEYS = ("name", "experiment", "kernel", "steps")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


@dataclass(frozen=True)
class Step:
    """One notebook of the pipeline; paths are relative to the pipeline's folder."""

    name: str
    notebook: Path  # absolute
    parameters: dict[str, Any] = field(default_factory=dict)
    inputs: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()  # as declared
    kernel: str | None = None


@dataclass(frozen=True)
class Pipeline:
    """A validated pipeline: steps in declaration order, dependencies and a topological order."""

    path: Path
    name: str
    steps: dict[str, Step]
    dependencies: dict[str, tuple[str, ...]]  # declared needs + steps producing an input
    order: tuple[str, ...]
    kernel: str | None = None

    @property
    def root(self) -> Path:
        return self.path.parent

    def file(self, relative: str) -> Path:
        return self.root / relative

    def producer(self, relative: str) -> str | None:
        for step in self.steps.values():
            if relative in step.outputs:
                return step.name
        return None

    def downstream(self, names: Iterable[str]) -> set[str]:
        """The given steps and every step that depends on them, transitively."""
        result = set(names)
        for name in self.order:
            if any(dep in result for dep in self.dependencies[name]):
                result.add(name)
        return result

    def upstream(self, name: str) -> set[str]:
        result: set[str] = set()
        todo = list(self.dependencies[name])
        while todo:
            dep = todo.pop()
            if dep not in result:
                result.add(dep)
                todo.extend(self.dependencies[dep])
        return result

    def require_step(self, name: str, flag: str) -> None:
        if name not in self.steps:
            raise PipelineError(
                f"{flag} {name}: no such step; steps are: {', '.join(self.order)}",
                path=str(self.path),
            )


def find(path: str | Path | None = None) -> Path:
    """``path`` or ``./pipeline.yaml``; a folder means its ``pipeline.yaml``."""
    p = Path(path) if path else Path(DEFAULT_FILE)
    if p.is_dir():
        p = p / DEFAULT_FILE
    if not p.is_file():
        raise PipelineError(
            f"{p} does not exist; give the pipeline file (mlops-nb pipeline run PATH) or run "
            f"from the folder holding {DEFAULT_FILE}"
        )
    return p.resolve()


def load(path: str | Path | None = None) -> Pipeline:
    """Read and validate a pipeline file; raises :class:`PipelineError` naming the problem."""
    import yaml

    file = find(path)
    where = str(file)
    try:
        data = yaml.load(file.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {exc}", path=where) from None
    if not isinstance(data, dict):
        raise PipelineError("the file must be a mapping with a 'steps' list", path=where)
    unknown = set(data) - set(TOP_KEYS)
    if unknown:
        raise PipelineError(
            f"unknown key(s) {_names(unknown)}; allowed: {', '.join(TOP_KEYS)}",
            path=where,
        )
    raw_steps = _raw_steps(data.get("steps"), where)
    kernel = _opt_str(data.get("kernel"), "kernel", where, None)
    steps: dict[str, Step] = {}
    for raw in raw_steps:
        step = _step(raw, file.parent, where, kernel)
        if step.name in steps:
            raise PipelineError(
                "declared twice; step names must be unique", path=where, step=step.name
            )
        steps[step.name] = step
    deps = _dependencies(steps, file.parent, where)
    order = _topological(steps, deps, where)
    for step in steps.values():
        _check_notebook(step, where)
    name = _opt_str(data.get("name") or data.get("experiment"), "name", where, None)
    return Pipeline(
        path=file,
        name=name or file.parent.name,
        steps=steps,
        dependencies=deps,
        order=order,
        kernel=kernel,
    )


def _names(keys: Iterable[Any]) -> str:
    return ", ".join(sorted(map(str, keys)))


def _raw_steps(raw: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(raw, Mapping):
        items = []
        for name, body in raw.items():
            body = dict(body or {})
            body.setdefault("name", name)
            items.append(body)
        raw = items
    if not isinstance(raw, list) or not raw:
        raise PipelineError("'steps' must be a non-empty list of steps", path=where)
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise PipelineError(
                f"step #{i + 1} must be a mapping (name, notebook, ...)", path=where
            )
    return raw


def _opt_str(value: Any, key: str, where: str, step: str | None) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str | int | float):
        raise PipelineError(f"'{key}' must be a string", path=where, step=step)
    return str(value)


def _str_list(value: Any, key: str, where: str, step: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise PipelineError(f"'{key}' must be a list of strings", path=where, step=step)
    return tuple(value)


def _step(raw: dict[str, Any], root: Path, where: str, kernel: str | None) -> Step:
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        raise PipelineError(
            f"step name {name!r} is missing or invalid (letters, digits, '_', '-', '.')", path=where
        )
    unknown = set(raw) - set(STEP_KEYS)
    if unknown:
        raise PipelineError(
            f"unknown key(s) {_names(unknown)}; allowed: {', '.join(STEP_KEYS)}",
            path=where,
            step=name,
        )
    notebook = raw.get("notebook")
    if not isinstance(notebook, str) or not notebook:
        raise PipelineError("'notebook' (path of the .ipynb) is required", path=where, step=name)
    params = raw.get("parameters") or {}
    if not isinstance(params, dict):
        raise PipelineError("'parameters' must be a mapping of name: value", path=where, step=name)
    return Step(
        name=name,
        notebook=(root / notebook).resolve(),
        parameters={str(k): v for k, v in params.items()},
        inputs=_str_list(raw.get("inputs"), "inputs", where, name),
        outputs=_str_list(raw.get("outputs"), "outputs", where, name),
        needs=_str_list(raw.get("needs"), "needs", where, name),
        kernel=_opt_str(raw.get("kernel"), "kernel", where, name) or kernel,
    )


def _dependencies(steps: dict[str, Step], root: Path, where: str) -> dict[str, tuple[str, ...]]:
    producers: dict[str, str] = {}
    for step in steps.values():
        for out in step.outputs:
            if out in producers:
                raise PipelineError(
                    f"output {out} is also declared by step '{producers[out]}'; "
                    "each file must have one producer",
                    path=where,
                    step=step.name,
                )
            producers[out] = step.name
    deps: dict[str, tuple[str, ...]] = {}
    for step in steps.values():
        found: list[str] = []
        for need in step.needs:
            if need not in steps:
                raise PipelineError(
                    f"needs unknown step '{need}'; steps are: {', '.join(steps)}",
                    path=where,
                    step=step.name,
                )
            if need == step.name:
                raise PipelineError(
                    "needs itself; remove it from 'needs'", path=where, step=step.name
                )
            found.append(need)
        for inp in step.inputs:
            producer = producers.get(inp)
            if producer == step.name:
                raise PipelineError(
                    f"{inp} is both an input and an output of the step", path=where, step=step.name
                )
            if producer is not None:
                found.append(producer)
            elif not (root / inp).exists():
                raise PipelineError(
                    f"input {inp} is produced by no step and no such file exists "
                    f"(looked for {root / inp}); add it to a step's 'outputs' or create the file",
                    path=where,
                    step=step.name,
                )
        deps[step.name] = tuple(dict.fromkeys(found))
    return deps


def _topological(
    steps: dict[str, Step], deps: dict[str, tuple[str, ...]], where: str
) -> tuple[str, ...]:
    order: list[str] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            cycle = [*trail[trail.index(name) :], name]
            raise PipelineError(
                f"dependency cycle: {' -> '.join(cycle)}; remove one of these 'needs' "
                "(or an input that is another step's output)",
                path=where,
            )
        state[name] = 1
        for dep in deps[name]:
            visit(dep, [*trail, name])
        state[name] = 2
        order.append(name)

    for name in steps:
        visit(name, [])
    return tuple(order)


def _check_notebook(step: Step, where: str) -> None:
    if not step.notebook.is_file():
        raise PipelineError(
            f"notebook {step.notebook} does not exist; fix 'notebook' (paths are relative to "
            "the pipeline file)",
            path=where,
            step=step.name,
        )
    try:
        nb = nbmod.read(step.notebook)
        nbmod.require_parameters_cell(step.notebook, nb, list(step.parameters))
    except NotebookError as exc:
        raise PipelineError(str(exc), path=where, step=step.name) from None
