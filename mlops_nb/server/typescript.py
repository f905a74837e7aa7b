"""JSON Schema (as pydantic writes it for :mod:`.schemas`) → TypeScript interfaces.

Covers what the contract uses: objects, ``$ref``, ``anyOf``/``oneOf``, enums and ``const``,
arrays, maps (``additionalProperties``), primitives. Fields with a default are optional. The
output is ``extension/src/schema.ts``; ``tests/server/test_schemas.py`` fails when that file is
not what this renders.
"""

from __future__ import annotations

import json
from typing import Any

HEADER = """\
/**
 * The panel's REST contract, generated from mlops_nb/server/schemas.py (pydantic) by
 *   python -m mlops_nb.server.schemas --typescript > extension/src/schema.ts
 * Do not edit: change the Python models and regenerate (a test compares the two).
 */
/* eslint-disable */
"""


def type_of(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "const" in schema:
        return json.dumps(schema["const"])
    if "enum" in schema:
        return " | ".join(json.dumps(v) for v in schema["enum"])
    for key in ("anyOf", "oneOf"):
        if key in schema:
            parts = [type_of(s) for s in schema[key]]
            return " | ".join(dict.fromkeys(parts))
    kind = schema.get("type")
    if kind == "array":
        inner = type_of(schema.get("items", {}))
        return f"({inner})[]" if "|" in inner else f"{inner}[]"
    if kind == "object":
        extra = schema.get("additionalProperties")
        if "properties" not in schema:
            value = type_of(extra) if isinstance(extra, dict) else "unknown"
            return f"{{ [key: string]: {value} }}"
    return {
        "string": "string",
        "integer": "number",
        "number": "number",
        "boolean": "boolean",
        "null": "null",
    }.get(str(kind), "unknown")


def interface(name: str, schema: dict[str, Any]) -> str:
    lines = []
    if schema.get("description"):
        doc = " ".join(str(schema["description"]).split())
        lines.append(f"/** {doc} */")
    lines.append(f"export interface {name} {{")
    required = set(schema.get("required", []))
    for field, spec in schema.get("properties", {}).items():
        optional = "" if field in required else "?"
        lines.append(f"  {field}{optional}: {type_of(spec)};")
    if schema.get("additionalProperties") is True:
        lines.append("  [key: string]: unknown;")
    lines.append("}")
    return "\n".join(lines)


def render(schema: dict[str, Any]) -> str:
    defs = schema.get("$defs", {})
    blocks = [interface(name, defs[name]) for name in sorted(defs)]
    return HEADER + "\n" + "\n\n".join(blocks) + "\n"
