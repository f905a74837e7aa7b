"""templates/service -> a service directory (Jinja2 with StrictUndefined; ``.j2`` files are
rendered, every other file is copied as is)."""

from __future__ import annotations

import shutil
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlops_nb._resources import templates_dir

_SKIP = {"__pycache__", ".pytest_cache", ".ruff_cache"}
# Library modules a service carries verbatim: service path -> the module's file.
_FROM_LIBRARY = {"app/statistics.py": "mlops_nb.monitoring.stats"}


def service_templates() -> Path:
    return templates_dir() / "service"


@lru_cache(maxsize=1)
def _environment() -> Any:
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(service_templates())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )


def render_template(name: str, **context: Any) -> str:
    """Render one template of templates/service."""
    return str(_environment().get_template(name).render(**context))


def render_tree(out: Path, context: dict[str, Any], *, skip: set[str] | None = None) -> list[Path]:
    """Render/copy every template file into ``out``; returns the files written."""
    root = service_templates()
    written: list[Path] = []
    for source in sorted(root.rglob("*")):
        rel = source.relative_to(root)
        if source.is_dir() or set(rel.parts) & _SKIP or source.suffix in {".pyc"}:
            continue
        name = str(rel)
        if skip and (name in skip or name.removesuffix(".j2") in skip):
            continue
        target = out / (name[: -len(".j2")] if name.endswith(".j2") else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".j2"):
            target.write_text(render_template(name, **context))
        else:
            shutil.copyfile(source, target)
        written.append(target)
    for name, module in _FROM_LIBRARY.items():
        if not (skip and name in skip):
            written.append(_copy_module(module, out / name))
    return written


def _copy_module(module: str, target: Path) -> Path:
    """Copy a library module's source file, byte for byte (it imports only what a service has)."""
    import importlib.util

    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, module
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(spec.origin, target)
    return target
