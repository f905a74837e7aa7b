"""The one place mlops-nb reaches into typer's internals: commands and groups that skip typer's
pydantic-based option coercion.

Typer 0.29 converts every option value through a pydantic ``TypeAdapter``, and importing pydantic
for that costs ~0.1 s: a fifth of the budget of a fully cached ``mlops-nb pipeline run``, CLI start
included; lazy imports cannot avoid it (typer imports pydantic to coerce). The commands that use
these classes take only strings, paths, flags, integers (``-j N``, ``--retries N``) and
``-p NAME VALUE`` pairs, converted here. Tied to typer's ``_TyperParameter.process_value`` and
``TyperCommand.get_help_option`` (typer is pinned below 0.30 for that reason);
``tests/unit/pipeline/test_cli_usage.py`` fails when typer no longer matches what this replaces.
Usage errors are untouched: typer/click raise them while parsing, before any of this runs, and
:func:`mlops_nb.cli.main` prints them as click does (short usage, exit code 2).
"""

from __future__ import annotations

import types
from typing import Any

from typer.core import TyperCommand, TyperGroup

INTEGER_OPTIONS = {"jobs": "-j/--jobs", "retries": "--retries"}


def _raw_value(self: Any, ctx: Any, value: Any) -> Any:
    """Option values as the parser gives them, converted here for the few non-strings."""
    if self.name == "param":
        value = [(str(v[0]), str(v[1])) for v in (value or ())]
    elif self.multiple:
        value = list(value or ())
    elif self.name in INTEGER_OPTIONS and value is not None:
        try:
            value = int(value)
        except (TypeError, ValueError):
            from mlops_nb.exceptions import ConfigError

            flag = INTEGER_OPTIONS[self.name]
            raise ConfigError(f"{flag} takes a whole number, not {value!r}") from None
    if self.required and value in (None, (), []):
        from mlops_nb.exceptions import ConfigError

        raise ConfigError(
            f"missing {self.name.upper()}; see mlops-nb {ctx.command_path.split(' ', 1)[-1]} --help"
        )
    if self.callback is not None:
        value = self.callback(ctx, self, value)
    return value


def _light_help(command: Any, ctx: Any) -> Any:
    option = command._light_help_option
    if option is None:
        option = TyperCommand.get_help_option(command, ctx)
        if option is not None:
            option.process_value = types.MethodType(_raw_value, option)  # type: ignore[method-assign]
        command._light_help_option = option
    return option


class LightCommand(TyperCommand):
    """A command whose options are converted without typer's pydantic-based coercion, and whose
    ``-p NAME VALUE`` option (papermill's syntax) takes two arguments and repeats."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._light_help_option: Any = None
        for option in self.params:
            if option.name == "param":
                option.nargs = 2
                option.metavar = "NAME VALUE"
            option.process_value = types.MethodType(_raw_value, option)  # type: ignore[method-assign]

    def get_help_option(self, ctx: Any) -> Any:
        return _light_help(self, ctx)


class LightGroup(TyperGroup):
    """A group (the root app, ``pipeline``) with the same light option handling as
    :class:`LightCommand` for its own options (``--version``, ``--help``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._light_help_option: Any = None
        for option in self.params:
            option.process_value = types.MethodType(_raw_value, option)  # type: ignore[method-assign]

    def get_help_option(self, ctx: Any) -> Any:
        return _light_help(self, ctx)
