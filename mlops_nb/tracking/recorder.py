"""From a finished cell to an outbox record: the only tracking work on the cell's critical path.

Builds the record (params, metrics, tags) from a :class:`~mlops_nb.tracking.capture.Capture` and
snapshots what could change after the cell returns: fitted models (pickled now, so refitting in
the next cell cannot alter what is logged), their input examples, dataset digests, figures. The
slow parts (MLflow, signatures, git, pip freeze, HTML) happen later in the writer.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import traceback
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.tracking import capture as cap
from mlops_nb.tracking import context, estimators
from mlops_nb.tracking.outbox import Writer, new_record_id

EXAMPLE_ROWS = 5
_HASH_LIMIT = 64 * 1024 * 1024  # bytes hashed in full; larger data is digested from a sample


@dataclass
class CellRun:
    """One execution of a tracked block, as the recorder needs it."""

    source: str
    started: float  # time.time()
    duration: float
    namespace: Mapping[str, Any]
    capture: cap.Capture
    error: BaseException | None = None
    experiment: str | None = None
    run_name: str | None = None
    user_tags: dict[str, str] = field(default_factory=dict)
    cell_id: str | None = None
    cell_key: str = ""
    execution_count: int | None = None
    displayed_images: list[bytes] = field(default_factory=list)
    displayed_plotly: list[dict[str, Any]] = field(default_factory=list)
    log_env: bool = True
    log_notebook: bool = True


def status_of(error: BaseException | None) -> str:
    if error is None:
        return "FINISHED"
    if isinstance(error, KeyboardInterrupt):
        return "KILLED"
    return "FAILED"


def build(
    run: CellRun,
    *,
    tracking_uri: str,
    notebook: context.NotebookPath,
    parent_run_id: str | None,
    parent_record_id: str | None = None,
) -> tuple[dict[str, Any], dict[str, bytes | Writer]]:
    """The record and the files to write with it."""
    record_id = new_record_id()
    files: dict[str, bytes | Writer] = {}
    status = status_of(run.error)
    tags = {
        "mlops_nb.version": __version__,
        "mlops_nb.notebook": notebook.path or context.UNKNOWN,
        "mlops_nb.notebook_name": notebook.name,
        "mlops_nb.notebook_path_source": notebook.source,
        "mlops_nb.cell_key": run.cell_key,
        "mlops_nb.kind": "cell",
        "mlops_nb.python": context.python_version(),
        "mlflow.source.type": "NOTEBOOK",
        "mlflow.source.name": notebook.path or "<unknown notebook>",
    }
    if run.cell_id:
        tags["mlops_nb.cell_id"] = run.cell_id
    if run.execution_count is not None:
        tags["mlops_nb.execution_count"] = str(run.execution_count)
    tags["mlops_nb.duration_s"] = f"{run.duration:.3f}"
    for note in run.capture.notes:
        tags.setdefault("mlops_nb.notes", "")
        tags["mlops_nb.notes"] = (tags["mlops_nb.notes"] + "\n" + note).strip()
    if run.error is not None:
        tags["mlops_nb.error"] = f"{type(run.error).__name__}: {run.error}"[:5000]
        tb = "".join(
            traceback.format_exception(type(run.error), run.error, run.error.__traceback__)
        )
        files["artifacts/traceback.txt"] = tb.encode()
    tags.update(run.user_tags)

    models, datasets = [], []
    for fm in run.capture.models:
        spec, model_files, data = _snapshot_model(fm)
        models.append(spec)
        files.update(model_files)
        datasets.extend(data)
    plotly = []
    for i, fig_json in enumerate(run.displayed_plotly):
        name = f"plotly_{i + 1}"
        files[f"figures/{name}.json"] = json.dumps(fig_json).encode()
        plotly.append({"name": name, "file": f"figures/{name}.json"})
    for name, fig in run.capture.plotly_figures.items():
        files[f"figures/{name}.json"] = fig.to_json().encode()
        plotly.append({"name": name, "file": f"figures/{name}.json"})
        files[f"artifacts/figures/{name}.plotly.json"] = files[f"figures/{name}.json"]
    for i, png in enumerate(run.displayed_images):
        files[f"artifacts/figures/figure_{i + 1}.png"] = png
    for fig in run.capture.open_figures:
        files[f"artifacts/figures/matplotlib_{fig.number}.png"] = _png(fig)

    end = run.started + run.duration
    record = {
        "record_id": record_id,
        "format": 1,
        "tracking_uri": tracking_uri,
        "experiment": run.experiment or (notebook.stem if notebook.path else "Default"),
        "run_name": run.run_name,
        "parent_run_id": parent_run_id,
        "parent_record_id": parent_record_id,
        "start_time": int(run.started * 1000),
        "end_time": int(end * 1000),
        "status": status,
        "params": run.capture.params,
        "metrics": run.capture.metrics,
        "tags": tags,
        "models": models,
        "datasets": datasets,
        "plotly": plotly,
        "figure_count": len(plotly) + len(run.displayed_images) + len(run.capture.open_figures),
        "context": {
            "notebook": notebook.path if run.log_notebook else None,
            "cell_id": run.cell_id,
            "cell_source": run.source,
            "cwd": str(Path.cwd()),
            "env": run.log_env,
        },
    }
    return record, files


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    return buf.getvalue()


def _example(data: Any) -> Any:
    if data is None:
        return None
    if hasattr(data, "iloc"):
        return data.iloc[:EXAMPLE_ROWS].copy()
    try:
        import numpy as np

        arr = np.asarray(data)
    except Exception:
        return None
    return arr[:EXAMPLE_ROWS].copy() if arr.ndim >= 1 else None


def digest(data: Any) -> tuple[str, dict[str, Any]]:
    """A content digest and a small profile (shape, columns) of a frame, Series or array.

    Frames and Series are hashed by value (``pandas.util.hash_pandas_object``, without the
    index) plus their column names / name and dtypes; arrays by their bytes, dtype and shape.
    Data above 64 MiB is digested from an evenly spaced sample of rows (said in the profile).
    """
    h = hashlib.blake2b(digest_size=8)
    profile: dict[str, Any] = {}
    shape = getattr(data, "shape", None)
    if shape is not None:
        profile["shape"] = [int(n) for n in shape]
        profile["num_rows"] = int(shape[0]) if shape else 1
    if hasattr(data, "dtypes") and hasattr(data, "columns"):
        profile["columns"] = {str(c): str(t) for c, t in data.dtypes.items()}
    elif hasattr(data, "dtype") and hasattr(data, "iloc"):
        profile["dtype"] = str(data.dtype)
    try:
        if hasattr(data, "iloc"):
            _digest_pandas(h, data, profile)
        else:
            _digest_array(h, data, profile)
        h.update(repr(shape).encode())
    except Exception as exc:
        profile["digest_error"] = f"{type(exc).__name__}: {exc}"
        h.update(repr((type(data).__name__, shape)).encode())
    return h.hexdigest(), profile


def _digest_pandas(h: Any, data: Any, profile: dict[str, Any]) -> None:
    import numpy as np
    import pandas as pd

    size = int(np.sum(data.memory_usage(deep=False)))  # an int for a Series, a Series for a frame
    step = 1 if size < _HASH_LIMIT else max(1, len(data) // 100_000)
    if step > 1:
        profile["digest_sample_every"] = step
    sample = data.iloc[::step]
    h.update(pd.util.hash_pandas_object(sample, index=False).to_numpy().tobytes())
    if hasattr(data, "columns"):
        h.update(repr([(str(c), str(t)) for c, t in data.dtypes.items()]).encode())
    else:
        h.update(repr((data.name, str(data.dtype))).encode())


def _digest_array(h: Any, data: Any, profile: dict[str, Any]) -> None:
    import numpy as np

    arr = np.asarray(data)
    step = 1
    if arr.nbytes >= _HASH_LIMIT and arr.ndim >= 1:
        step = max(1, arr.shape[0] // 100_000)
        profile["digest_sample_every"] = step
    raw = arr[::step] if arr.ndim >= 1 else arr
    if raw.dtype.kind == "O":  # object arrays: hash their values, not their pointers
        import pandas as pd

        flat = pd.Series(raw.reshape(-1), dtype=object)
        h.update(pd.util.hash_pandas_object(flat, index=False).to_numpy().tobytes())
    else:
        h.update(np.ascontiguousarray(raw).tobytes())
    h.update(str(arr.dtype).encode())


#: import names whose distribution is named otherwise (the rest are looked up as they are)
_DISTRIBUTION_OF = {"sklearn": "scikit-learn"}


def _requirements(modules: frozenset[str]) -> list[str]:
    """Pinned from the running environment, so MLflow does not re-infer them (seconds): the
    scientific stack plus the distributions of every top-level package the model is made of.

    An import name is first tried as a distribution name (``xgboost``, ``lightgbm``: a few
    milliseconds); only a package that is not (``xgboost`` installed as ``xgboost-cpu``, a
    user's own package) pays for the scan of every installed distribution (about 0.2 s)."""
    reqs = {"scikit-learn", "cloudpickle", "numpy", "pandas", "scipy"}
    for top in modules:
        name = _DISTRIBUTION_OF.get(top, top)
        if context.version_of(name):
            reqs.add(name)
        else:
            reqs.update(_installed_distributions().get(top, []))
    pinned = []
    for name in sorted(reqs):
        version = context.version_of(name)
        if version:
            pinned.append(f"{name}=={version}")
    return pinned


@functools.lru_cache(maxsize=1)
def _installed_distributions() -> Mapping[str, list[str]]:
    try:
        from importlib import metadata

        return metadata.packages_distributions()
    except Exception:
        return {}


_REQ_CACHE: dict[frozenset[str], list[str]] = {}


class Pickled:
    """A file of the record: ``obj`` pickled when the record is written (or held in memory)."""

    def __init__(self, obj: Any) -> None:
        self.obj = obj

    def __call__(self, path: Path) -> None:
        import cloudpickle

        with open(path, "wb") as fh:
            cloudpickle.dump(self.obj, fh, protocol=5)

    def to_bytes(self) -> bytes:
        import cloudpickle

        return bytes(cloudpickle.dumps(self.obj, protocol=5))


def materialize(files: dict[str, bytes | Writer]) -> dict[str, bytes]:
    """The record's files as bytes, to keep in memory while the outbox cannot be written."""
    out: dict[str, bytes] = {}
    for rel, content in files.items():
        if isinstance(content, bytes):
            out[rel] = content
        elif isinstance(content, Pickled):
            out[rel] = content.to_bytes()
        else:
            import tempfile

            with tempfile.TemporaryDirectory() as tmp:
                target = Path(tmp) / "file"
                content(target)
                out[rel] = target.read_bytes()
    return out


def _snapshot_model(
    fm: cap.FittedModel,
) -> tuple[dict[str, Any], dict[str, bytes | Writer], list[dict[str, Any]]]:
    base = f"models/{fm.name}"
    files: dict[str, bytes | Writer] = {}
    model = fm.model
    files[f"{base}.pkl"] = Pickled(model)
    spec: dict[str, Any] = {
        "name": fm.name,
        "file": f"{base}.pkl",
        "class": f"{type(model).__module__}.{type(model).__name__}",
        "predict": estimators.predict_method(model),
    }
    key = estimators.packages_of(model)
    if key not in _REQ_CACHE:
        _REQ_CACHE[key] = _requirements(key)
    spec["requirements"] = _REQ_CACHE[key]
    example = _example(fm.x)
    if example is not None:
        files[f"{base}.example.pkl"] = Pickled(example)
        spec["example"] = f"{base}.example.pkl"
    datasets = []
    for expr, data, role in ((fm.x_expr, fm.x, "features"), (fm.y_expr, fm.y, "targets")):
        if data is None or expr is None:
            continue
        dig, profile = digest(data)
        item = {
            "name": expr,
            "digest": dig,
            "profile": profile,
            "context": "training",
            "role": role,
        }
        sample = _example(data)
        if sample is not None:
            path = f"datasets/{fm.name}.{role}.example.pkl"
            files[path] = Pickled(sample)
            item["example"] = path
        datasets.append(item)
    return spec, files, datasets


def plain_record(
    *,
    tracking_uri: str,
    experiment: str,
    run_name: str,
    start_time: float,
    end_time: float,
    status: str = "FINISHED",
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    tags: dict[str, str] | None = None,
    parent_run_id: str | None = None,
    parent_record_id: str | None = None,
) -> dict[str, Any]:
    """A record for a run that is not a cell (a pipeline, a cached step): same outbox, same
    exactly-once delivery. ``parent_record_id`` names an earlier record whose run becomes this
    run's parent once delivered; times are ``time.time()`` seconds."""
    return {
        "record_id": new_record_id(),
        "format": 1,
        "tracking_uri": tracking_uri,
        "experiment": experiment,
        "run_name": run_name,
        "parent_run_id": parent_run_id,
        "parent_record_id": parent_record_id,
        "start_time": int(start_time * 1000),
        "end_time": int(end_time * 1000),
        "status": status,
        "params": {k: cap.param_value(v) for k, v in (params or {}).items()},
        "metrics": dict(metrics or {}),
        "tags": {"mlops_nb.version": __version__, **(tags or {})},
        "models": [],
        "datasets": [],
        "plotly": [],
        "context": {"notebook": None, "cell_source": None, "env": False},
    }
