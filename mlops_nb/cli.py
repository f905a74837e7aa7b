"""``mlops-nb``: the command line. A thin adapter: each command parses, calls one library
function, and maps errors to exit codes. Each capability registers its own commands from
``mlops_nb/<capability>/cli.py`` (kept import-light: heavy libraries load inside commands).

Exit codes: 0 success; 1 the operation failed (a notebook raised, drift found with
``--fail-on-drift``); 2 bad usage or configuration; 3 a missing optional dependency.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import typer

from mlops_nb._typer_light import LightGroup
from mlops_nb._version import __version__
from mlops_nb.exceptions import MlopsNbError

app = typer.Typer(
    cls=LightGroup,  # no pydantic import for the root's own options (see _typer_light)
    name="mlops-nb",
    help="Take a notebook to production without leaving Jupyter.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"mlops-nb {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version_callback, is_eager=True, help="Print the version."
    ),
) -> None:
    """Take a notebook to production without leaving Jupyter."""


def _register_all() -> None:
    from mlops_nb.monitoring import cli as monitoring_cli
    from mlops_nb.pipeline import cli as pipeline_cli
    from mlops_nb.productionize import cli as productionize_cli
    from mlops_nb.registry import cli as registry_cli
    from mlops_nb.tracking import cli as tracking_cli

    for module in (tracking_cli, pipeline_cli, productionize_cli, monitoring_cli, registry_cli):
        module.register(app)


_register_all()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; returns the exit code (callable from tests)."""
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        rv = app(args=args, prog_name="mlops-nb", standalone_mode=False)
        if isinstance(rv, int) and not isinstance(rv, bool):  # click returns typer.Exit's code
            return rv
    except MlopsNbError as exc:
        typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except typer.TyperException as exc:  # usage errors: a mistyped command or option, ...
        return _usage_error(exc)
    except SystemExit as exc:
        return int(exc.code or 0) if isinstance(exc.code, int) else 2
    return 0


def run() -> None:
    """The ``mlops-nb`` console script: :func:`main`, then exit (promptly when the command
    allowed it, see :mod:`mlops_nb._exit`)."""
    from mlops_nb import _exit

    code = main()
    if _exit.allowed():
        _exit.now(code)
    sys.exit(code)


def _usage_error(exc: typer.TyperException) -> int:
    """The short usage message and the error, as click prints them; exit code 2 for usage."""
    show = getattr(exc, "show", None)  # typer's click exceptions (UsageError, NoSuchOption, ...)
    if callable(show):
        show()
    else:
        typer.secho(f"error: {exc.format_message()}", fg=typer.colors.RED, err=True)
    return int(getattr(exc, "exit_code", 2))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
