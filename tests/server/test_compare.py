"""GET /mlops-nb/runs/compare and /runs/artifact: runs side by side (cell source, figures,
metric history) and one figure file, confined to the run's artifacts."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from tornado.httpclient import HTTPClientError

from mlops_nb.server.schemas import CompareResponse

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def run_ids(root: Path, *names: str) -> list[str]:
    with sqlite3.connect(root / "mlflow.db") as con:
        found = dict(con.execute("SELECT name, run_uuid FROM runs"))
    return [found[n] for n in names]


@pytest.fixture
def artifacts(jp_root_dir: Path, store) -> dict[str, str]:
    """train-1 and train-2 with a cell source and figures, their artifacts in the root."""
    names = ("train-1", "train-2")
    ids = dict(zip(names, run_ids(jp_root_dir, *names), strict=True))
    fit = "model.fit(X, y)\n"
    sources = {"train-1": f"depth = 6\n{fit}", "train-2": f"depth = 3\n{fit}"}
    with sqlite3.connect(jp_root_dir / "mlflow.db") as con:
        for name, run_id in ids.items():
            folder = jp_root_dir / "artifacts" / run_id
            (folder / "artifacts" / "figures").mkdir(parents=True)
            (folder / "cell.py").write_text(sources[name])
            (folder / "artifacts" / "figures" / "confusion.png").write_bytes(PNG)
            (folder / "artifacts" / "figures" / "curve.plotly.json").write_text(
                json.dumps({"data": [{"type": "scatter", "y": [1, 2]}], "layout": {}})
            )
            con.execute(
                "UPDATE runs SET artifact_uri = ? WHERE run_uuid = ?", (str(folder), run_id)
            )
            con.execute(
                "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
                "VALUES ('rmse', 0.5, 1, ?, 1, 0)",
                (run_id,),
            )
    return ids


async def compare(jp_fetch, ids, notebook="train.ipynb"):
    params = {"notebook": notebook, "run_ids": ",".join(ids)}
    response = await jp_fetch("mlops-nb", "runs", "compare", params=params)
    return CompareResponse.model_validate_json(response.body)


async def failure(jp_fetch, *parts, **params):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", *parts, params=params)
    return info.value.code, json.loads(info.value.response.body)["message"]


async def test_two_runs_side_by_side_with_code_figures_and_history(jp_fetch, artifacts):
    data = await compare(jp_fetch, [artifacts["train-2"], artifacts["train-1"]])
    assert [d.run.name for d in data.runs] == ["train-2", "train-1"]
    two, one = data.runs
    assert one.cell_source == "depth = 6\nmodel.fit(X, y)\n"
    assert two.cell_source == "depth = 3\nmodel.fit(X, y)\n"
    assert [(f.name, f.kind, f.path) for f in one.figures] == [
        ("confusion", "png", "artifacts/figures/confusion.png"),
        ("curve", "plotly", "artifacts/figures/curve.plotly.json"),
    ]
    assert [(p.step, p.value) for p in one.history["rmse"]] == [(0, 0.5), (1, 0.5)]
    assert one.run.params == {"alpha": "0.01", "model": "ridge"}


async def test_runs_without_artifacts_have_no_source_and_no_figures(jp_fetch, store, jp_root_dir):
    data = await compare(jp_fetch, run_ids(jp_root_dir, "train-5", "train-6"))
    assert all(d.cell_source is None and d.figures == [] for d in data.runs)


async def test_a_figure_is_served_as_the_file_it_is(jp_fetch, artifacts):
    response = await jp_fetch(
        "mlops-nb",
        "runs",
        "artifact",
        params={
            "notebook": "train.ipynb",
            "run_id": artifacts["train-1"],
            "path": "artifacts/figures/confusion.png",
        },
    )
    assert response.headers["Content-Type"] == "image/png" and response.body == PNG


ARTIFACT_PROBES = [
    ("../../mlflow.db", 403),
    ("/etc/passwd", 403),
    ("artifacts/figures/../../../../mlflow.db", 403),
    ("link-out/secret.png", 403),  # a symlink out of the run's artifacts
    ("cell.sh", 403),  # not a figure or the cell source
    ("artifacts/figures/missing.png", 404),
    ("a" * 5000, 400),
]


async def test_artifact_paths_stay_inside_the_runs_artifacts(jp_fetch, artifacts, jp_root_dir):
    outside = jp_root_dir.parent / "secret-figures"
    outside.mkdir()
    (outside / "secret.png").write_bytes(PNG)
    folder = jp_root_dir / "artifacts" / artifacts["train-1"]
    (folder / "cell.sh").write_text("echo")
    (folder / "link-out").symlink_to(outside)
    for path, code in ARTIFACT_PROBES:
        status, message = await failure(
            jp_fetch,
            "runs",
            "artifact",
            notebook="train.ipynb",
            run_id=artifacts["train-1"],
            path=path,
        )
        assert status == code, (path[:40], message)


async def test_runs_of_another_notebook_are_404(jp_fetch, store, jp_root_dir):
    other = run_ids(jp_root_dir, "other-0")[0]
    train = run_ids(jp_root_dir, "train-1")[0]
    code, message = await failure(
        jp_fetch, "runs", "compare", notebook="train.ipynb", run_ids=f"{train},{other}"
    )
    assert code == 404 and other in message


@pytest.mark.parametrize(
    ("ids", "fragment"),
    [("abc", "2 to 10"), (",".join(f"r{i}" for i in range(11)), "2 to 10"), ("a,b'c", "malformed")],
)
async def test_bad_run_id_lists_are_400(jp_fetch, store, ids, fragment):
    code, message = await failure(jp_fetch, "runs", "compare", notebook="train.ipynb", run_ids=ids)
    assert code == 400 and fragment in message
