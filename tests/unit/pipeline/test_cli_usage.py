"""Every mistyped command or option prints the short usage and exits 2 (never a traceback); and
the one typer compatibility patch (``mlops_nb/_typer_light.py``) still fits the installed typer."""

from __future__ import annotations

import inspect
import subprocess
import sys
from collections.abc import Iterator

import pytest
import typer
import typer.core
import typer.main

from mlops_nb.cli import app, main


def _commands(group: object, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    for name, command in getattr(group, "commands", {}).items():
        if getattr(command, "hidden", False):
            continue
        if hasattr(command, "commands"):
            yield from _commands(command, (*path, name))
        else:
            yield (*path, name)


ALL_COMMANDS = sorted(_commands(typer.main.get_command(app)))


def test_the_cli_has_the_commands_of_every_capability() -> None:
    assert {("run",), ("sweep",), ("pipeline", "run"), ("pipeline", "export")} <= set(ALL_COMMANDS)
    assert len(ALL_COMMANDS) >= 8


@pytest.mark.parametrize("command", ALL_COMMANDS, ids=" ".join)
def test_an_unknown_option_prints_the_usage_and_exits_2(
    command: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main([*command, "--no-such-option"]) == 2
    err = capsys.readouterr().err
    assert f"Usage: mlops-nb {' '.join(command)}" in err
    assert "No such option: --no-such-option" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["no-such-command"], "No such command 'no-such-command'"),
        (["pipeline", "no-such-command"], "No such command 'no-such-command'"),
        (["pipeline", "run", "--no-such-option"], "No such option: --no-such-option"),
        (["pipeline", "run", "--jobs"], "Option '--jobs' requires an argument"),
        (["pipeline", "export", "--to", "airflow"], "missing OUT"),
        (["pipeline", "run", "a.yaml", "b.yaml"], "unexpected extra argument(s) (b.yaml)"),
        (["pipeline", "run", "-j", "many"], "-j/--jobs takes a whole number, not 'many'"),
    ],
)
def test_usage_errors_in_a_fresh_process(args: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "mlops_nb.cli", *args], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_the_typer_internals_the_light_commands_replace_are_still_there() -> None:
    """Fails when a typer release moves what mlops_nb/_typer_light.py replaces: then update
    the patch (or drop it) and the `typer<0.30` pin together."""
    assert typer.__version__.startswith("0.29."), typer.__version__
    process = inspect.getsource(typer.core._TyperParameter.process_value)
    assert "coerce(" in process and "self.callback" in process
    signature = inspect.signature(typer.core.TyperCommand.get_help_option)
    assert list(signature.parameters) == ["self", "ctx"]
    # the exception class every usage error derives from is public
    assert any(c.__name__ == "UsageError" for c in typer.BadParameter.__mro__)
    assert issubclass(typer.BadParameter, typer.TyperException)


def test_light_commands_convert_options_without_pydantic() -> None:
    code = (
        "import sys\n"
        "from mlops_nb.cli import main\n"
        "rc = main(['pipeline', 'run', '--help'])\n"
        "assert rc == 0, rc\n"
        "rc = main(['pipeline', 'run', 'missing.yaml', '-j', '2'])\n"
        "print('pydantic' in sys.modules, rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.stdout.strip().splitlines()[-1] == "False 2", proc.stdout + proc.stderr
    assert "missing.yaml does not exist" in proc.stderr
