"""REST routes under ``/mlops-nb/`` (every verb authenticated)."""

from __future__ import annotations

import json
from typing import Any

import tornado
from jupyter_server.base.handlers import APIHandler
from jupyter_server.utils import url_path_join

from mlops_nb._version import __version__


class VersionHandler(APIHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.finish(json.dumps({"version": __version__}))


def setup_routes(web_app: Any) -> None:
    base = url_path_join(web_app.settings["base_url"], "mlops-nb")
    web_app.add_handlers(".*$", [(url_path_join(base, "version"), VersionHandler)])
