"""``templates/service/image/strip_debug_info.py`` (run in the image's build stage): a stripped copy
of a real unstripped extension (uvloop's) and of numpy's libraries is much smaller and still works;
files it does not understand are left byte for byte."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from support import template_module

STRIP = template_module("service", "image", "strip_debug_info.py")


def _package(name: str) -> Path:
    spec = importlib.util.find_spec(name)
    if spec is None or spec.origin is None:
        pytest.skip(f"{name} is not installed")
    return Path(spec.origin).parent


def _run(code: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(path)},
        cwd=path,
    )


def test_a_stripped_uvloop_is_much_smaller_and_still_runs(tmp_path: Path) -> None:
    copy = tmp_path / "uvloop"
    shutil.copytree(_package("uvloop"), copy)
    (library,) = copy.glob("loop.*.so")
    before = library.stat().st_size
    saved = STRIP.strip_tree(tmp_path)
    after = library.stat().st_size
    assert saved == before - after and after < before / 2, (before, after)
    run = _run(
        f"import asyncio, uvloop; assert uvloop.__file__.startswith({str(tmp_path)!r}); "
        "print(uvloop.run(asyncio.sleep(0, result=42)))",
        tmp_path,
    )
    assert run.returncode == 0 and run.stdout.strip() == "42", run.stderr[-2000:]
    assert STRIP.strip_tree(tmp_path) == 0  # nothing left to drop


def test_stripped_numpy_still_computes(tmp_path: Path) -> None:
    site = _package("numpy").parent
    for name in ("numpy", "numpy.libs"):
        if (site / name).exists():
            shutil.copytree(site / name, tmp_path / name)
    assert STRIP.strip_tree(tmp_path) > 0
    run = _run(
        f"import numpy as np; assert np.__file__.startswith({str(tmp_path)!r}); "
        "a = np.arange(9.0).reshape(3, 3); print((a @ a).sum(), np.linalg.det(a + np.eye(3)))",
        tmp_path,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    import numpy as np  # the same computation with the installed (unstripped) numpy

    a = np.arange(9.0).reshape(3, 3)
    assert run.stdout.split() == [str((a @ a).sum()), str(np.linalg.det(a + np.eye(3)))]


def test_files_it_does_not_understand_are_left_alone(tmp_path: Path) -> None:
    text = tmp_path / "notes.so.txt"
    text.write_bytes(b"not an ELF file")
    truncated = tmp_path / "broken.so"
    truncated.write_bytes(b"\x7fELF\x02\x01" + b"\0" * 10)
    assert STRIP.strip_tree(tmp_path) == 0
    assert text.read_bytes() == b"not an ELF file"
    assert truncated.read_bytes() == b"\x7fELF\x02\x01" + b"\0" * 10
