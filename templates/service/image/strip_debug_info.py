"""Drop the debugging sections of the shared libraries under a folder (run in the image's build
stage, where no ``strip`` is installed): ``python3 image/strip_debug_info.py /opt/venv/lib``.

Some wheels ship their extensions unstripped (uvloop's is 13.6 MB, 1.6 MB without its DWARF data
and symbol table). Only what the dynamic loader never reads goes: sections that are not loaded
(no SHF_ALLOC) named ``.debug_*``, ``.symtab`` or ``.strtab``. The loaded part of the file is kept
byte for byte; the other kept sections are copied after it and the section table is rewritten.
A file this script does not fully understand (not 64-bit little-endian ELF, a kept section linked to
a dropped one, loaded data after a dropped section) is left as it is.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

_HEADER = struct.Struct("<16sHHIQQQIHHHHHH")
_SECTION = struct.Struct("<IIQQQQIIQQ")
_SEGMENT = struct.Struct("<IIQQQQQQ")
_ALLOC = 0x2
_INFO_LINK = 0x40
_NOBITS = 8
_DYNAMIC_TYPES = {2, 11}  # SHT_SYMTAB, SHT_DYNSYM: sh_info is a symbol index, not a section


def _dropped(name: bytes, flags: int) -> bool:
    return not flags & _ALLOC and (name.startswith(b".debug") or name in (b".symtab", b".strtab"))


def strip(data: bytes) -> bytes | None:
    """The file without its debugging sections; None when there is nothing (safe) to drop."""
    if len(data) < _HEADER.size or data[:4] != b"\x7fELF" or data[4:6] != b"\x02\x01":
        return None
    header = list(_HEADER.unpack_from(data))
    phoff, shoff, phentsize, phnum = header[5], header[6], header[9], header[10]
    shentsize, shnum, shstrndx = header[11], header[12], header[13]
    if shoff == 0 or shnum == 0 or shentsize != _SECTION.size or shstrndx >= shnum:
        return None
    sections = [list(_SECTION.unpack_from(data, shoff + i * shentsize)) for i in range(shnum)]
    names = sections[shstrndx]

    def name_of(section: list[int]) -> bytes:
        start = names[4] + section[0]
        return data[start : data.index(b"\0", start)]

    drop = {i for i, s in enumerate(sections) if i and _dropped(name_of(s), s[2])}
    if not drop or shstrndx in drop:
        return None
    for i, s in enumerate(sections):
        if i in drop:
            continue
        if s[6] in drop or (s[2] & _INFO_LINK and s[7] in drop):
            return None
    # everything the loader maps ends here: kept byte for byte
    end = phoff + phnum * phentsize
    for i in range(phnum):
        segment = _SEGMENT.unpack_from(data, phoff + i * phentsize)
        end = max(end, segment[2] + segment[5])
    first_dropped = min(sections[i][4] for i in drop)
    if first_dropped < end:
        return None  # debugging data inside the loaded part: leave the file alone
    out = bytearray(data[:end])
    index: dict[int, int] = {}
    kept: list[list[int]] = []
    for i, s in enumerate(sections):
        if i in drop:
            continue
        index[i] = len(kept)
        s = list(s)
        if i and s[1] != _NOBITS and not s[2] & _ALLOC and s[5]:
            align = max(s[8], 1)
            out += b"\0" * (-len(out) % align)
            start = s[4]
            s[4] = len(out)
            out += data[start : start + s[5]]
        elif i and s[1] != _NOBITS and s[4] + s[5] > end:
            return None  # a loaded section outside the loaded segments: not understood
        kept.append(s)
    for s in kept:
        s[6] = index.get(s[6], 0)
        if s[2] & _INFO_LINK and s[1] not in _DYNAMIC_TYPES:
            s[7] = index.get(s[7], 0)
    out += b"\0" * (-len(out) % 8)
    header[6] = len(out)
    header[12] = len(kept)
    header[13] = index[shstrndx]
    for s in kept:
        out += _SECTION.pack(*s)
    _HEADER.pack_into(out, 0, *header)
    return bytes(out)


def strip_tree(root: Path) -> int:
    """Strip every ``*.so*`` file under ``root`` in place; returns the bytes saved."""
    saved = 0
    for path in sorted(root.rglob("*.so*")):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        stripped = strip(data)
        if stripped is None or len(stripped) >= len(data):
            continue
        temporary = path.with_name(path.name + ".stripping")
        temporary.write_bytes(stripped)
        os.chmod(temporary, path.stat().st_mode)
        temporary.replace(path)
        saved += len(data) - len(stripped)
    return saved


if __name__ == "__main__":
    total = sum(strip_tree(Path(arg)) for arg in sys.argv[1:])
    print(f"strip_debug_info: {total / 1e6:.1f} MB of debugging sections dropped")
