"""Long work runs as a background job: 202 with a job id, progress events, then the result.

The productionize and pipeline libraries are other parts of mlops-nb; here their functions are
replaced by small in-process ones that report and return the libraries' *real* types
(``ProductionizeEvent``/``ProductionizeResult``, ``PipelineEvent``/``PipelineResult``), so the job
machinery and the routes are tested on their own. 501 is what a user sees while a part is not
installed.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
import types
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from mlops_nb.pipeline.api import StepStatus
from mlops_nb.pipeline.runner import PipelineEvent, PipelineResult, StepResult
from mlops_nb.productionize.result import Check, ProductionizeEvent, ProductionizeResult
from mlops_nb.server.schemas import Job


def made(service_dir: Path) -> ProductionizeResult:
    """A result as the real productionize returns it (absolute paths)."""
    return ProductionizeResult(
        service_dir=service_dir,
        train_py=service_dir / "train.py",
        features_py=None,
        image=None,
        checks=[Check("fidelity", True, "identical predictions on 30 held-out rows")],
        start_command=f"mlops-nb serve {service_dir}",
        input_columns=["age", "income"],
        model_var="model",
        takes_raw_columns=False,
        dropped=[{"cell": 3, "what": "df.head()", "reason": "display only"}],
        next_commands=[f"mlops-nb serve {service_dir}"],
        seconds=1.5,
    )


def fake_library(monkeypatch, module: str, **functions):
    lib = types.ModuleType(module)
    for name, fn in functions.items():
        setattr(lib, name, fn)
    monkeypatch.setitem(sys.modules, module, lib)
    return lib


async def post(jp_fetch, route, body):
    response = await jp_fetch("mlops-nb", *route.split("/"), method="POST", body=json.dumps(body))
    return response.code, json.loads(response.body)


async def poll(jp_fetch, job_id, timeout=20.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = json.loads((await jp_fetch("mlops-nb", "jobs", job_id)).body)
        if job["state"] not in ("queued", "running"):
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job['state']}"
        await asyncio.sleep(0.05)


async def test_productionize_job_streams_progress_then_the_service(jp_fetch, store, monkeypatch):
    release = threading.Event()
    calls = []

    def productionize(notebook, *, out=None, build=False, force=False, progress=None, **_):
        calls.append((notebook, out, build, force))
        progress(ProductionizeEvent("extract", "start", "reading train.ipynb", 0.0))
        assert release.wait(10)
        progress(ProductionizeEvent("render", "done", "service for 2 input column(s)", 1.2))
        return made(notebook.parent / "train-service")

    fake_library(monkeypatch, "mlops_nb.productionize.api", productionize=productionize)
    fake_library(monkeypatch, "mlops_nb.productionize.steps", service_name=lambda nb, name: "train")
    code, job = await post(jp_fetch, "productionize", {"notebook": "train.ipynb", "force": True})
    assert code == 202 and job["state"] in ("queued", "running") and job["kind"] == "productionize"

    # a second click while it runs does not start a second job
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, "productionize", {"notebook": "train.ipynb"})
    assert info.value.code == 409
    assert json.loads(info.value.response.body)["job_id"] == job["id"]

    for _ in range(100):  # the first event is visible while the job still runs
        running = json.loads((await jp_fetch("mlops-nb", "jobs", job["id"])).body)
        if running["events"]:
            break
        await asyncio.sleep(0.05)
    assert running["state"] == "running"
    assert running["events"] == [
        {
            "event": "ProductionizeEvent",
            "step": "extract",
            "status": "start",
            "message": "reading train.ipynb",
            "elapsed": 0.0,
        }
    ]
    release.set()
    done = await poll(jp_fetch, job["id"])
    assert done["state"] == "succeeded", done["error"]
    assert [e["step"] for e in done["events"]] == ["extract", "render"]
    Job.model_validate(done)  # the typed contract the panel's TypeScript is generated from
    result = done["result"]
    # paths relative to the root (what the panel shows); the rest as the library made it
    assert result["service_dir"] == "train-service"
    assert result["train_py"] == "train-service/train.py"
    assert result["checks"] == [
        {"name": "fidelity", "passed": True, "detail": "identical predictions on 30 held-out rows"}
    ]
    assert result["input_columns"] == ["age", "income"] and result["ok"] is True
    assert result["start_command"] == "mlops-nb serve train-service"  # from the root
    assert result["next_commands"] == ["mlops-nb serve train-service"]
    # the service goes next to the notebook, whatever the server's working directory
    assert calls == [(store["train"], store["train"].parent / "train-service", False, True)]
    later = json.loads((await jp_fetch("mlops-nb", "jobs", job["id"], params={"since": "1"})).body)
    assert [e["step"] for e in later["events"]] == ["render"] and later["n_events"] == 2
    listed = json.loads((await jp_fetch("mlops-nb", "jobs")).body)["jobs"]
    assert [j["id"] for j in listed] == [job["id"]]


async def test_a_failing_job_reports_the_error_message(jp_fetch, store, monkeypatch):
    def productionize(notebook, **_):
        raise ValueError(f"{notebook.name}: no cell fits a model; tag one with 'train'")

    fake_library(monkeypatch, "mlops_nb.productionize.api", productionize=productionize)
    fake_library(monkeypatch, "mlops_nb.productionize.steps", service_name=lambda nb, name: "t")
    _, job = await post(jp_fetch, "productionize", {"notebook": "train.ipynb", "build": True})
    done = await poll(jp_fetch, job["id"])
    assert done["state"] == "failed"
    assert done["error"] == "train.ipynb: no cell fits a model; tag one with 'train'"


async def test_pipeline_run_job_passes_options_and_returns_the_result(
    jp_fetch, store, jp_root_dir, monkeypatch
):
    (jp_root_dir / "pipeline.yaml").write_text("steps: {}\n")
    seen = {}

    def run_pipeline(path, *, only=None, from_step=None, force=False, progress=None, **_):
        seen.update(path=path, only=only, from_step=from_step, force=force)
        progress(PipelineEvent("started", "prepare", "RUNNING"))
        return PipelineResult(
            pipeline=path,
            status="FINISHED",
            steps={"prepare": StepResult("prepare", "FINISHED", run_id="r1", duration=1.0)},
            run_id="p1",
        )

    fake_library(monkeypatch, "mlops_nb.pipeline.api", run_pipeline=run_pipeline)
    code, job = await post(
        jp_fetch, "pipeline/run", {"notebook": "train.ipynb", "force": True, "only": "prepare"}
    )
    assert code == 202
    done = await poll(jp_fetch, job["id"])
    assert done["state"] == "succeeded", done["error"]
    Job.model_validate(done)
    assert done["result"]["pipeline"] == "pipeline.yaml"
    assert done["result"]["steps"]["prepare"]["status"] == "FINISHED"
    assert done["events"][0]["kind"] == "started" and done["events"][0]["step"] == "prepare"
    assert seen == {
        "path": jp_root_dir / "pipeline.yaml",
        "only": "prepare",
        "from_step": None,
        "force": True,
    }


async def test_pipeline_status_lists_the_steps(jp_fetch, store, jp_root_dir, monkeypatch):
    (jp_root_dir / "pipeline.yaml").write_text("steps: {}\n")

    def pipeline_status(path):
        assert path == jp_root_dir / "pipeline.yaml"
        nb = str(jp_root_dir / "train.ipynb")
        return [
            StepStatus("prepare", (), "cached", "FINISHED", "r1", nb, ("data.csv",), "unchanged"),
            StepStatus("train", ("prepare",), "stale", None, None, nb, (), "inputs changed"),
        ]

    fake_library(monkeypatch, "mlops_nb.pipeline.api", pipeline_status=pipeline_status)
    data = json.loads(
        (await jp_fetch("mlops-nb", "pipeline", params={"notebook": "train.ipynb"})).body
    )
    assert data["exists"] is True and data["path"] == "pipeline.yaml"
    assert [s["name"] for s in data["steps"]] == ["prepare", "train"]
    assert data["steps"][1] == {
        "name": "train",
        "needs": ["prepare"],
        "cache_state": "stale",
        "last_status": None,
        "last_run_id": None,
        "notebook": "train.ipynb",
        "outputs": [],
        "reason": "inputs changed",
        "last_error": None,
        "failed_cell": None,
    }


async def test_invalid_pipeline_yaml_is_422_with_the_reason(
    jp_fetch, store, jp_root_dir, monkeypatch
):
    (jp_root_dir / "pipeline.yaml").write_text("steps: [\n")

    def pipeline_status(path):
        raise ValueError("line 1: expected a mapping of steps")

    fake_library(monkeypatch, "mlops_nb.pipeline.api", pipeline_status=pipeline_status)
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", "pipeline", params={"notebook": "train.ipynb"})
    assert info.value.code == 422
    assert "expected a mapping" in json.loads(info.value.response.body)["message"]


async def test_no_pipeline_yaml_says_so(jp_fetch, store):
    data = json.loads(
        (await jp_fetch("mlops-nb", "pipeline", params={"notebook": "train.ipynb"})).body
    )
    assert data == {"path": "pipeline.yaml", "exists": False, "steps": []}


async def test_pipeline_run_without_pipeline_yaml_is_404(jp_fetch, store):
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, "pipeline/run", {"notebook": "train.ipynb"})
    assert info.value.code == 404
    assert "pipeline.yaml" in json.loads(info.value.response.body)["message"]


@pytest.mark.parametrize(
    ("route", "body", "fragment"),
    [
        ("productionize", {"notebook": "train.ipynb", "build": "yes"}, "build"),
        ("productionize", {"notebook": "train.ipynb", "force": "no"}, "force"),
        ("pipeline/run", {"notebook": "train.ipynb", "force": 1}, "force"),
        ("pipeline/run", {"notebook": "train.ipynb", "only": ["train"]}, "only"),
        ("pipeline/run", {"notebook": "train.ipynb", "from_step": 3}, "from_step"),
    ],
)
async def test_bad_options_are_400(jp_fetch, store, jp_root_dir, route, body, fragment):
    (jp_root_dir / "pipeline.yaml").write_text("steps: {}\n")
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, route, body)
    assert info.value.code == 400
    assert fragment in json.loads(info.value.response.body)["message"]


@pytest.mark.parametrize(
    ("route", "module"),
    [("productionize", "mlops_nb.productionize.api"), ("pipeline/run", "mlops_nb.pipeline.api")],
)
async def test_a_missing_part_is_501_with_what_to_install(
    jp_fetch, store, jp_root_dir, monkeypatch, route, module
):
    (jp_root_dir / "pipeline.yaml").write_text("steps: {}\n")
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    with pytest.raises(HTTPClientError) as info:
        await post(jp_fetch, route, {"notebook": "train.ipynb"})
    assert info.value.code == 501
    assert "pip install" in json.loads(info.value.response.body)["message"]


async def test_unknown_job_is_404(jp_fetch, store):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", "jobs", "deadbeef")
    assert info.value.code == 404
    assert "deadbeef" in json.loads(info.value.response.body)["message"]
