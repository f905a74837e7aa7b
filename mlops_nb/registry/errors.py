"""Errors of the registry: bad usage (exit 2) and a registry that cannot be used (exit 2)."""

from __future__ import annotations

from mlops_nb.exceptions import ConfigError, MlopsNbError


class PromotionUsageError(ConfigError):
    """The promotion was asked for wrongly (a bad SOURCE, --force without --reason, ...)."""


class RegistryError(MlopsNbError):
    """The registry or a model in it cannot be read or written (the message says which)."""

    exit_code = 2


class ModelNotFound(RegistryError, LookupError):
    """No such registered model, version or alias."""


class LeaseTimeout(RegistryError, TimeoutError):
    """Another promotion of the same model held the lock for too long."""
