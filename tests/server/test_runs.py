"""GET /mlops-nb/runs: the runs of the open notebook, newest first, paginated server-side."""

from __future__ import annotations

import json
import shutil

import pytest
from server.panel_store import N_OTHER, N_TRAIN, T0, write_notebook
from support import free_port
from tornado.httpclient import HTTPClientError

from mlops_nb import __version__


async def get_json(jp_fetch, *parts, **params):
    response = await jp_fetch(*parts, params=params)
    assert response.headers["Content-Type"].startswith("application/json")
    return json.loads(response.body)


async def error_of(jp_fetch, *parts, method="GET", body=None, **params):
    kwargs = {"method": method, "params": params}
    if body is not None:
        kwargs["body"] = body
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch(*parts, **kwargs)
    payload = json.loads(info.value.response.body)
    assert isinstance(payload["message"], str) and payload["message"]
    return info.value.code, payload


async def test_version_is_the_python_package_version(jp_fetch, store):
    data = await get_json(jp_fetch, "mlops-nb", "version")
    assert data["version"] == __version__


async def test_first_page_is_newest_runs_of_this_notebook_only(jp_fetch, store):
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="5")
    assert data["notebook"] == "train.ipynb"
    assert [r["name"] for r in data["runs"]] == [f"train-{i}" for i in range(119, 114, -1)]
    first = data["runs"][0]
    assert first["status"] == "FINISHED"
    assert first["params"] == {"alpha": "1.19", "model": "ridge"}
    assert first["metrics"]["rmse"] == pytest.approx(1 / 120)
    assert first["duration_s"] == pytest.approx(2.0)
    assert first["start_time"] == T0 + 119_000
    assert first["cell_id"] == "cell-1" and first["cell_key"] == "key-1"
    assert first["url"].endswith(f"/#/experiments/{first['experiment_id']}/runs/{first['run_id']}")
    assert data["next_page_token"]


async def test_failed_runs_report_their_status(jp_fetch, store):
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="10")
    statuses = {r["name"]: r["status"] for r in data["runs"]}
    assert statuses["train-110"] == "FAILED"
    assert statuses["train-111"] == "FINISHED"


async def test_pages_cover_every_run_once(jp_fetch, store):
    seen: list[str] = []
    token = None
    pages = 0
    while True:
        params = {"notebook": "train.ipynb", "page_size": "50"}
        if token:
            params["page_token"] = token
        data = await get_json(jp_fetch, "mlops-nb", "runs", **params)
        seen += [r["name"] for r in data["runs"]]
        pages += 1
        token = data["next_page_token"]
        if not token:
            break
    assert pages == 3
    assert seen == [f"train-{i}" for i in range(N_TRAIN - 1, -1, -1)]


async def test_notebook_in_a_subfolder_reads_the_store_of_its_folder(jp_fetch, store, jp_root_dir):
    # its kernel runs in sub/, so MLflow's default sqlite:///mlflow.db is sub/mlflow.db
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="sub/other.ipynb")
    assert data["store_exists"] is False and data["runs"] == []
    assert data["tracking_uri"] == f"sqlite:///{(jp_root_dir / 'sub' / 'mlflow.db').resolve()}"
    shutil.copy(jp_root_dir / "mlflow.db", jp_root_dir / "sub" / "mlflow.db")
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="sub/other.ipynb")
    assert [r["name"] for r in data["runs"]] == [f"other-{i}" for i in range(N_OTHER - 1, -1, -1)]
    assert data["next_page_token"] is None


async def test_notebook_without_runs_is_an_empty_list(jp_fetch, store, jp_root_dir):
    write_notebook(jp_root_dir / "new.ipynb")
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="new.ipynb")
    assert data["runs"] == [] and data["store_exists"] is True


async def test_no_store_yet_is_empty_and_creates_nothing(jp_fetch, jp_root_dir):
    write_notebook(jp_root_dir / "a.ipynb")
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="a.ipynb")
    assert data["runs"] == [] and data["store_exists"] is False
    assert data["tracking_uri"] == f"sqlite:///{(jp_root_dir / 'mlflow.db').resolve()}"
    assert not (jp_root_dir / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "many"}, "page_size"),
        ({"page_size": "100000"}, "page_size"),
        ({"page_token": "not-a-token"}, "token"),
    ],
)
async def test_bad_parameters_are_400(jp_fetch, store, params, fragment):
    code, payload = await error_of(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", **params)
    assert code == 400
    assert fragment in payload["message"]


async def test_missing_notebook_argument_is_400(jp_fetch, store):
    code, payload = await error_of(jp_fetch, "mlops-nb", "runs")
    assert code == 400 and "notebook" in payload["message"]


DOWN = f"http://127.0.0.1:{free_port()}"


@pytest.mark.parametrize("tracking_env", [DOWN], indirect=True)
async def test_unreachable_tracking_server_is_503_with_uri(jp_fetch, jp_root_dir, tracking_env):
    uri = tracking_env
    write_notebook(jp_root_dir / "a.ipynb")
    code, payload = await error_of(jp_fetch, "mlops-nb", "runs", notebook="a.ipynb")
    assert code == 503
    assert payload["tracking_uri"] == uri
    assert uri in payload["message"] and payload["error"]


async def test_columns_are_the_params_that_differ_and_every_metric(jp_fetch, store):
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="3")
    assert data["varying_params"] == ["alpha"]  # "model" is "ridge" in every run
    assert data["param_names"] == ["alpha", "model"] and data["metric_names"] == ["rmse"]
    assert data["tag_names"] == ["stage"] and data["runs"][0]["tags"] == {"stage": "test"}
    assert data["total"] == N_TRAIN


SORTS = [
    ({"sort": "metrics.rmse", "order": "asc"}, ["train-119", "train-118", "train-117"]),
    ({"sort": "metrics.rmse", "order": "desc"}, ["train-0", "train-1", "train-2"]),
    ({"sort": "params.alpha", "order": "asc"}, ["train-0", "train-1", "train-2"]),
    ({"sort": "name", "order": "asc"}, ["train-0", "train-1", "train-10"]),
    ({"sort": "start_time", "order": "asc"}, ["train-0", "train-1", "train-2"]),
]


async def test_sorting_covers_every_run_not_just_a_page(jp_fetch, store):
    for params, names in SORTS:
        data = await get_json(
            jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="3", **params
        )
        assert [r["name"] for r in data["runs"]] == names, params


FILTERS = [
    ({"status": "FAILED"}, 12, "train-110"),
    ({"tag": "stage=test"}, N_TRAIN, "train-119"),
    ({"tag": "stage=prod"}, 0, None),
    ({"tag": "stage"}, N_TRAIN, "train-119"),
    ({"text": "TRAIN-11"}, 11, "train-119"),
    ({"text": "1.05"}, 1, "train-105"),  # a parameter value
    ({"status": "FAILED", "text": "train-5"}, 1, "train-50"),
]


async def test_filters_by_status_tag_and_text(jp_fetch, store):
    for params, total, first in FILTERS:
        data = await get_json(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", **params)
        assert data["total"] == total, params
        assert (data["runs"][0]["name"] if data["runs"] else None) == first, params
        assert data["varying_params"] == ["alpha"]  # columns do not depend on the filter


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"sort": "colour"}, "sort"),
        ({"order": "up"}, "order"),
        ({"status": "DONE"}, "status"),
        ({"colour": "red"}, "colour"),
    ],
)
async def test_bad_sort_or_filter_is_400(jp_fetch, store, params, fragment):
    code, payload = await error_of(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", **params)
    assert code == 400 and fragment in payload["message"]


async def test_a_notebook_whose_name_has_quotes_shows_its_runs(jp_fetch, store, jp_root_dir):
    import sqlite3

    name = """it's "ok".ipynb"""
    write_notebook(jp_root_dir / name)
    with sqlite3.connect(jp_root_dir / "mlflow.db") as con:
        con.execute(
            "UPDATE tags SET value = ? WHERE key = 'mlops_nb.notebook' AND run_uuid IN "
            "(SELECT run_uuid FROM runs WHERE name IN ('train-1', 'train-2'))",
            (str((jp_root_dir / name).resolve()),),
        )
    data = await get_json(jp_fetch, "mlops-nb", "runs", notebook=name)
    assert data["notebook"] == name
    assert [r["name"] for r in data["runs"]] == ["train-2", "train-1"]


def test_mlflow_filters_for_names_with_quotes():
    from mlops_nb.server.runs import notebook_filter

    assert notebook_filter("/a/b.ipynb") == ("tags.`mlops_nb.notebook` = '/a/b.ipynb'", False)
    assert notebook_filter("/a/it's.ipynb") == (
        'tags.`mlops_nb.notebook` = "/a/it\'s.ipynb"',
        False,
    )
    like, recheck = notebook_filter("""/a/it's "x".ipynb""")
    assert like == "tags.`mlops_nb.notebook` LIKE '/a/it_s _x_.ipynb'" and recheck


async def test_jupyterlabs_cache_buster_is_not_an_unknown_field(jp_fetch, store):
    # ServerConnection appends ?<timestamp> to every GET; other unknown fields stay a 400
    data = await get_json(
        jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="1", **{"1796285723893": ""}
    )
    assert data["total"] == N_TRAIN


async def test_a_change_in_the_store_shows_at_the_next_request(jp_fetch, store, jp_root_dir):
    import sqlite3

    first = await get_json(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="1")
    assert first["runs"][0]["status"] == "FINISHED"
    with sqlite3.connect(jp_root_dir / "mlflow.db") as con:  # what a delivery would write
        con.execute("UPDATE runs SET status = 'KILLED' WHERE name = 'train-119'")
    again = await get_json(jp_fetch, "mlops-nb", "runs", notebook="train.ipynb", page_size="1")
    assert again["runs"][0]["status"] == "KILLED"
