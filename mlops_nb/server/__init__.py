"""jupyter_server extension: the REST routes behind the "MLOps" sidebar panel."""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(server_app: Any) -> None:
    from mlops_nb.server.routes import setup_routes

    setup_routes(server_app.web_app)
    server_app.log.info("mlops-nb server extension loaded")
