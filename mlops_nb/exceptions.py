"""One root error and a few structured subclasses.

Every error mlops-nb raises on purpose derives from :class:`MlopsNbError`; the subclasses also
derive from the built-in kind (``ValueError``, ``OSError``, ...) so callers can catch either.
Messages say what went wrong *and* what to do next.
"""

from __future__ import annotations


class MlopsNbError(Exception):
    """Root of every error raised by mlops-nb on purpose."""

    #: exit code the CLI uses for this kind of error
    exit_code: int = 1


class ConfigError(MlopsNbError, ValueError):
    """A setting, flag or argument is invalid."""

    exit_code = 2


class MissingDependencyError(MlopsNbError, ImportError):
    """An optional dependency is not installed; the message names the extra to install."""

    exit_code = 3

    def __init__(self, package: str, extra: str, feature: str) -> None:
        self.package = package
        self.extra = extra
        self.feature = feature
        super().__init__(
            f"{feature} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'mlops-nb[{extra}]'"
        )


class TrackingError(MlopsNbError):
    """Something went wrong while recording a run (never raised into a user's cell)."""


class NotebookError(MlopsNbError, ValueError):
    """A notebook cannot be read, parsed or understood."""

    def __init__(self, message: str, *, path: str | None = None, cell: int | None = None) -> None:
        self.path = path
        self.cell = cell
        where = ""
        if path:
            where = f"{path}"
            if cell is not None:
                where += f", cell {cell}"
            where += ": "
        super().__init__(where + message)


class ExecutionError(MlopsNbError):
    """A notebook failed while executing; carries the failing cell and its error."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        cell_index: int | None = None,
        ename: str | None = None,
        evalue: str | None = None,
    ) -> None:
        self.path = path
        self.cell_index = cell_index
        self.ename = ename
        self.evalue = evalue
        super().__init__(message)


def require(module: str, extra: str, feature: str) -> None:
    """Fail late, with the install command, when an optional dependency is missing."""
    import importlib.util

    if importlib.util.find_spec(module) is None:
        raise MissingDependencyError(module, extra, feature)
