"""Parameter values from the command line and files, typed the way papermill's CLI types them.

``-p alpha 0.5`` gives the float ``0.5``, ``-p n 3`` the int ``3``, ``-p flag true`` ``True``,
``-p name abc`` the string ``"abc"``: each value is read as one YAML scalar (or list/mapping).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import ConfigError

_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)[eE][+-]?\d+$")


def parse_value(text: str) -> Any:
    """One command-line value, typed: YAML's reading of it, or the text itself."""
    import yaml

    if text.strip() == "None":  # papermill's spelling of null
        return None
    try:
        value = yaml.load(text, Loader=_loader())
    except yaml.YAMLError:
        return text
    if value is None:
        return None if text.strip() in ("null", "~") else text
    if isinstance(value, str) and value == text and _NUMBER.match(text):
        return float(text)  # YAML 1.1 reads 1e-3 as a string; papermill's CLI reads a float
    return value


def _loader() -> Any:
    import yaml

    return getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_file(path: str | Path) -> dict[str, Any]:
    """A ``-f params.yaml`` file: a mapping of parameter names to values."""
    import yaml

    p = Path(path)
    try:
        data = yaml.load(p.read_text(), Loader=_loader())
    except FileNotFoundError:
        raise ConfigError(
            f"parameters file {p} does not exist; check the path given to -f"
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"parameters file {p} is not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"parameters file {p} must hold a mapping of name: value")
    return {str(k): v for k, v in data.items()}


def merge(files: Iterable[str | Path] = (), pairs: Iterable[Sequence[str]] = ()) -> dict[str, Any]:
    """Files first, then ``-p`` pairs (later wins), as papermill merges them."""
    out: dict[str, Any] = {}
    for f in files:
        out.update(load_file(f))
    for name, value in pairs:
        out[name] = parse_value(value)
    return out


def parse_grid(pairs: Iterable[Sequence[str]]) -> dict[str, list[Any]]:
    """Sweep axes: ``-p n_estimators 50,100,200`` gives ``{"n_estimators": [50, 100, 200]}``."""
    grid: dict[str, list[Any]] = {}
    for name, text in pairs:
        values = [parse_value(v.strip()) for v in text.split(",") if v.strip()]
        if not values:
            raise ConfigError(f"sweep parameter '{name}' has no values; give e.g. -p {name} 1,2,3")
        grid.setdefault(name, []).extend(values)
    return grid


def expand_grid(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of the axes, in a stable order (first axis varies slowest)."""
    import itertools

    names = list(grid)
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(grid[n] for n in names))
    ]


def as_param_string(value: Any) -> str:
    """How a parameter value is logged to MLflow (strings as-is, the rest as JSON-ish text)."""
    import json

    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)
