"""Confine every path the panel touches to the server's root directory.

Paths are checked with ``Path.resolve()`` and ``is_relative_to`` (never string prefixes), so
``..`` segments and symlinks that leave the root are refused like any absolute path outside it.
Oversized or malformed paths (NUL bytes, names the OS refuses, symlink loops) are a 400, never
an unhandled ``OSError``.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from tornado.web import HTTPError

MAX_PATH = 4096
MAX_WALK = 20_000  # entries of a service folder checked for symlinks


class PathRefused(HTTPError):
    """A request path that cannot be used; ``status`` is the HTTP status to answer (a tornado
    ``HTTPError``, so a handler that does not catch it still answers that status)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(status, message.replace("%", "%%"))  # a format string without arguments
        self.status = status
        self.message = message


def _short(requested: str) -> str:
    return repr(requested if len(requested) <= 120 else requested[:100] + "…")


def resolve_inside(root: Path, requested: str | Path, what: str = "path") -> Path:
    """``requested`` (relative to ``root``, or absolute) resolved, symlinks included; 403 when
    that leaves ``root``. The file need not exist."""
    text = str(requested)
    if not text.strip():
        raise PathRefused(400, f"a '{what}' path (relative to the server's root) is required")
    if len(text) > MAX_PATH:
        raise PathRefused(400, f"the '{what}' path is longer than {MAX_PATH} characters")
    if "\x00" in text:
        raise PathRefused(400, f"the '{what}' path contains a NUL byte")
    root = root.resolve()
    candidate = Path(text)
    try:
        resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    except (OSError, RuntimeError, ValueError) as exc:  # name too long, symlink loop
        raise PathRefused(400, f"the '{what}' path {_short(text)} is not usable: {exc}") from exc
    if not resolved.is_relative_to(root):
        raise PathRefused(403, f"{_short(text)} is outside the server's root directory")
    return resolved


def _exists(path: Path, directory: bool) -> bool:
    try:
        return path.is_dir() if directory else path.is_file()
    except (OSError, ValueError):
        return False


def confine(
    root: Path,
    requested: str | None,
    *,
    suffix: str | None = None,
    directory: bool = False,
    what: str = "notebook",
) -> Path:
    """The existing file (or folder) ``requested``, inside ``root``.

    Raises :class:`PathRefused`: 400 without a usable path, 403 when it leaves the root, 404
    when it does not exist, 400 when it does not end with ``suffix``.
    """
    if not requested:
        raise PathRefused(400, f"a '{what}' path (relative to the server's root) is required")
    resolved = resolve_inside(root, requested, what)
    if not _exists(resolved, directory):
        kind = "folder" if directory else "file"
        raise PathRefused(404, f"no {kind} {relative(root, resolved)!r} under the server's root")
    if suffix and resolved.suffix != suffix:
        raise PathRefused(400, f"{_short(requested)} is not a {suffix} file")
    return resolved


def check_all_inside(root: Path, paths: Iterable[tuple[str, Path]]) -> None:
    """Every ``(label, path)`` resolved inside ``root``, else 403 naming the first that is not."""
    root = root.resolve()
    for label, path in paths:
        try:
            resolved = path.resolve()
        except (OSError, RuntimeError, ValueError) as exc:  # too long, a loop, a NUL byte
            raise PathRefused(400, f"{label[:300]}: not a usable path ({exc})") from exc
        if not resolved.is_relative_to(root):
            raise PathRefused(
                403, f"{label} ({resolved}) is outside the server's root directory; refused"
            )


def check_tree_inside(root: Path, folder: Path) -> None:
    """No symlink under ``folder`` points outside ``root`` (links are not followed)."""
    root = root.resolve()
    seen = 0
    for current, dirs, files in os.walk(folder, followlinks=False):
        for name in [*dirs, *files]:
            seen += 1
            if seen > MAX_WALK:
                raise PathRefused(400, f"{relative(root, folder)} has over {MAX_WALK} entries")
            path = Path(current) / name
            if path.is_symlink():
                check_all_inside(root, [(relative(root, path), path)])


def relative(root: Path, path: Path) -> str:
    """``path`` as the API path the frontend uses (POSIX, relative to ``root``)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except (ValueError, OSError, RuntimeError):
        return str(path)
