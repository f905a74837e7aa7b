"""Locations of files shipped with mlops-nb (templates), in a wheel or in a source checkout."""

from __future__ import annotations

from pathlib import Path

_PKG = Path(__file__).resolve().parent


def templates_dir() -> Path:
    """The service templates: ``mlops_nb/_templates`` in a wheel, ``templates/`` in a checkout."""
    for candidate in (_PKG / "_templates", _PKG.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        "mlops-nb's templates are missing from this installation; reinstall mlops-nb"
    )
