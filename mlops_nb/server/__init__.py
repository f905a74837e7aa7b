"""jupyter_server extension: the REST routes behind the "MLOps" sidebar panel."""

from __future__ import annotations

from typing import Any


def _load_jupyter_server_extension(server_app: Any) -> None:
    from mlops_nb.server.context import SETTINGS_KEY, make_context
    from mlops_nb.server.routes import setup_routes

    context = make_context(server_app.root_dir)
    server_app.web_app.settings[SETTINGS_KEY] = context
    setup_routes(server_app.web_app)
    server_app.log.info(
        "mlops-nb server extension loaded (tracking store %s)", context.settings.tracking_uri
    )
