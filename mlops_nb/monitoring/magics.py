"""``%drift REF CUR [--columns a,b] [--target y] [--prediction p] [--sample N]`` and
``%drift --service URL``: the line-magic form of :func:`mlops_nb.drift`.

``REF`` and ``CUR`` are names of variables in the notebook, or paths to .csv/.parquet files.
The lead's ``%load_ext mlops_nb`` calls :func:`register_magics`.
"""

from __future__ import annotations

import argparse
import shlex
from typing import Any

from mlops_nb.exceptions import ConfigError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:  # raise instead of exiting the kernel
        raise ConfigError(f"%drift: {message}\nusage: {self.format_usage().strip()}")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="%drift", add_help=False)
    p.add_argument("reference", nargs="?")
    p.add_argument("current", nargs="?")
    p.add_argument("--service")
    p.add_argument("--columns")
    p.add_argument("--target")
    p.add_argument("--prediction")
    p.add_argument("--sample", type=int)
    p.add_argument("--no-log", action="store_true")
    return p


def drift_magic(line: str, namespace: dict[str, Any]) -> Any:
    """Parse ``line``, resolve names in ``namespace``, call :func:`mlops_nb.drift`."""
    from mlops_nb.monitoring.api import drift

    args = _parser().parse_args(shlex.split(line))
    return drift(
        _resolve(args.reference, namespace),
        _resolve(args.current, namespace),
        service=args.service,
        columns=[c.strip() for c in args.columns.split(",")] if args.columns else None,
        target=args.target,
        prediction=args.prediction,
        sample=args.sample,
        log_to=False if args.no_log else None,
    )


def _resolve(token: str | None, namespace: dict[str, Any]) -> Any:
    if token is None:
        return None
    if token in namespace:
        return namespace[token]
    if token.isidentifier():
        raise ConfigError(
            f"%drift: no variable named {token!r} in the notebook; pass a DataFrame's name or "
            "a .csv/.parquet path"
        )
    return token  # a path: read by drift()


def register_magics(ipython: Any) -> None:
    """Register ``%drift`` on an IPython shell (what ``%load_ext mlops_nb`` calls)."""

    def drift(line: str) -> Any:
        return drift_magic(line, ipython.user_ns)

    drift.__doc__ = __doc__
    ipython.register_magic_function(drift, magic_kind="line", magic_name="drift")
