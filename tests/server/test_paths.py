"""Every route that takes a notebook path keeps to the server's root directory."""

from __future__ import annotations

import json
import os

import pytest
from tornado.httpclient import HTTPClientError

OUTSIDE = [
    "../outside.ipynb",
    "sub/../../outside.ipynb",
    "./sub/./../../outside.ipynb",
    "/etc/passwd",
    "link-out/secret.ipynb",
]


@pytest.fixture
def outside(jp_root_dir, store):
    """A notebook next to the root (not in it), and a symlink from the root to its folder."""
    target = jp_root_dir.parent / "outside.ipynb"
    target.write_text(store["train"].read_text())
    secret_dir = jp_root_dir.parent / "secret"
    secret_dir.mkdir()
    (secret_dir / "secret.ipynb").write_text(store["train"].read_text())
    os.symlink(secret_dir, jp_root_dir / "link-out")
    return target


async def refused(jp_fetch, route, notebook, method):
    if method == "GET":
        kwargs = {"params": {"notebook": notebook}}
    else:
        kwargs = {"method": "POST", "body": json.dumps({"notebook": notebook})}
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", *route.split("/"), **kwargs)
    return info.value.code, json.loads(info.value.response.body)


ROUTES = [("runs", "GET"), ("pipeline", "GET"), ("pipeline/run", "POST"), ("productionize", "POST")]


@pytest.mark.parametrize(("route", "method"), ROUTES)
@pytest.mark.parametrize("notebook", OUTSIDE)
async def test_paths_outside_the_root_are_refused(jp_fetch, outside, route, method, notebook):
    code, payload = await refused(jp_fetch, route, notebook, method)
    assert code == 403
    assert "outside the server's root" in payload["message"]


@pytest.mark.parametrize(("route", "method"), ROUTES)
async def test_absolute_path_outside_is_403(jp_fetch, outside, route, method):
    code, payload = await refused(jp_fetch, route, str(outside), method)
    assert code == 403
    assert "outside the server's root" in payload["message"]


@pytest.mark.parametrize(("route", "method"), ROUTES)
async def test_missing_notebook_is_404(jp_fetch, store, route, method):
    code, payload = await refused(jp_fetch, route, "nope.ipynb", method)
    assert code == 404 and "nope.ipynb" in payload["message"]


@pytest.mark.parametrize(("route", "method"), ROUTES)
async def test_not_a_notebook_is_400(jp_fetch, store, jp_root_dir, route, method):
    (jp_root_dir / "data.csv").write_text("a,b\n1,2\n")
    code, _ = await refused(jp_fetch, route, "data.csv", method)
    assert code == 400


async def test_absolute_path_inside_the_root_is_accepted(jp_fetch, store):
    response = await jp_fetch("mlops-nb", "runs", params={"notebook": str(store["train"])})
    assert json.loads(response.body)["notebook"] == "train.ipynb"


@pytest.mark.parametrize("body", ["not json", "[1, 2]", '{"notebook": 3}'])
async def test_malformed_bodies_are_400(jp_fetch, store, body):
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", "productionize", method="POST", body=body)
    assert info.value.code == 400
    assert json.loads(info.value.response.body)["message"]


# --- every route, every probe: oversized, malformed, encoded, symlinks in and out ---------------
ALL_ROUTES = [*ROUTES, ("runs/compare", "GET")]


async def status_of(jp_fetch, route, value, method, **extra):
    if method == "GET":
        kwargs = {"params": {"notebook": value, **extra}}
    else:
        kwargs = {"method": "POST", "body": json.dumps({"notebook": value, **extra})}
    try:
        response = await jp_fetch("mlops-nb", *route.split("/"), **kwargs)
    except HTTPClientError as exc:
        return exc.code, json.loads(exc.response.body)["message"]
    return response.code, ""


MALFORMED = [
    "a/" * 2100 + "x.ipynb",  # over 4 KB
    "n" * 300 + ".ipynb",  # a file name the OS refuses
    "bad\x00name.ipynb",
    "%2e%2e/outside.ipynb",  # double-encoded: a literal name, not a parent
    "..%2Foutside.ipynb",
    "",
]


@pytest.mark.parametrize(("route", "method"), ALL_ROUTES)
async def test_malformed_paths_are_4xx_never_5xx(jp_fetch, outside, route, method):
    extra = {"run_ids": "a,b"} if route == "runs/compare" else {}
    for value in MALFORMED:  # one server for all probes of a route
        code, message = await status_of(jp_fetch, route, value, method, **extra)
        assert 400 <= code < 500, (value[:40], code, message)
        assert message


async def test_an_encoded_parent_is_decoded_once_then_refused(
    http_server_client, jp_base_url, jp_auth_header, outside
):
    url = f"{jp_base_url}mlops-nb/runs?notebook=%2e%2e%2Foutside.ipynb"
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(url, headers=jp_auth_header)
    assert info.value.code == 403


async def test_a_symlink_inside_the_root_is_followed_to_its_target(jp_fetch, store, jp_root_dir):
    os.symlink(jp_root_dir / "train.ipynb", jp_root_dir / "alias.ipynb")
    response = await jp_fetch(
        "mlops-nb", "runs", params={"notebook": "alias.ipynb", "page_size": "1"}
    )
    data = json.loads(response.body)
    assert data["notebook"] == "train.ipynb" and data["total"] == 120


# --- pipeline.yaml: what it names must stay inside the root ------------------------------------
STEP = """steps:
  - name: prepare
    notebook: {notebook}
    outputs: [{output}]
"""


@pytest.fixture
def pipeline_dir(jp_root_dir, store):
    folder = jp_root_dir / "pipe"
    folder.mkdir()
    (folder / "train.ipynb").write_text(store["train"].read_text())
    elsewhere = jp_root_dir.parent / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "evil.ipynb").write_text(store["train"].read_text())
    return folder


async def both_pipeline_routes(jp_fetch):
    get = await status_of(jp_fetch, "pipeline", "pipe/train.ipynb", "GET")
    post = await status_of(jp_fetch, "pipeline/run", "pipe/train.ipynb", "POST")
    return get, post


@pytest.mark.parametrize(
    ("notebook", "output", "named"),
    [
        ("../../elsewhere/evil.ipynb", "data.csv", "notebook"),
        ("train.ipynb", "../../elsewhere/out.csv", "output"),
        ("/tmp/evil.ipynb", "data.csv", "notebook"),
    ],
)
async def test_a_pipeline_naming_files_outside_the_root_is_refused(
    jp_fetch, pipeline_dir, jp_root_dir, notebook, output, named
):
    (pipeline_dir / "pipeline.yaml").write_text(STEP.format(notebook=notebook, output=output))
    for code, message in await both_pipeline_routes(jp_fetch):
        assert code == 403, message
        assert "step 'prepare'" in message and named in message
    assert not (jp_root_dir.parent / "elsewhere" / "out.csv").exists()
    assert not (pipeline_dir / ".mlops-nb").exists()  # nothing ran


async def test_a_symlinked_pipeline_yaml_outside_the_root_is_refused(
    jp_fetch, pipeline_dir, jp_root_dir
):
    real = jp_root_dir.parent / "elsewhere" / "pipeline.yaml"
    real.write_text(STEP.format(notebook="evil.ipynb", output="data.csv"))
    os.symlink(real, pipeline_dir / "pipeline.yaml")
    for code, message in await both_pipeline_routes(jp_fetch):
        assert code == 403 and "outside the server's root" in message
    assert not (jp_root_dir.parent / "elsewhere" / ".mlops-nb").exists()


async def test_a_symlinked_state_folder_outside_the_root_is_refused(
    jp_fetch, pipeline_dir, jp_root_dir
):
    (pipeline_dir / "pipeline.yaml").write_text(STEP.format(notebook="train.ipynb", output="d.csv"))
    os.symlink(jp_root_dir.parent / "elsewhere", pipeline_dir / ".mlops-nb")
    for code, message in await both_pipeline_routes(jp_fetch):
        assert code == 403 and "state folder" in message


# --- services: their files stay inside the root ------------------------------------------------
@pytest.fixture
def service(jp_root_dir):
    folder = jp_root_dir / "a-service"
    (folder / "app").mkdir(parents=True)
    (folder / "app" / "main.py").write_text("")
    (jp_root_dir.parent / "elsewhere").mkdir(exist_ok=True)
    return folder


async def start_service(jp_fetch, folder="a-service"):
    body = json.dumps({"service_dir": folder})
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", "services", method="POST", body=body)
    return info.value.code, json.loads(info.value.response.body)["message"]


async def test_a_service_whose_app_is_a_symlink_out_is_refused(jp_fetch, service, jp_root_dir):
    outside_app = jp_root_dir.parent / "elsewhere" / "app"
    outside_app.mkdir()
    (service / "app" / "main.py").unlink()
    (service / "app").rmdir()
    os.symlink(outside_app, service / "app")
    code, message = await start_service(jp_fetch)
    assert code == 403 and "outside the server's root" in message


async def test_a_symlinked_serve_log_outside_is_refused_and_untouched(
    jp_fetch, service, jp_root_dir
):
    log = jp_root_dir.parent / "elsewhere" / "precious.log"
    log.write_text("keep me\n")
    os.symlink(log, service / "serve.log")
    code, message = await start_service(jp_fetch)
    assert code == 403 and "serve.log" in message
    assert log.read_text() == "keep me\n"


async def test_the_log_of_a_service_is_never_opened_through_a_symlink(tmp_path):
    from mlops_nb.server.services import log_tail, open_log

    target = tmp_path / "target.log"
    target.write_text("secret\n")
    os.symlink(target, tmp_path / "serve.log")
    with pytest.raises(OSError):
        open_log(tmp_path / "serve.log")
    assert "secret" not in log_tail(tmp_path / "serve.log")
    assert target.read_text() == "secret\n"


async def test_productionize_refuses_an_output_folder_that_links_out(jp_fetch, store, jp_root_dir):
    (jp_root_dir.parent / "elsewhere").mkdir(exist_ok=True)
    os.symlink(jp_root_dir.parent / "elsewhere", jp_root_dir / "train-service")
    code, message = await status_of(jp_fetch, "productionize", "train.ipynb", "POST")
    assert code == 403 and "outside the server's root" in message
