"""The Pipeline routes on the real pipeline library and the example wine pipeline."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest
from support import NOTEBOOKS
from tornado.httpclient import HTTPClientError


@pytest.fixture
def wine(jp_root_dir):
    shutil.copytree(NOTEBOOKS / "pipeline", jp_root_dir / "wine")
    return jp_root_dir / "wine"


async def status(jp_fetch, notebook):
    response = await jp_fetch("mlops-nb", "pipeline", params={"notebook": notebook})
    return json.loads(response.body)


async def test_steps_and_cache_state_of_the_pipeline_next_to_the_notebook(jp_fetch, wine):
    data = await status(jp_fetch, "wine/train.ipynb")
    assert data["exists"] is True and data["path"] == "wine/pipeline.yaml"
    steps = {s["name"]: s for s in data["steps"]}
    assert list(steps) == ["prepare", "train", "evaluate"]
    assert steps["train"]["needs"] == ["prepare"]
    assert {s["cache_state"] for s in steps.values()} == {"never-run"}


async def test_an_invalid_pipeline_yaml_is_422_naming_the_file(jp_fetch, wine):
    (wine / "pipeline.yaml").write_text("name: broken\nsteps:\n  - name: a\n    needs: [nope]\n")
    with pytest.raises(HTTPClientError) as info:
        await status(jp_fetch, "wine/train.ipynb")
    assert info.value.code == 422
    assert "wine/pipeline.yaml" in json.loads(info.value.response.body)["message"]


async def test_running_one_step_in_the_background_reports_progress(jp_fetch, wine, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{wine / 'mlflow.db'}")
    response = await jp_fetch(
        "mlops-nb",
        "pipeline",
        "run",
        method="POST",
        body=json.dumps({"notebook": "wine/train.ipynb", "only": "prepare"}),
    )
    job = json.loads(response.body)
    assert response.code == 202
    for _ in range(600):
        job = json.loads((await jp_fetch("mlops-nb", "jobs", job["id"])).body)
        if job["state"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.2)
    assert job["state"] == "succeeded", job["error"]
    assert any(e.get("step") == "prepare" for e in job["events"]), job["events"]
    assert (wine / "data" / "train.csv").is_file()
    data = await status(jp_fetch, "wine/train.ipynb")
    prepare = next(s for s in data["steps"] if s["name"] == "prepare")
    assert prepare["last_status"] == "FINISHED"
