"""No route under /mlops-nb/ answers a request that carries no credentials.

The routes are enumerated from the running server's router (not from a list kept by hand), so a
route added later without ``@tornado.web.authenticated`` makes this test fail.
"""

from __future__ import annotations

import re

import pytest
from tornado.httpclient import HTTPClientError

VERBS = ("get", "post", "put", "patch", "delete")


def registered(router, found=None):
    """(pattern, handler class) of every rule reachable from ``router``."""
    found = [] if found is None else found
    for rule in getattr(router, "rules", []):
        target = rule.target
        if hasattr(target, "rules"):
            registered(target, found)
        elif isinstance(target, type):
            pattern = getattr(rule.matcher, "regex", None)
            if pattern is not None:
                found.append((pattern.pattern, target))
    return found


def panel_routes(web_app):
    routes = [(p, h) for p, h in registered(web_app.wildcard_router) if "/mlops-nb/" in p]
    routes += [(p, h) for p, h in registered(web_app.default_router) if "/mlops-nb/" in p]
    return sorted(set(routes), key=lambda r: r[0])


def sample_url(pattern: str) -> str:
    """A concrete URL for a route pattern (groups filled with a plausible value)."""
    url = re.sub(r"\([^)]*\)", "abc123", pattern.rstrip("$"))
    return url.replace("\\", "")


def own_verbs(handler: type) -> list[str]:
    return [
        v for v in VERBS if any(v in vars(k) for k in handler.__mro__ if "mlops_nb" in k.__module__)
    ]


def test_every_panel_route_is_enumerated(jp_web_app):
    paths = {sample_url(p).split("/mlops-nb/")[1] for p, _ in panel_routes(jp_web_app)}
    assert {
        "version",
        "runs",
        "pipeline",
        "pipeline/run",
        "productionize",
        "jobs",
        "drift",
        "drift/report",
        "drift/widget",
        "runs/compare",
        "runs/artifact",
        "services",
    } <= paths
    assert "jobs/abc123" in paths


async def test_no_route_answers_without_credentials(jp_web_app, http_server_client, store):
    checked = []
    for pattern, handler in panel_routes(jp_web_app):
        url = sample_url(pattern) + "?notebook=train.ipynb&url=http://127.0.0.1:1"
        for verb in own_verbs(handler):
            body = b"{}" if verb in ("post", "put", "patch") else None
            with pytest.raises(HTTPClientError) as info:
                await http_server_client.fetch(
                    url, method=verb.upper(), body=body, follow_redirects=False
                )
            assert info.value.code in (401, 403, 302), f"{verb.upper()} {url}: {info.value.code}"
            checked.append((verb, url))
    assert len(checked) >= 14


async def test_a_wrong_token_is_refused(http_server_client, jp_base_url, store):
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(
            f"{jp_base_url}mlops-nb/runs?notebook=train.ipynb",
            headers={"Authorization": "token not-the-token"},
        )
    assert info.value.code == 403


async def test_post_with_a_cookie_but_no_xsrf_token_is_refused(
    jp_fetch, http_server_client, jp_base_url, store
):
    # a browser session is a cookie: log in with the token, then post without the XSRF header
    response = await jp_fetch("mlops-nb", "version")
    cookies = "; ".join(c.split(";", 1)[0] for c in response.headers.get_list("Set-Cookie"))
    assert cookies, "the server set no session cookie"
    with pytest.raises(HTTPClientError) as info:
        await http_server_client.fetch(
            f"{jp_base_url}mlops-nb/productionize",
            method="POST",
            body=b'{"notebook": "train.ipynb"}',
            headers={"Cookie": cookies},
        )
    assert info.value.code == 403
