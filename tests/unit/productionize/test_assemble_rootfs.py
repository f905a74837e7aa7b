"""``templates/service/image/assemble_rootfs.py`` (run in the image's build stage; the docker tests
check the image it makes): links, directory links and their targets land in the tree as they are
on the system, never written through; the libraries come from the loader's own resolution."""

from __future__ import annotations

import os
import sys
import sysconfig
from pathlib import Path

import pytest
from support import template_module

ROOTFS = template_module("service", "image", "assemble_rootfs.py")

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="ELF and ldd: Linux only")


def test_a_file_behind_a_directory_link_keeps_the_link_and_the_real_file(tmp_path: Path) -> None:
    system = tmp_path / "system"
    (system / "usr" / "lib").mkdir(parents=True)
    (system / "usr" / "lib" / "libx.so.1.2").write_bytes(b"\x7fELF real")
    (system / "usr" / "lib" / "libx.so.1").symlink_to("libx.so.1.2")
    (system / "lib").symlink_to("usr/lib")  # merged /usr, as Debian's /lib
    (system / "abs").symlink_to(system / "usr" / "lib")  # an absolute directory link
    tree = ROOTFS.Rootfs(tmp_path / "rootfs")
    tree.root.mkdir()
    tree.add(str(system / "lib" / "libx.so.1"))
    tree.add(str(system / "abs" / "libx.so.1.2"))

    inside = tree.target(str(system))
    assert os.readlink(inside / "lib") == "usr/lib"
    assert os.readlink(inside / "usr" / "lib" / "libx.so.1") == "libx.so.1.2"
    assert (inside / "usr" / "lib" / "libx.so.1.2").read_bytes() == b"\x7fELF real"
    assert os.readlink(inside / "abs") == str(system / "usr" / "lib")  # kept, not followed
    # nothing was written through a link onto the system itself
    assert sorted(p.name for p in (system / "usr" / "lib").iterdir()) == [
        "libx.so.1",
        "libx.so.1.2",
    ]


def test_a_tree_drops_what_no_service_can_use(tmp_path: Path) -> None:
    stdlib = tmp_path / "python3.11"
    for name in ("json", "ensurepip", "tkinter", "curses", "site-packages", "config-3.11-x86_64"):
        (stdlib / name).mkdir(parents=True)
        (stdlib / name / "__init__.py").write_text("")
    (stdlib / "lib-dynload").mkdir()
    for name in ("_json", "_testcapi", "nis", "_curses", "_ssl"):
        (stdlib / "lib-dynload" / f"{name}.cpython-311-x86_64-linux-gnu.so").write_bytes(b"x")
    tree = ROOTFS.Rootfs(tmp_path / "rootfs")
    tree.root.mkdir()
    tree.add_tree(str(stdlib), ROOTFS.STDLIB_DROPPED)

    copied = tree.target(str(stdlib))
    assert sorted(p.name for p in copied.iterdir()) == ["json", "lib-dynload"]
    assert sorted(p.name.split(".")[0] for p in (copied / "lib-dynload").iterdir()) == [
        "_json",
        "_ssl",
    ]


def test_the_libraries_are_what_the_loader_resolves() -> None:
    interpreter = os.path.realpath(sys.executable)
    dynload = Path(sysconfig.get_path("platstdlib")) / "lib-dynload"
    extensions = [str(p) for p in sorted(dynload.glob("_ssl*.so"))] or [interpreter]
    found, missing = ROOTFS.shared_libraries([interpreter, *extensions])
    names = {os.path.basename(p) for p in found}
    assert not missing
    assert any(n.startswith("libc.so") or n.startswith("libc.musl") for n in names), found
    assert all(os.path.isabs(p) and os.path.exists(p) for p in found)
    assert ROOTFS.is_elf(interpreter) and not ROOTFS.is_elf(__file__)
