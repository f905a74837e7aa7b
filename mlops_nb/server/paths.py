"""Confine request paths to the server's root directory.

Paths are checked with ``Path.resolve()`` and ``is_relative_to`` (never string prefixes), so
``..`` segments and symlinks that leave the root are refused like any absolute path outside it.
"""

from __future__ import annotations

from pathlib import Path

from tornado.web import HTTPError


def confine(
    root: Path,
    requested: str | None,
    *,
    suffix: str | None = None,
    directory: bool = False,
    what: str = "notebook",
) -> Path:
    """The existing file ``requested`` (relative to ``root``, or absolute inside it).

    Raises ``HTTPError`` 400 when no path is given, 403 when the path leaves the root, 404 when
    the file does not exist, and 400 when it does not end with ``suffix``.
    """
    if not requested or not requested.strip():
        raise HTTPError(400, f"a '{what}' path (relative to the server's root) is required")
    if "\x00" in requested:
        raise HTTPError(400, "the path contains a NUL byte")
    root = root.resolve()
    candidate = Path(requested)
    resolved = (candidate if candidate.is_absolute() else root / candidate).resolve()
    if not resolved.is_relative_to(root):
        raise HTTPError(403, f"{requested!r} is outside the server's root directory")
    if not (resolved.is_dir() if directory else resolved.is_file()):
        kind = "folder" if directory else "file"
        raise HTTPError(404, f"no {kind} {relative(root, resolved)!r} under the server's root")
    if suffix and resolved.suffix != suffix:
        raise HTTPError(400, f"{requested!r} is not a {suffix} file")
    return resolved


def relative(root: Path, path: Path) -> str:
    """``path`` as the API path the frontend uses (POSIX, relative to ``root``)."""
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)
