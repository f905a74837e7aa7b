"""POST /mlops-nb/services starts a service made by productionize; its folder must be one."""

from __future__ import annotations

import json

import pytest
from tornado.httpclient import HTTPClientError


async def start(jp_fetch, service_dir):
    body = json.dumps({"service_dir": service_dir})
    with pytest.raises(HTTPClientError) as info:
        await jp_fetch("mlops-nb", "services", method="POST", body=body)
    return info.value.code, json.loads(info.value.response.body)["message"]


@pytest.mark.parametrize("service_dir", ["..", "../elsewhere", "/tmp"])
async def test_folders_outside_the_root_are_refused(jp_fetch, jp_root_dir, service_dir):
    (jp_root_dir.parent / "elsewhere" / "app").mkdir(parents=True)
    code, message = await start(jp_fetch, service_dir)
    assert code == 403 and "outside the server's root" in message


async def test_a_folder_that_is_not_a_service_is_400(jp_fetch, jp_root_dir):
    (jp_root_dir / "data").mkdir()
    code, message = await start(jp_fetch, "data")
    assert code == 400 and "not a service made by mlops-nb" in message


async def test_a_missing_folder_is_404(jp_fetch):
    code, message = await start(jp_fetch, "gone-service")
    assert code == 404 and "gone-service" in message


async def test_no_services_at_first(jp_fetch):
    response = await jp_fetch("mlops-nb", "services")
    assert json.loads(response.body) == {"services": []}
