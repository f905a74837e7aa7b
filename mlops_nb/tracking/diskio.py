"""Small file-system helpers shared by the outbox, the worker and the cell memory.

:func:`atomic_write` is the one way tracking rewrites a file: readers see the old content or the
new, never a half-written file, and a full disk leaves no temporary file behind.
:func:`disk_problem` turns the ``OSError`` of a full, read-only or forbidden folder into one
short phrase for the user.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

_PROBLEMS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is exceeded",
    errno.EROFS: "the folder is on a read-only file system",
    errno.EACCES: "the folder is not writable",
    errno.EPERM: "the folder is not writable",
}


def atomic_write(path: Path, data: bytes | str) -> None:
    """Replace ``path`` with ``data`` atomically (write a sibling, fsync-free, then rename)."""
    payload = data.encode() if isinstance(data, str) else data
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(payload)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def disk_problem(exc: BaseException) -> str | None:
    """A phrase for an error caused by the folder itself (full, read-only...), else None."""
    if isinstance(exc, OSError):
        return _PROBLEMS.get(exc.errno or 0)
    return None
