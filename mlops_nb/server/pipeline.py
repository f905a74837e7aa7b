"""The ``pipeline.yaml`` next to a notebook, confined to the root before anything reads or runs it.

The file itself, the notebooks, inputs and outputs it names and its state folder (``.mlops-nb``)
are resolved (symlinks included) and must stay inside the server's root: a step notebook outside
it is never read nor run, and a symlinked ``pipeline.yaml`` cannot make a run write elsewhere.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from mlops_nb.server import schemas
from mlops_nb.server.paths import PathRefused, check_all_inside, relative, resolve_inside

SPEC = "pipeline.yaml"
STATE_DIR = ".mlops-nb"
MAX_SPEC_BYTES = 1_000_000
_CELL = re.compile(r"cell #(\d+)")


def spec_next_to(root: Path, notebook: Path) -> Path:
    """``<notebook's folder>/pipeline.yaml`` resolved inside ``root`` (it need not exist)."""
    return resolve_inside(root, notebook.parent / SPEC, "pipeline.yaml")


def named_paths(spec: Path) -> list[tuple[str, Path]]:
    """``(label, path)`` of every file the pipeline names, read from the YAML without touching
    them (the library's loader reads the notebooks: it runs only once these are checked)."""
    import yaml

    if spec.stat().st_size > MAX_SPEC_BYTES:
        raise PathRefused(413, f"{spec.name} is over {MAX_SPEC_BYTES // 1000} kB")
    try:
        data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError):
        return []  # the library reports the syntax error (422) before reading any notebook
    steps: Any = data.get("steps") if isinstance(data, dict) else None
    if isinstance(steps, dict):
        steps = [{"name": k, **v} for k, v in steps.items() if isinstance(v, dict)]
    out: list[tuple[str, Path]] = [("the state folder", spec.parent / STATE_DIR)]
    for step in steps if isinstance(steps, list) else []:
        if not isinstance(step, dict):
            continue
        name = step.get("name", "?")
        notebook = step.get("notebook")
        if isinstance(notebook, str):
            out.append((f"step '{name}' notebook {notebook}", spec.parent / notebook))
        for key in ("inputs", "outputs"):
            for item in step.get(key) or []:
                if isinstance(item, str):
                    out.append((f"step '{name}' {key[:-1]} {item}", spec.parent / item))
    return out


def confine_pipeline(root: Path, spec: Path) -> None:
    """403 naming the first path of ``spec`` that resolves outside ``root``."""
    check_all_inside(root, named_paths(spec))


def in_root(root: Path, text: str) -> str:
    """A library message with the server's root left out of its paths (the panel shows paths
    relative to the root, like the file browser)."""
    prefix = str(root.resolve()).rstrip("/") + "/"
    return text.replace(prefix, "")


def failed_cell(notebook: Path, error: str | None) -> schemas.FailedCell | None:
    """The failing cell named by a step's last error (``cell #N ... raised ...``)."""
    if not error:
        return None
    match = _CELL.search(error)
    number = int(match.group(1)) if match else None
    source = None
    if number is not None:
        try:
            cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
            cell = cells[number - 1] if 0 < number <= len(cells) else None
            if cell is not None:
                text = cell.get("source", "")
                source = "".join(text) if isinstance(text, list) else str(text)
        except (OSError, ValueError, AttributeError):
            source = None
    return schemas.FailedCell(number=number, source=source, error=error)


def step_state(root: Path, step: Any) -> schemas.StepState:
    notebook = Path(step.notebook)
    error = in_root(root, step.last_error) if step.last_error else None
    return schemas.StepState(
        name=step.name,
        needs=list(step.needs),
        cache_state=step.cache_state,
        last_status=step.last_status,
        last_run_id=step.last_run_id,
        notebook=relative(root, notebook),
        outputs=list(step.outputs),
        reason=in_root(root, step.reason),
        last_error=error,
        failed_cell=failed_cell(notebook, error) if step.last_status == "FAILED" else None,
    )


def event(root: Path, value: Any) -> schemas.PipelineEvent:
    return schemas.PipelineEvent(
        event="PipelineEvent",
        kind=value.kind,
        step=value.step,
        status=value.status,
        message=in_root(root, value.message),
        run_id=value.run_id,
        duration=value.duration,
    )


def result(root: Path, value: Any) -> schemas.PipelineResult:
    return schemas.PipelineResult(
        pipeline=relative(root, Path(value.pipeline)),
        status=value.status,
        steps={
            name: schemas.StepOutcome(
                name=s.name,
                status=s.status,
                run_id=s.run_id,
                duration=s.duration,
                message=in_root(root, s.message),
            )
            for name, s in value.steps.items()
        },
        run_id=value.run_id,
        duration=value.duration,
    )
