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


def test_a_failed_steps_cell_is_found_from_the_runners_message(tmp_path):
    import nbformat

    from mlops_nb.pipeline.notebook import CellFailure
    from mlops_nb.server.pipeline import failed_cell

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_markdown_cell("# then"),
        nbformat.v4.new_code_cell("raise ValueError('bad rows')"),
    ]
    path = tmp_path / "step.ipynb"
    nbformat.write(nb, path)
    message = CellFailure(2, 3, "ValueError", "bad rows", nb.cells[2].source).describe()
    found = failed_cell(path, message)
    assert found is not None
    assert found.number == 3 and found.source == "raise ValueError('bad rows')"
    assert found.error == message
    assert failed_cell(path, None) is None
    assert failed_cell(path, "the kernel died").number is None


def test_library_messages_name_paths_relative_to_the_root(tmp_path):
    from mlops_nb.server.pipeline import in_root

    root = tmp_path / "root"
    root.mkdir()
    message = f"cell #3 raised ValueError: boom; executed notebook kept at {root}/pipe/out/c.ipynb"
    assert in_root(root, message).endswith("kept at pipe/out/c.ipynb")
    # a sibling folder whose name starts like the root's is not inside it
    assert in_root(root, f"read {root}x/data.csv") == f"read {root}x/data.csv"
