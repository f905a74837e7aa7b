"""REST routes under ``/mlops-nb/`` (every verb authenticated; a test checks each one)."""

from __future__ import annotations

from typing import Any

from jupyter_server.utils import url_path_join

from mlops_nb.server import handlers, registry

PREFIX = "mlops-nb"

#: (path under /mlops-nb/, handler): the whole REST surface of the panel
ROUTES: list[tuple[str, type]] = [
    ("version", handlers.VersionHandler),
    ("runs", handlers.RunsHandler),
    ("pipeline", handlers.PipelineHandler),
    ("pipeline/run", handlers.PipelineRunHandler),
    ("productionize", handlers.ProductionizeHandler),
    ("jobs", handlers.JobsHandler),
    (r"jobs/([0-9a-f]{1,64})", handlers.JobHandler),
    ("drift", handlers.DriftHandler),
    ("services", handlers.ServicesHandler),
    *registry.ROUTES,
]


def setup_routes(web_app: Any) -> None:
    base = url_path_join(web_app.settings["base_url"], PREFIX)
    web_app.add_handlers(".*$", [(url_path_join(base, path), cls) for path, cls in ROUTES])
