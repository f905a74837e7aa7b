"""Training inputs -> the request schema (names, types, ranges or categories, an example)."""

from __future__ import annotations

import json
import keyword
import pprint
import re
from typing import Any

_ANNOTATIONS = {"number": "Number", "integer": "Integer", "string": "Text", "boolean": "Flag"}


def _attr(name: str, taken: set[str]) -> str:
    base = re.sub(r"\W+", "_", name).strip("_").lower() or "field"
    if base[0].isdigit() or keyword.iskeyword(base) or base.startswith("model_"):
        base = "f_" + base
    attr, i = base, 2
    while attr in taken:
        attr, i = f"{base}_{i}", i + 1
    taken.add(attr)
    return attr


def _seen(column: dict[str, Any]) -> str:
    if "min" in column:
        return f"{column['min']:g} .. {column['max']:g}"
    categories = column.get("categories")
    if categories:
        shown = ", ".join(categories[:12]) + (", ..." if len(categories) > 12 else "")
        return f"one of: {shown}"
    return "free text"


def columns_context(columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    taken: set[str] = set()
    out = []
    for column in columns:
        annotation = _ANNOTATIONS[column["type"]]
        if column["nullable"]:
            annotation += " | None"
        out.append(
            {
                **column,
                "attr": _attr(column["name"], taken),
                "annotation": annotation,
                "seen": _seen(column),
                "description": f"{column['type']}; seen in training: {_seen(column)}",
            }
        )
    return out


def prediction_type(values: list[Any]) -> str:
    if all(isinstance(v, bool) for v in values):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
        return "int"
    if all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "float"
    return "str"


def schema_context(
    columns: list[dict[str, Any]], example: dict[str, Any], predictions: list[Any], classes: Any
) -> dict[str, Any]:
    """Variables for app/schema.py.j2 and the README."""
    cols = columns_context(columns)
    kind = prediction_type(predictions)
    if classes is not None:
        description = "predicted class; one of " + ", ".join(map(str, classes))
    else:
        description = "predicted value"
    return {
        "columns": cols,
        "numeric_only": all(c["type"] in ("number", "integer") for c in cols),
        "example_json": pprint.pformat(example, sort_dicts=False, width=96),
        "column_types_json": json.dumps({c["name"]: c["type"] for c in cols}),
        "prediction_type": kind,
        "prediction_description": description,
        "prediction_example": repr(predictions[0]) if predictions else "0",
        "example_compact": json.dumps(example, separators=(",", ":")),
        "first_prediction": json.dumps(predictions[0]) if predictions else "",
    }
