"""Safe by default: productionize's notebook run neutralises shell escapes and shell magics (canary
files survive), and --force never deletes a folder mlops-nb did not make, nor follows a link."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_shell_lines_do_not_run_and_are_listed(tmp_path: Path, copy_nb: Any) -> None:
    from mlops_nb.productionize.api import productionize

    nb = copy_nb("prod_shell.ipynb", tmp_path / "project" / "nb")
    canary = nb.parent / "canary.txt"
    canary.write_text("still here\n")
    before = sorted(p.name for p in tmp_path.rglob("*"))
    events: list[Any] = []
    result = productionize(nb, out=tmp_path / "svc", progress=events.append)
    assert result.ok, result.checks
    assert canary.read_text() == "still here\n"
    after = sorted(p.name for p in tmp_path.rglob("*") if not p.is_relative_to(tmp_path / "svc"))
    assert after == [*before]  # nothing created (created_by_*, the writefile outside) or deleted
    listed = [e.message for e in events if e.step == "notebook" and e.status == "info"]
    for line in (
        "neutralised ! rm -f canary.txt",
        "neutralised %sx touch created_by_sx.txt",
        "neutralised ! rm -f canary.txt && ls",
        "neutralised %%bash rm -f canary.txt",
        "neutralised %%sh touch created_by_sh.txt",
        "neutralised %%! touch created_by_bang_cell.txt",
        "neutralised %%script bash touch created_by_script.txt",
        "neutralised %system touch created_by_system.txt",
        "neutralised %pip install",
        "neutralised ! touch created_by_getoutput.txt",
        "neutralised %%bash touch created_by_cell_magic.txt",
    ):
        assert any(m.startswith(line) for m in listed), (line, listed)
    outside = next(m for m in listed if "escaped_by_writefile" in m)
    assert outside.endswith("not written (outside the notebook's folder)")
    inside = next(m for m in listed if "helper_written.py" in m)
    assert inside.endswith("written to productionize's scratch folder")


@pytest.mark.parametrize("kind", ["user folder", "symlink", "forged metadata"])
def test_force_refuses_what_mlops_nb_did_not_make(tmp_path: Path, copy_nb: Any, kind: str) -> None:
    from mlops_nb.exceptions import ConfigError
    from mlops_nb.productionize.api import productionize

    nb = copy_nb("prod_search_loop.ipynb", tmp_path / "nb")
    user = tmp_path / "user-files"
    (user / "app").mkdir(parents=True)
    (user / "app" / "main.py").write_text("canary\n")
    (user / "data.csv").write_text("a,b\n1,2\n")
    out = tmp_path / "nb" / "prod-search-loop-service"
    if kind == "symlink":
        out.symlink_to(user, target_is_directory=True)
    else:
        out = user
    if kind == "forged metadata":
        (user / "model").mkdir()
        (user / "model" / "metadata.json").write_text(json.dumps({"generated_by": "mlops-nb"}))
    with pytest.raises(ConfigError, match="symbolic link" if kind == "symlink" else "--force"):
        productionize(nb, out=out, force=True)
    assert (user / "app" / "main.py").read_text() == "canary\n"
    assert (user / "data.csv").read_text() == "a,b\n1,2\n"
    assert out.is_symlink() == (kind == "symlink")
    leftovers = [p.name for p in (tmp_path / "nb").iterdir() if p.name.startswith(".")]
    assert leftovers == []
