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

import graphlib
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import NotebookError
from mlops_nb.pipeline import notebook as nbmod
from mlops_nb.pipeline.errors import PipelineError

DEFAULT_FILE = "pipeline.yaml"


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
    file = find(path)
    where = str(file)
    data = _validated(file, where)
    root = file.parent
    allowed = [(root / p).resolve() for p in data["allow_outputs_outside"]]
    steps: dict[str, Step] = {}
    for raw in data["steps"]:
        step = _step(raw, root, where, data["kernel"], allowed)
        if step.name in steps:
            raise PipelineError(
                "declared twice; step names must be unique", path=where, step=step.name
            )
        steps[step.name] = step
    deps = _dependencies(steps, root, where)
    order = _topological(steps, deps, where)
    for step in steps.values():
        _check_notebook(step, where)
    name = data["name"] or data["experiment"]
    return Pipeline(
        path=file,
        name=name or root.name,
        steps=steps,
        dependencies=deps,
        order=order,
        kernel=data["kernel"],
    )


def _validated(file: Path, where: str) -> dict[str, Any]:
    """The file's content validated by :mod:`.schema`; memoised by the file's digest (and
    mlops-nb's version) in ``.mlops-nb/``, so that an unchanged file costs no pydantic import."""
    import hashlib
    import json

    import yaml

    from mlops_nb._version import __version__

    raw = file.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PipelineError(
            f"not valid UTF-8 (byte {exc.start}: {raw[exc.start : exc.start + 1]!r}); save the "
            "file as UTF-8",
            path=where,
        ) from None
    digest = hashlib.sha256(raw + __version__.encode()).hexdigest()
    memo = file.parent / ".mlops-nb" / f"{file.stem}.spec.json"
    try:
        cached = json.loads(memo.read_text())
        if cached.get("digest") == digest:
            return dict(cached["data"])
    except (OSError, ValueError, KeyError, AttributeError):
        pass
    try:
        content = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise PipelineError(f"not valid YAML: {exc}", path=where) from None
    from mlops_nb.pipeline import schema

    data = schema.validate(content, where)
    try:
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_name(f".{memo.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"digest": digest, "data": data}))
        os.replace(tmp, memo)
    except OSError:  # a read-only folder: validate again next time
        pass
    return data


def _step(
    raw: dict[str, Any], root: Path, where: str, kernel: str | None, allowed: list[Path]
) -> Step:
    name = raw["name"]
    for out in raw["outputs"]:
        _check_inside(out, root, allowed, where, name)
    return Step(
        name=name,
        notebook=(root / raw["notebook"]).resolve(),
        parameters=dict(raw["parameters"]),
        inputs=tuple(raw["inputs"]),
        outputs=tuple(raw["outputs"]),
        needs=tuple(raw["needs"]),
        kernel=raw["kernel"] or kernel,
    )


def _check_inside(relative: str, root: Path, allowed: list[Path], where: str, step: str) -> None:
    """Outputs are written by the step and checked (and may be deleted and rewritten): they must
    stay inside the pipeline's folder unless ``allow_outputs_outside`` names their folder."""
    target = (root / relative).resolve()
    for folder in [root.resolve(), *allowed]:
        if target == folder or target.is_relative_to(folder):
            return
    raise PipelineError(
        f"output {relative} is outside the pipeline's folder ({target}); write it under "
        f"{root} or list its folder in 'allow_outputs_outside'",
        path=where,
        step=step,
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
    """A dependency order (graphlib) that keeps the declaration order where it is free to."""
    sorter = graphlib.TopologicalSorter(deps)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = list(reversed(exc.args[1]))
        raise PipelineError(
            f"dependency cycle: {' -> '.join(cycle)}; remove one of these 'needs' "
            "(or an input that is another step's output)",
            path=where,
        ) from None
    declared = {name: i for i, name in enumerate(steps)}
    order: list[str] = []
    ready: list[str] = []
    while sorter.is_active():
        ready.extend(sorter.get_ready())
        ready.sort(key=declared.__getitem__)
        name = ready.pop(0)
        order.append(name)
        sorter.done(name)
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
