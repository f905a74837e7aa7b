"""``pipeline.yaml`` as one pydantic model: the file's shape, its JSON Schema
(``mlops-nb pipeline schema``, for editors) and its validation messages.

Only the file's *shape* lives here; what needs the file system (notebooks and inputs exist, the
dependency graph, paths inside the pipeline's folder) is checked by :mod:`.spec`. Importing
pydantic costs ~0.1 s, so :mod:`.spec` memoises the validated form of an unchanged file.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from mlops_nb.pipeline.errors import PipelineError

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]*$"

Paths = Annotated[
    list[Annotated[str, Field(min_length=1)]],
    Field(description="Paths relative to pipeline.yaml (a single string is one path)."),
]


class StepModel(BaseModel):
    """One notebook of the pipeline."""

    model_config = ConfigDict(extra="forbid", title="Step")

    name: str = Field(
        pattern=NAME_PATTERN, description="Unique step name (letters, digits, '_', '-', '.')."
    )
    notebook: str = Field(min_length=1, description="The .ipynb, relative to pipeline.yaml.")
    parameters: dict[str, Any] = Field(
        default_factory=dict, description="Values injected after the cell tagged 'parameters'."
    )
    inputs: Paths = Field(default_factory=list)
    outputs: Paths = Field(default_factory=list)
    needs: list[str] = Field(
        default_factory=list,
        description="Steps that must finish first (also implied by an input that is another "
        "step's output).",
    )
    kernel: str | None = Field(default=None, description="Kernel name (default: the notebook's).")

    @field_validator("inputs", "outputs", "needs", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        if value is None:
            return []
        return [value] if isinstance(value, str) else value

    @field_validator("parameters", mode="before")
    @classmethod
    def _parameters(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError("'parameters' must be a mapping of name: value")
        return {str(k): v for k, v in value.items()}

    @field_validator("kernel", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )


class PipelineModel(BaseModel):
    """A pipeline of notebooks (mlops-nb). Paths are relative to this file."""

    model_config = ConfigDict(
        extra="forbid",
        title="mlops-nb pipeline.yaml",
        json_schema_extra={"$schema": "https://json-schema.org/draft/2020-12/schema"},
    )

    name: str | None = Field(
        default=None, description="The MLflow experiment (default: the folder's name)."
    )
    experiment: str | None = Field(default=None, description="Alias of 'name'.")
    kernel: str | None = Field(default=None, description="Default kernel for every step.")
    allow_outputs_outside: list[str] = Field(
        default_factory=list,
        description="Folders outside the pipeline's own where steps may write outputs "
        "(absolute, or relative to this file). Outputs elsewhere are refused.",
    )
    steps: list[StepModel] = Field(
        min_length=1,
        description="The steps: a list, or a mapping of step name to step (without 'name').",
    )

    @field_validator("name", "experiment", "kernel", mode="before")
    @classmethod
    def _scalar(cls, value: Any) -> Any:
        return (
            str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value
        )

    @field_validator("steps", mode="before")
    @classmethod
    def _mapping_of_steps(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            steps = []
            for name, body in value.items():
                if body is None:
                    body = {}
                if not isinstance(body, Mapping):
                    raise ValueError(
                        f"step '{name}' must be a mapping (notebook, parameters, ...), "
                        f"not {type(body).__name__}"
                    )
                steps.append({"name": str(name), **body})
            return steps
        if value is None or value == []:
            raise ValueError("'steps' must be a non-empty list of steps")
        return value


def json_schema() -> dict[str, Any]:
    """The JSON Schema of ``pipeline.yaml`` (the mapping form of ``steps`` included)."""
    schema = PipelineModel.model_json_schema()
    steps = schema["properties"]["steps"]
    step = schema["$defs"][StepModel.__name__]
    body = dict(step)
    body = {
        **body,
        "properties": {k: v for k, v in body["properties"].items() if k != "name"},
        "required": [r for r in body.get("required", []) if r != "name"],
        "title": "Step (mapping form)",
    }
    schema["$defs"]["StepBody"] = body
    schema["properties"]["steps"] = {
        "description": steps.get("description", ""),
        "anyOf": [
            {k: v for k, v in steps.items() if k != "description"},
            {
                "type": "object",
                "minProperties": 1,
                "propertyNames": {"pattern": NAME_PATTERN},
                "additionalProperties": {"$ref": "#/$defs/StepBody"},
            },
        ],
    }
    return schema


def validate(data: Any, where: str) -> dict[str, Any]:
    """The file's content, validated and normalised to plain data (JSON-able); raises
    :class:`PipelineError` naming each problem's place (``steps[2].outputs``, ``step 'a'``)."""
    if not isinstance(data, Mapping):
        raise PipelineError("the file must be a mapping with a 'steps' list", path=where)
    try:
        model = PipelineModel.model_validate(data)
    except ValidationError as exc:
        raise PipelineError(_describe(exc, data), path=where) from None
    dumped = model.model_dump(mode="json")
    json.dumps(dumped)  # parameters must travel to kernels as JSON
    return dumped


def _describe(exc: ValidationError, data: Mapping[str, Any]) -> str:
    lines = []
    steps = data.get("steps")
    for error in exc.errors()[:5]:
        loc = list(error["loc"])
        where = ".".join(str(p) for p in loc)
        if len(loc) >= 2 and loc[0] == "steps" and isinstance(loc[1], int):
            name = _step_name(steps, loc[1])
            rest = ".".join(str(p) for p in loc[2:])
            where = (f"step '{name}'" if name else f"step #{loc[1] + 1}") + (
                f": '{rest}'" if rest else ""
            )
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            key = str(loc[-1])
            allowed = (
                StepModel.model_fields
                if len(loc) > 1 and loc[0] == "steps"
                else PipelineModel.model_fields
            )
            where = where.rsplit(": ", 1)[0] if where.endswith(f"'{key}'") else ""
            message = f"unknown key(s) {key}; allowed: {', '.join(allowed)}"
        elif error["type"] == "missing" and loc[-1] == "notebook":
            where, message = where.rsplit(": ", 1)[0], "'notebook' (path of the .ipynb) is required"
        lines.append(f"{where}: {message}" if where else message)
    if len(exc.errors()) > 5:
        lines.append(f"... and {len(exc.errors()) - 5} more problem(s)")
    return "; ".join(lines)


def _step_name(steps: Any, index: int) -> str | None:
    if isinstance(steps, Mapping):
        names = list(steps)
        return str(names[index]) if index < len(names) else None
    if isinstance(steps, list) and index < len(steps) and isinstance(steps[index], Mapping):
        name = steps[index].get("name")
        return str(name) if name is not None else None
    return None
