"""Errors of the drift capability (both derive from :class:`mlops_nb.exceptions.MlopsNbError`)."""

from __future__ import annotations

from mlops_nb.exceptions import ConfigError, MlopsNbError


class DriftDataError(ConfigError):
    """The reference or current data cannot be compared (columns, types, empty or all-null data).

    A ``ValueError`` too; the CLI maps it to exit code 2.
    """


class DriftServiceError(MlopsNbError, ConnectionError):
    """A service's ``/monitoring/*`` endpoints cannot be reached or gave an unexpected answer."""

    exit_code = 2
