"""``%mlops promote ...`` and ``%mlops card NAME@ALIAS``: the notebook's thin adapter.

In the notebook, ``--eval-data``, ``--reference`` and ``--current`` may also name a DataFrame
variable of the user's namespace.
"""

from __future__ import annotations

import shlex
from typing import Any

from mlops_nb.registry.errors import PromotionUsageError

_FLAGS = {"--no-regression", "--force"}
_VALUES = {
    "--name": "name",
    "-n": "name",
    "--alias": "alias",
    "--eval-data": "eval_data",
    "--target": "target",
    "--metric": "metric",
    "--tolerance": "tolerance",
    "--max-drift-share": "max_drift_share",
    "--reference": "reference",
    "--current": "current",
    "--service": "service",
    "--service-dir": "service_dir",
    "--api-key": "api_key",
    "--reason": "reason",
    "--intended-use": "intended_use",
    "--limitations": "limitations",
}
_FRAMES = ("eval_data", "reference", "current")


def run_line(command: str, rest: str, namespace: dict[str, Any]) -> Any:
    """Dispatch ``%mlops promote|card`` (``rest`` is the line after the command)."""
    words = shlex.split(rest)
    if command == "card":
        if len(words) != 1:
            raise PromotionUsageError("usage: %mlops card NAME@ALIAS (or NAME/VERSION)")
        from mlops_nb.registry.api import client_for
        from mlops_nb.registry.query import card

        return card(client_for(), words[0])
    return _promote(words, namespace)


def _promote(words: list[str], namespace: dict[str, Any]) -> Any:
    from mlops_nb.registry.api import promote

    kwargs: dict[str, Any] = {"require": []}
    source = None
    it = iter(words)
    for word in it:
        if word in _FLAGS:
            kwargs[word[2:].replace("-", "_")] = True
        elif word == "--require":
            kwargs["require"].append(_next(it, word))
        elif word in _VALUES:
            kwargs[_VALUES[word]] = _next(it, word)
        elif word.startswith("-"):
            raise PromotionUsageError(f"%mlops promote: unknown option {word}")
        elif source is None:
            source = word
        else:
            raise PromotionUsageError(f"%mlops promote: unexpected {word!r}")
    if source is None:
        raise PromotionUsageError("usage: %mlops promote RUN_ID --name NAME [--require 'm>=x'] ...")
    for key in ("tolerance", "max_drift_share"):
        if key in kwargs:
            try:
                kwargs[key] = float(kwargs[key])
            except ValueError:
                raise PromotionUsageError(f"--{key.replace('_', '-')} takes a number") from None
    for key in _FRAMES:  # a variable of the notebook, else a path
        value = kwargs.get(key)
        if isinstance(value, str) and value.isidentifier() and value in namespace:
            kwargs[key] = namespace[value]
    return promote(source, kwargs.pop("name", None), **kwargs)


def _next(it: Any, flag: str) -> str:
    value = next(it, None)
    if value is None:
        raise PromotionUsageError(f"%mlops promote: {flag} needs a value")
    return str(value)
