"""Assemble the root file system of the service image (run in the build stage by the base image's
own interpreter; the runtime stage is ``FROM scratch`` plus this tree):

    python3 image/assemble_rootfs.py /rootfs --scan /opt/venv

It holds only what the service runs: the interpreter and its standard library (without what a
service cannot use: ensurepip, IDLE, Tk, the test suite, the global site-packages), exactly the
shared libraries that the interpreter, its extension modules and every ELF file under ``--scan``
need (as the dynamic loader itself resolves them: ``ldd``, so RUNPATH and LD_LIBRARY_PATH count),
the loader's cache, the programs a package of the virtualenv runs (joblib: ``lscpu``), the C.UTF-8
locale, the CA bundle, the time zone database, ``/etc/passwd`` and ``/etc/group`` with the service
user (uid 10001), a world-writable ``/tmp`` and ``/var/lib/service`` owned by the service user. No
shell, no package manager, no coreutils.

``--scan`` trees (the virtualenv) are read, not copied: the Dockerfile copies them itself. Symbolic
links are kept as links (directory links such as ``/lib -> usr/lib`` included) and their targets
are added too. A library the loader cannot find is reported and the build goes on (as it would
have with the full base image, where it was missing as well).
"""

from __future__ import annotations

import argparse
import ctypes
import os
import re
import shutil
import ssl
import subprocess
import sys
import sysconfig
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

UID = 10001
#: standard-library entries a service cannot use (they install packages, need Tk or a terminal
#: database, or are the test suite), and the global site-packages (the virtualenv has its own)
STDLIB_DROPPED = frozenset(
    {
        "ensurepip",
        "idlelib",
        "tkinter",
        "turtledemo",
        "turtle.py",
        "test",
        "lib2to3",
        "pydoc_data",
        "curses",
        "site-packages",
        "dist-packages",
    }
)
#: extension modules no service can use: CPython's own test modules, Tk's binding (no Tk), NIS
#: (deprecated by PEP 594; it alone pulls libnsl, libtirpc and Kerberos) and curses (there is no
#: terminal database in the image)
DYNLOAD_DROPPED = re.compile(
    r"^(_test|_xxtestfuzz|_ctypes_test|xxlimited|_tkinter|xxsubtype|nis\.|_curses)"
)
#: glibc loads libgcc_s with dlopen (thread cancellation, backtraces): no ELF file names it
DLOPENED_BY_LIBC = ["libgcc_s.so.1"]
#: programs a package in the virtualenv runs (package -> programs): joblib (scikit-learn,
#: LightGBM) counts physical cores with ``lscpu``, and without it warns at the first prediction
PROGRAMS_RUN_BY = {"joblib": ["lscpu"]}
_LDD_LINE = re.compile(r"^\s*(?:(\S+) => )?(\S+|not found)(?: \(0x[0-9a-f]+\))?\s*$")


def link_target(path: str) -> str:
    link = os.readlink(path)
    return os.path.normpath(os.path.join(os.path.dirname(path), link))


class Rootfs:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.added: set[str] = set()

    def target(self, path: str) -> Path:
        return self.root / path.lstrip("/")

    def add(self, path: str) -> None:
        """Copy one entry (a file, a link, a directory without its contents) into the tree, with
        its parent directories, every directory link on its path and the targets of links."""
        path = os.path.normpath(os.path.abspath(path))
        if path == "/" or path in self.added or not os.path.lexists(path):
            return
        self.added.add(path)
        parent = os.path.dirname(path)
        real_parent = os.path.realpath(parent)
        if real_parent != parent:
            # a directory link on the way (/lib -> usr/lib): the link, then the real entry
            prefix = "/"
            for part in parent.strip("/").split("/"):
                prefix = os.path.join(prefix, part)
                if os.path.islink(prefix):
                    self.add(prefix)
            self.add(os.path.join(real_parent, os.path.basename(path)))
            return
        self.add(parent)
        dest = self.target(path)
        if os.path.islink(path):
            if not os.path.lexists(dest):
                os.symlink(os.readlink(path), dest)
            self.add(link_target(path))
        elif os.path.isdir(path):
            dest.mkdir(exist_ok=True)
            shutil.copystat(path, dest)
        else:
            shutil.copy2(path, dest)

    def add_tree(self, top: str, skip: frozenset[str] = frozenset()) -> list[str]:
        """Copy a directory tree; returns the regular files copied. ``skip``: names dropped from
        its top level (and ``config-*``: the static library and Makefile for building C code)."""
        self.add(top)
        top = os.path.realpath(top)
        files = []
        for directory, dirs, names in os.walk(top):
            if directory == top and skip:
                dirs[:] = [d for d in dirs if d not in skip and not d.startswith("config-")]
                names = [n for n in names if n not in skip]
            for name in dirs + names:
                path = os.path.join(directory, name)
                if name.endswith(".so") and DYNLOAD_DROPPED.match(name):
                    continue
                self.add(path)
                if os.path.islink(path):
                    real = os.path.realpath(path)
                    if os.path.isdir(real) and not real.startswith(top + os.sep):
                        files += self.add_tree(real)
                elif os.path.isfile(path):
                    files.append(path)
        return files


def is_elf(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(4) == b"\x7fELF"
    except OSError:
        return False


def shared_libraries(files: list[str]) -> tuple[set[str], set[str]]:
    """What the dynamic loader loads for these ELF files (paths), and the sonames it cannot find."""
    found: set[str] = set()
    missing: set[str] = set()
    ldd = shutil.which("ldd")
    if ldd is None:
        raise SystemExit(
            "assemble_rootfs: no ldd in the base image: use a glibc (Debian, Ubuntu) or musl "
            "(Alpine) base image that has it"
        )

    def listed(batch: list[str]) -> str:
        return subprocess.run([ldd, *batch], capture_output=True, text=True, check=False).stdout

    # ldd asks the loader once per file: batches, on every core
    batches = [files[i : i + 16] for i in range(0, len(files), 16)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        outputs = list(pool.map(listed, batches))
    for output in outputs:
        for line in output.splitlines():
            match = _LDD_LINE.match(line)
            if not match or not line[:1].isspace():
                continue
            soname, where = match.groups()
            if where == "not found":
                missing.add(soname or "?")
            elif where.startswith("/"):
                found.add(where)
    return found, missing


def loaded_path(soname: str) -> str | None:
    """Where the loader finds ``soname`` for this process (None: not installed)."""
    try:
        ctypes.CDLL(soname)
    except OSError:
        return None
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            if len(fields) >= 6 and os.path.basename(fields[-1]) == soname:
                return fields[-1]
    return None


def write_accounts(rootfs: Rootfs) -> None:
    etc = rootfs.target("/etc")
    etc.mkdir(parents=True, exist_ok=True)
    (etc / "passwd").write_text(
        "root:x:0:0:root:/root:/usr/sbin/nologin\n"
        f"service:x:{UID}:{UID}:service:/var/lib/service:/usr/sbin/nologin\n"
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
    )
    (etc / "group").write_text(f"root:x:0:\nservice:x:{UID}:\nnogroup:x:65534:\n")
    tmp = rootfs.target("/tmp")
    tmp.mkdir(exist_ok=True)
    os.chmod(tmp, 0o1777)
    home = rootfs.target("/var/lib/service")
    home.mkdir(parents=True, exist_ok=True)
    os.chown(home, UID, UID)


def loader_configuration(rootfs: Rootfs) -> None:
    """The loader's search configuration, and its cache rebuilt for the libraries in the tree."""
    for conf in ("/etc/ld.so.conf", "/etc/ld.so.conf.d"):
        if os.path.isdir(conf):
            rootfs.add_tree(conf)
        else:
            rootfs.add(conf)
    for musl in Path("/etc").glob("ld-musl-*.path"):
        rootfs.add(str(musl))
    ldconfig = shutil.which("ldconfig") or (
        "/sbin/ldconfig" if os.path.exists("/sbin/ldconfig") else None
    )
    if ldconfig and os.path.exists("/etc/ld.so.conf"):
        # -X: the tree's links are the packages' own; only the cache is written
        subprocess.run([ldconfig, "-X", "-r", str(rootfs.root)], check=True)


def assemble(root: Path, scan: list[str]) -> int:
    started = time.monotonic()
    rootfs = Rootfs(root)
    root.mkdir(parents=True, exist_ok=True)
    interpreter = sys.executable
    rootfs.add(interpreter)
    elf = [os.path.realpath(interpreter)]
    stdlib = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
    for top in sorted(stdlib):
        elf += [f for f in rootfs.add_tree(top, STDLIB_DROPPED) if is_elf(f)]
    # (links out of the stdlib, as Debian's sitecustomize.py -> /etc/python3.X, were followed)
    for top in scan:
        inside = os.path.realpath(top) + os.sep
        for directory, dirs, names in os.walk(top):
            for name in dirs + names:
                path = os.path.join(directory, name)
                if os.path.islink(path):
                    # a link out of the tree (the virtualenv's python3 -> the interpreter)
                    if not os.path.realpath(path).startswith(inside):
                        rootfs.add(link_target(path))
                elif name in names and is_elf(path):
                    elf.append(path)
    for package, programs in PROGRAMS_RUN_BY.items():
        if any(Path(top).glob(f"lib/python3*/site-packages/{package}/__init__.py") for top in scan):
            for program in programs:
                found = shutil.which(program)
                if found:
                    rootfs.add(found)
                    elf.append(os.path.realpath(found))
    libraries, missing = shared_libraries(elf)
    for soname in DLOPENED_BY_LIBC:
        where = loaded_path(soname)
        if where:
            libraries.add(where)
    inside = tuple(os.path.realpath(t) + os.sep for t in scan)
    for library in sorted(libraries):
        if not os.path.realpath(library).startswith(inside):
            rootfs.add(library)
    # a vendored library (scipy.libs' libquadmath-<hash>) is found through the RUNPATH of the
    # extension that loads it, not from its own file: only report what no scanned file provides
    provided = {os.path.basename(path) for path in elf}
    for soname in sorted(missing - provided):
        print(f"assemble_rootfs: warning: no {soname} on this system (an ELF file names it)")
    data = [
        *Path("/usr/lib/locale").glob("C.[uU][tT][fF]*8"),
        Path("/usr/share/zoneinfo"),
        Path("/etc/localtime"),
        Path("/etc/nsswitch.conf"),
    ]
    cafile = ssl.get_default_verify_paths().openssl_cafile
    if cafile:
        data.append(Path(cafile))
    for path in data:
        if path.is_dir():
            rootfs.add_tree(str(path))
        else:
            rootfs.add(str(path))
    loader_configuration(rootfs)
    write_accounts(rootfs)
    size = sum(
        os.path.getsize(os.path.join(d, n))
        for d, _, names in os.walk(root)
        for n in names
        if not os.path.islink(os.path.join(d, n))
    )
    print(
        f"assemble_rootfs: {root}: {size / 1e6:.1f} MB, {len(elf)} ELF files scanned, "
        f"{len(libraries)} shared libraries ({time.monotonic() - started:.1f} s)"
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--scan", action="append", default=[], help="a tree whose ELF files run")
    args = parser.parse_args()
    return assemble(args.root, args.scan)


if __name__ == "__main__":
    raise SystemExit(main())
