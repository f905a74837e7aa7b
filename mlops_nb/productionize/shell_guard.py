"""Kernel-side guard for the notebook run of productionize: shell escapes and magics do not run.

This file's source is sent to the kernel as the first cell (it needs nothing but IPython and the
standard library, so it works whatever the kernel's environment holds). :func:`install` replaces,
in that kernel only:

- ``shell.system`` / ``shell.getoutput`` (what ``!cmd``, ``x = !cmd``, ``%sx``, ``%system``,
  aliases and ``get_ipython().system(...)`` lines call);
- the script cell magics (``%%bash``, ``%%sh``, ``%%script``, ``%%perl``, ... every magic of
  IPython's ScriptMagics) and the package-manager magics (``%pip``, ``%conda``, ...);
- ``%%writefile`` / ``%%file``: a relative path inside the notebook's folder is written to the
  scratch folder instead (first on ``sys.path``, so a helper module written this way imports);
  any other path is not written.

Each neutralised line is appended to a JSON-lines log the caller lists. Ordinary Python code
(``os.system``, ``subprocess``) is not intercepted: it runs, as the README says.
"""

from __future__ import annotations

from typing import Any

_SCRIPT_MAGICS = ("bash", "sh", "script", "perl", "ruby", "python", "python2", "python3", "pypy")
_PACKAGE_MAGICS = ("pip", "conda", "mamba", "micromamba", "uv")


def install(shell: Any, log_path: str, scratch: str) -> None:
    """Neutralise shell access in ``shell`` (an IPython InteractiveShell)."""
    import json
    import shlex
    import sys
    from pathlib import Path, PurePath

    written = Path(scratch) / "writefile"

    def record(kind: str, text: str, outcome: str = "not run") -> None:
        entry = {"kind": kind, "text": " ".join(str(text).split())[:200], "outcome": outcome}
        with open(log_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(entry) + "\n")

    def system(cmd: Any, *args: Any, **kwargs: Any) -> None:
        record("!", cmd)

    def getoutput(cmd: Any, *args: Any, **kwargs: Any) -> Any:
        from IPython.utils.text import SList

        record("!", cmd)
        return SList()

    for attribute, replacement in (
        ("system", system),
        ("system_piped", system),
        ("system_raw", system),
        ("getoutput", getoutput),
    ):
        setattr(shell, attribute, replacement)

    def line_or_cell(name: str) -> Any:
        def magic(line: str, cell: str | None = None) -> None:
            record(f"%%{name}" if cell is not None else f"%{name}", f"{line} {cell or ''}")

        return magic

    def cell_only(name: str) -> Any:
        def magic(line: str, cell: str) -> None:
            record(f"%%{name}", f"{line} {cell}")

        return magic

    def line_only(name: str) -> Any:
        def magic(line: str) -> None:
            record(f"%{name}", line)

        return magic

    def writefile(line: str, cell: str) -> None:
        words = shlex.split(line)
        append = any(w in ("-a", "--append") for w in words)
        names = [w for w in words if not w.startswith("-")]
        if not names:
            record("%%writefile", line, "not written (no file name)")
            return
        target = PurePath(names[0])
        if target.is_absolute() or ".." in target.parts or str(target).startswith("~"):
            record("%%writefile", names[0], "not written (outside the notebook's folder)")
            return
        path = written / target
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a" if append else "w", encoding="utf-8") as handle:
            handle.write(cell)
        if str(written) not in sys.path:
            sys.path.insert(0, str(written))
        record("%%writefile", names[0], "written to productionize's scratch folder")

    manager = shell.magics_manager
    script_cells = set(_SCRIPT_MAGICS)
    for name, function in manager.magics.get("cell", {}).items():
        owner = getattr(function, "__self__", None)
        if type(owner).__name__ == "ScriptMagics":
            script_cells.add(name)
    for name in sorted(script_cells):
        shell.register_magic_function(cell_only(name), "cell", name)
    for name in ("sx", "system", "sc"):
        shell.register_magic_function(line_or_cell(name), "line_cell", name)
    shell.register_magic_function(cell_only("!"), "cell", "!")  # %%!
    for name in _PACKAGE_MAGICS:
        shell.register_magic_function(line_only(name), "line", name)
    for name in ("writefile", "file"):
        shell.register_magic_function(writefile, "cell", name)
