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
