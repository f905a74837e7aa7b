"""Two or more runs of a notebook side by side: their runs, tracked cell source, figures and
metric histories; and one artifact file of a run (figures), confined to the run's artifacts."""

from __future__ import annotations

import mimetypes
import os
import re
from dataclasses import dataclass
from pathlib import Path

from mlops_nb.config import Settings
from mlops_nb.server import runs, schemas
from mlops_nb.server.sqlite_store import NOTEBOOK_TAG, StoredRun, local_artifact_dir

CELL_SOURCE = "cell.py"
FIGURES = ("figures", "artifacts/figures")
MAX_SOURCE = 200_000
MAX_ARTIFACT = 20_000_000
SERVED = {".png": "image/png", ".json": "application/json", ".py": "text/plain; charset=utf-8"}
_RUN_ID = re.compile(r"^[0-9a-zA-Z_-]{1,64}$")


class NotFound(LookupError):
    """A run or artifact the request named does not exist (for this notebook)."""


def parse_ids(raw: str) -> list[str]:
    ids = list(dict.fromkeys(x.strip() for x in raw.split(",") if x.strip()))
    if not 2 <= len(ids) <= schemas.MAX_COMPARE:
        raise runs.BadQuery(f"'run_ids' must name 2 to {schemas.MAX_COMPARE} runs, got {len(ids)}")
    bad = [x for x in ids if not _RUN_ID.match(x)]
    if bad:
        raise runs.BadQuery(f"'run_ids' has malformed run id(s): {', '.join(bad)[:200]}")
    return ids


def notebook_runs(settings: Settings, notebook: Path, ids: list[str]) -> list[StoredRun]:
    """The runs ``ids`` in that order; each must belong to ``notebook``."""
    found = {r.run_id: r for r in runs.load_by_id(settings, ids)}
    missing = [i for i in ids if i not in found or found[i].tags.get(NOTEBOOK_TAG) != str(notebook)]
    if missing:
        raise NotFound(f"no run {', '.join(missing)} of this notebook (deleted, or another one's)")
    return [found[i] for i in ids]


def compare(
    settings: Settings, notebook: Path, rel_notebook: str, ids: list[str]
) -> schemas.CompareResponse:
    details = []
    for run in notebook_runs(settings, notebook, ids):
        folder = local_artifact_dir(run.artifact_uri)
        details.append(
            schemas.RunDetail(
                run=runs.serialize(run, settings),
                cell_source=_cell_source(folder, settings, run.run_id),
                figures=_figures(folder),
                history={
                    key: [schemas.MetricPoint(step=s, value=v, timestamp=t) for s, v, t in points]
                    for key, points in runs.history(settings, run.run_id).items()
                },
            )
        )
    return schemas.CompareResponse(notebook=rel_notebook, runs=details)


def _cell_source(folder: Path | None, settings: Settings, run_id: str) -> str | None:
    if folder is not None:
        path = _inside(folder, CELL_SOURCE)
        if path is None or not path.is_file():
            return None
        return path.read_text(encoding="utf-8", errors="replace")[:MAX_SOURCE]
    try:
        client = runs._client(settings.tracking_uri)
        text: str = client.download_artifacts(run_id, CELL_SOURCE)
        return Path(text).read_text(encoding="utf-8", errors="replace")[:MAX_SOURCE]
    except Exception:
        return None


def _figures(folder: Path | None) -> list[schemas.Figure]:
    if folder is None:
        return []
    out: list[schemas.Figure] = []
    for sub in FIGURES:
        base = _inside(folder, sub)
        if base is None or not base.is_dir():
            continue
        for entry in sorted(os.scandir(base), key=lambda e: e.name):
            if entry.is_symlink() or not entry.is_file():
                continue
            name = entry.name
            rel = f"{sub}/{name}"
            if name.endswith(".png"):
                out.append(schemas.Figure(name=name[:-4], kind="png", path=rel))
            elif name.endswith(".plotly.json"):
                out.append(
                    schemas.Figure(name=name[: -len(".plotly.json")], kind="plotly", path=rel)
                )
    return out


def _inside(folder: Path, relative: str) -> Path | None:
    """``folder/relative`` resolved, or None when it leaves ``folder`` (``..``, symlinks)."""
    if "\x00" in relative or len(relative) > schemas.MAX_PATH:
        return None
    try:
        base = folder.resolve()
        path = (base / relative).resolve()
    except (OSError, RuntimeError):
        return None
    return path if path.is_relative_to(base) and path != base else None


@dataclass(frozen=True)
class Artifact:
    body: bytes
    content_type: str


def artifact(settings: Settings, notebook: Path, run_id: str, relative: str) -> Artifact:
    """One figure or the cell source of a run of ``notebook`` (local artifact stores)."""
    (run,) = notebook_runs(settings, notebook, [run_id])
    folder = local_artifact_dir(run.artifact_uri)
    if folder is None:
        raise NotFound("this run's artifacts are not local files; open the run in the MLflow UI")
    path = _inside(folder, relative)
    if path is None:
        raise PermissionError(f"{relative!r} is outside the run's artifacts")
    suffix = path.suffix.lower()
    if suffix not in SERVED:
        raise PermissionError(f"{relative!r}: only {', '.join(SERVED)} artifacts are served")
    if not path.is_file():
        raise NotFound(f"run {run_id} has no artifact {relative!r}")
    if path.stat().st_size > MAX_ARTIFACT:
        raise PermissionError(f"{relative!r} is over {MAX_ARTIFACT // 1_000_000} MB")
    kind = SERVED.get(suffix) or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return Artifact(path.read_bytes(), kind)
