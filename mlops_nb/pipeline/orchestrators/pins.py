"""The installed distribution (name, version) of each top-level module a notebook imports.

``importlib.metadata.packages_distributions()`` answers it for every module at once by reading
the file list of every installed distribution (~0.3-1 s with 250 of them). An export needs a
handful: each module is found where Python would import it from (``find_spec``, which imports
nothing), and only the ``*.dist-info`` folders next to it are asked whether their ``RECORD``
lists it, most likely names first. A module this cannot place (a namespace package, an
editable install, an egg) falls back to the complete map.
"""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterable
from importlib import metadata
from importlib.machinery import ModuleSpec
from pathlib import Path


def distributions(modules: Iterable[str]) -> dict[str, list[tuple[str, str]]]:
    """module -> its distributions as ``(name, version)`` (empty: none installed)."""
    found: dict[str, list[tuple[str, str]]] = {}
    unplaced: list[str] = []
    for module in modules:
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            spec = None
        dist = _next_to(module, spec) if spec is not None else None
        if spec is None:  # not installed here
            found[module] = []
        elif dist is None:
            unplaced.append(module)
        else:
            found[module] = [dist]
    if unplaced:
        everything = metadata.packages_distributions()
        for module in unplaced:
            found[module] = []
            for name in everything.get(module, []):
                try:
                    found[module].append((name, metadata.version(name)))
                except metadata.PackageNotFoundError:
                    continue
    return found


def _normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def _next_to(module: str, spec: ModuleSpec) -> tuple[str, str] | None:
    if not spec.origin or not spec.has_location:
        return None
    origin = Path(spec.origin)
    if spec.submodule_search_locations is not None:  # a package: its folder
        entry, site = f"{origin.parent.name}/", origin.parent.parent
    else:  # a module file (foo.py, foo.cpython-311-x86_64-linux-gnu.so)
        entry, site = origin.name, origin.parent
    wanted = _normalized(module)
    infos = sorted(
        site.glob("*.dist-info"),
        key=lambda p: wanted not in _normalized(p.name.split("-")[0]),  # likely names first
    )
    for info in infos:
        try:
            record = (info / "RECORD").read_text(encoding="utf-8")
        except OSError:
            continue
        if record.startswith(entry) or f"\n{entry}" in record:
            dist = metadata.Distribution.at(info)
            return dist.metadata["Name"], dist.version
    return None
