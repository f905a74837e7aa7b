"""Turn one outbox record into one MLflow run, resumably and exactly once.

Two phases. :func:`prepare` runs once, as soon as the background writer sees the record, and needs
no tracking server: it adds what is too slow for the cell's critical path (git state, environment,
notebook snapshot, plotly HTML). :func:`deliver` then talks to MLflow in stages; each finished
stage is written to ``state.json``, so a retry after a crash or an outage resumes where it stopped.
The run is created with a ``mlops_nb.record_id`` tag, so even a crash between "run created" and
"state saved" is recovered by a search rather than creating a second run.
"""

from __future__ import annotations

import contextlib
import json
import pickle
import time
from pathlib import Path
from typing import Any

from mlops_nb.tracking import context, store
from mlops_nb.tracking.diskio import atomic_write
from mlops_nb.tracking.outbox import DeliveryState

PREPARED = "prepared"
STAGES = ("run", "data", "artifacts", "inputs", "models", "terminated")


def prepare(folder: Path, record: dict[str, Any]) -> None:
    """Add context files to a record (idempotent; offline)."""
    marker = folder / ".prepared"
    if marker.exists():
        return
    ctx = record.get("context", {})
    artifacts = folder / "artifacts"
    artifacts.mkdir(exist_ok=True)
    if ctx.get("cell_source") is not None:
        (artifacts / "cell.py").write_text(ctx["cell_source"])
    tags: dict[str, str] = {}
    notebook = ctx.get("notebook")
    if notebook and Path(notebook).is_file():
        target = artifacts / "notebook" / Path(notebook).name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(Path(notebook).read_bytes())
        if not ctx.get("cell_id"):
            cell_id = context.notebook_cell_id(notebook, ctx.get("cell_source", ""))
            if cell_id:
                tags["mlops_nb.cell_id"] = cell_id
    git_dir = Path(notebook).parent if notebook else Path(ctx.get("cwd") or ".")
    git = _git_state(git_dir)
    if git is not None:
        tags["mlflow.source.git.commit"] = git.commit
        tags["mlops_nb.git.dirty"] = str(git.dirty).lower()
        if git.branch:
            tags["mlflow.source.git.branch"] = git.branch
        if git.remote:
            tags["mlflow.source.git.repoURL"] = git.remote
        if git.dirty and git.diff:
            (artifacts / "git").mkdir(parents=True, exist_ok=True)
            (artifacts / "git" / "uncommitted.diff").write_text(git.diff)
    if ctx.get("env", True):
        (artifacts / "environment").mkdir(parents=True, exist_ok=True)
        (artifacts / "environment" / "requirements.txt").write_text(context.pip_freeze())
        summary = json.dumps(context.environment_summary(), indent=2)
        (artifacts / "environment" / "python.json").write_text(summary)
    for item in record.get("plotly", []):
        _plotly_html(folder / item["file"], artifacts / "figures" / f"{item['name']}.html")
    atomic_write(folder / "context_tags.json", json.dumps(tags))
    marker.touch()


_GIT_TTL = 5.0
_git_cache: dict[Path, tuple[float, Any]] = {}


def _git_state(folder: Path) -> Any:
    """``context.git_state``, reused for a few seconds: a backlog of runs from one notebook
    folder is prepared without four git processes per run."""
    now = time.monotonic()
    folder = folder.resolve()  # "." is another folder after a chdir
    hit = _git_cache.get(folder)
    if hit is None or now - hit[0] > _GIT_TTL:
        hit = (now, context.git_state(folder))
        _git_cache[folder] = hit
    return hit[1]


def _plotly_html(source: Path, target: Path) -> None:
    try:
        import plotly.io as pio

        figure = pio.from_json(source.read_text())
        target.parent.mkdir(parents=True, exist_ok=True)
        figure.write_html(str(target), include_plotlyjs=True, full_html=True)
    except Exception as exc:  # keep the JSON: it is still a faithful copy of the figure
        target.with_suffix(".error.txt").write_text(f"could not render HTML: {exc}")


_EXPERIMENT_TTL = 30.0
_experiments: dict[tuple[str, str], tuple[float, str]] = {}


def _experiment_id(client: Any, name: str, *, fresh: bool = False) -> str:
    """The id of experiment ``name``, remembered for a while per store and process (a backlog
    of 100 runs of one notebook asks once, not 100 times; an experiment renamed in the UI is
    seen again within ``_EXPERIMENT_TTL`` s); ``fresh`` looks it up now."""
    key = (client.tracking_uri, name)
    hit = _experiments.get(key)
    if not fresh and hit is not None and time.monotonic() - hit[0] < _EXPERIMENT_TTL:
        return hit[1]
    from mlops_nb.experiments import get_or_create

    if store.sqlite_path(client.tracking_uri) is not None:
        from mlflow.exceptions import MlflowException

        if client.get_experiment_by_name(name) is None:  # artifacts next to the sqlite file
            with contextlib.suppress(MlflowException):  # created meanwhile: found below
                store.create_experiment(client, name)
    experiment_id = get_or_create(client, name)
    _experiments[key] = (time.monotonic(), experiment_id)
    return experiment_id


def _still_active(client: Any, experiment_id: str) -> bool:
    """Whether the experiment exists and is active (True when the store cannot say)."""
    from mlflow.exceptions import MlflowException

    try:
        return bool(client.get_experiment(experiment_id).lifecycle_stage == "active")
    except MlflowException as exc:
        return store.classify(exc) is not store.Verdict.REJECTED  # gone: not active
    except Exception:
        return True


class ParentNotDelivered(LookupError):
    """The run this record nests under does not exist yet (its record is still queued, or a
    pipeline or sweep has not created it yet): try again later; not a failed attempt."""


def _find_run(client: Any, experiment_id: str, record_id: str) -> str | None:
    runs = client.search_runs(
        [experiment_id], filter_string=f"tags.`mlops_nb.record_id` = '{record_id}'", max_results=1
    )
    return runs[0].info.run_id if runs else None


def _parent_from_record(client: Any, experiment_id: str, record_id: str | None) -> str | None:
    """The run of an earlier record (delivered first: the outbox is ordered)."""
    if not record_id:
        return None
    run_id = _find_run(client, experiment_id, record_id)
    if run_id is None:
        raise ParentNotDelivered(f"parent record {record_id} is not delivered yet")
    return run_id


def deliver(folder: Path, record: dict[str, Any], state: DeliveryState) -> DeliveryState:
    """Log the record to MLflow; raises on failure with ``state`` saved up to the last stage."""
    from mlflow.entities import Metric, Param

    client = store.open_client(record["tracking_uri"])

    def done(stage: str) -> None:
        state.done.append(stage)
        state.save(folder)

    if "run" not in state.done:
        _create_run(client, folder, record, state)
        done("run")
    run_id = state.run_id
    assert run_id is not None

    if "data" not in state.done:
        stamp = record["end_time"]
        client.log_batch(
            run_id,
            metrics=[Metric(k, float(v), stamp, 0) for k, v in record["metrics"].items()],
            params=[Param(k, str(v)) for k, v in record["params"].items()],
        )
        done("data")

    if "artifacts" not in state.done:
        artifacts = folder / "artifacts"
        if artifacts.is_dir() and any(artifacts.iterdir()):
            store.log_artifacts(client, run_id, state.artifact_uri, artifacts)
        done("artifacts")

    if "inputs" not in state.done:
        _log_datasets(client, run_id, folder, record)
        done("inputs")

    for model in record.get("models", []):
        stage = f"model:{model['name']}"
        if stage not in state.done:
            _log_model(client, run_id, state.experiment_id, folder, model)
            done(stage)

    if "terminated" not in state.done:
        client.set_terminated(run_id, status=record["status"], end_time=record["end_time"])
        done("terminated")
    return state


def _create_run(client: Any, folder: Path, record: dict[str, Any], state: DeliveryState) -> None:
    """Create the record's run (with every tag: the record's and the prepared context's), or
    find the one an interrupted attempt created. ``state.creating`` is saved before the store is
    asked, so only a record whose earlier attempt got that far needs the search, or a ``shared``
    record: one whose record id other records (or live runs) also use, e.g. the pipeline run the
    tasks of one orchestrator run share."""
    experiment = record["experiment"]
    state.experiment_id = state.experiment_id or _experiment_id(client, experiment)
    if state.creating or record.get("shared"):
        state.run_id = _find_run(client, state.experiment_id, record["record_id"])
        if state.run_id is not None:
            return
    ctx_tags = json.loads((folder / "context_tags.json").read_text())
    tags = {**record["tags"], **ctx_tags, "mlops_nb.record_id": record["record_id"]}
    parent = record.get("parent_run_id") or _parent_from_record(
        client, state.experiment_id, record.get("parent_record_id")
    )
    if parent:
        tags["mlflow.parentRunId"] = parent
    tags = {k: str(v) for k, v in tags.items()}
    state.creating = True
    state.save(folder)

    def create(experiment_id: str) -> Any:
        return client.create_run(
            experiment_id,
            start_time=record["start_time"],
            tags=tags,
            run_name=record.get("run_name"),
        )

    try:
        run = create(state.experiment_id)
    except Exception:
        if _still_active(client, state.experiment_id):
            raise
        # the remembered experiment was deleted meanwhile: look it up again (restores it)
        state.experiment_id = _experiment_id(client, experiment, fresh=True)
        run = create(state.experiment_id)
    state.run_id, state.artifact_uri = run.info.run_id, run.info.artifact_uri


def _load_pickle(path: Path) -> Any:
    with open(path, "rb") as fh:
        return pickle.load(fh)


def _log_datasets(client: Any, run_id: str, folder: Path, record: dict[str, Any]) -> None:
    datasets = record.get("datasets", [])
    if not datasets:
        return
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.types.utils import _infer_schema

    inputs = []
    for item in datasets:
        schema = ""
        if item.get("example"):
            try:
                schema = json.dumps(
                    {
                        "mlflow_colspec": _infer_schema(
                            _load_pickle(folder / item["example"])
                        ).to_dict()
                    }
                )
            except Exception:
                schema = ""
        dataset = Dataset(
            name=item["name"],
            digest=item["digest"],
            source_type="code",
            source=json.dumps(
                {"notebook": record["context"].get("notebook"), "expr": item["name"]}
            ),
            schema=schema,
            profile=json.dumps(item.get("profile", {})),
        )
        inputs.append(
            DatasetInput(
                dataset, tags=[InputTag("mlflow.data.context", item.get("context", "train"))]
            )
        )
    client.log_inputs(run_id, datasets=inputs)


def _logged_model(client: Any, experiment_id: str, run_id: str, name: str) -> tuple[str, bool]:
    """The LoggedModel for ``name`` of this run: (model id, already complete?). Created in the
    run's experiment (MLflow would otherwise put it in the default experiment)."""
    from mlflow.entities import LoggedModelStatus

    found = client.search_logged_models(
        experiment_ids=[experiment_id],
        filter_string=f"source_run_id = '{run_id}' AND name = '{name}'",
        max_results=1,
    )
    if found:
        return found[0].model_id, found[0].status == LoggedModelStatus.READY
    model = client.create_logged_model(experiment_id, name=name, source_run_id=run_id)
    return model.model_id, False


def _log_model(
    client: Any, run_id: str, experiment_id: str | None, folder: Path, spec: dict[str, Any]
) -> None:
    assert experiment_id is not None
    model_id, complete = _logged_model(client, experiment_id, run_id, spec["name"])
    if complete:
        return
    import mlflow.sklearn
    from mlflow.models import infer_signature

    model = _load_pickle(folder / spec["file"])
    example = _load_pickle(folder / spec["example"]) if spec.get("example") else None
    signature = None
    if example is not None:
        predictions = getattr(model, spec.get("predict", "predict"))(example)
        signature = infer_signature(example, predictions)
    from mlops_nb._global_uri import tracking_uri

    with tracking_uri(client.tracking_uri):  # log_model reads MLflow's process-wide URI
        mlflow.sklearn.log_model(
            model,
            name=spec["name"],
            run_id=run_id,
            model_id=model_id,
            signature=signature,
            input_example=example,
            pip_requirements=spec["requirements"],
            serialization_format="cloudpickle",
        )
