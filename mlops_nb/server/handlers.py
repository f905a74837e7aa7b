"""The routes' handlers: parse the request, call one library function, map its errors.

Blocking work (MLflow queries, HTTP to a service) runs in the IOLoop's executor; long work
(pipeline runs, productionize) runs as a background job the browser polls.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import tornado
from tornado.ioloop import IOLoop

from mlops_nb._version import __version__
from mlops_nb.server import drift, runs
from mlops_nb.server.base import ApiError, PanelHandler, library
from mlops_nb.server.jobs import JobConflict, Progress, to_jsonable
from mlops_nb.server.paths import confine


def _event(progress: Progress) -> Progress:
    """Progress callback for a library: each event is recorded with its kind (its class name)."""

    def record(event: Any) -> None:
        data = to_jsonable(event)
        if dataclasses.is_dataclass(event) and isinstance(data, dict):
            data = {"event": type(event).__name__, **data}
        progress(data)

    return record


class VersionHandler(PanelHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"version": __version__, "tracking_uri": self.panel.settings.tracking_uri})


class RunsHandler(PanelHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        notebook = self.notebook(self.get_argument("notebook", None))
        size = self.int_argument("page_size", 50, 1, runs.MAX_PAGE_SIZE)
        token = self.get_argument("page_token", None)
        settings = self.panel.settings_for(notebook)
        try:
            page = await IOLoop.current().run_in_executor(
                None, runs.list_runs, settings, notebook, size, token
            )
        except ImportError as exc:
            raise ApiError(501, f"reading runs needs MLflow: {exc}") from exc
        except runs.StoreUnavailable as exc:
            raise ApiError(503, str(exc), tracking_uri=exc.uri, error=exc.cause) from exc
        except ValueError as exc:
            raise ApiError(400, str(exc)) from exc
        self.reply(
            {
                "notebook": self.rel(notebook),
                "tracking_uri": settings.tracking_uri,
                "store_exists": page.store_exists,
                "runs": page.runs,
                "next_page_token": page.next_page_token,
            }
        )


class PipelineHandler(PanelHandler):
    """The ``pipeline.yaml`` next to a notebook: its steps and their state."""

    @tornado.web.authenticated
    async def get(self) -> None:
        notebook = self.notebook(self.get_argument("notebook", None))
        spec = notebook.parent / "pipeline.yaml"
        if not spec.is_file():
            self.reply({"path": self.rel(spec), "exists": False, "steps": []})
            return
        status = library("mlops_nb.pipeline.api", "pipeline_status", "Pipelines")
        try:
            steps = await IOLoop.current().run_in_executor(None, status, spec)
        except (ValueError, OSError) as exc:
            raise ApiError(422, f"{self.rel(spec)}: {exc}", path=self.rel(spec)) from exc
        self.reply({"path": self.rel(spec), "exists": True, "steps": to_jsonable(steps)})


class PipelineRunHandler(PanelHandler):
    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_body()
        notebook = self.notebook(body.get("notebook"))
        spec = notebook.parent / "pipeline.yaml"
        if not spec.is_file():
            raise ApiError(404, f"no pipeline.yaml next to {self.rel(notebook)}")
        force = body.get("force", False)
        if not isinstance(force, bool):
            raise ApiError(400, "'force' must be true or false")
        only, from_step = body.get("only"), body.get("from_step")
        for name, value in (("only", only), ("from_step", from_step)):
            if value is not None and not (isinstance(value, str) and value):
                raise ApiError(400, f"'{name}' must be a step name")
        run_pipeline = library("mlops_nb.pipeline.api", "run_pipeline", "Pipelines")

        def work(progress: Progress) -> Any:
            return run_pipeline(
                spec, only=only, from_step=from_step, force=force, progress=_event(progress)
            )

        submit(self, "pipeline", self.rel(spec), work)


class ProductionizeHandler(PanelHandler):
    """Productionize a notebook into ``<its folder>/<its name>-service`` (not the server's cwd)."""

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_body()
        notebook = self.notebook(body.get("notebook"))
        options = {k: body.get(k, False) for k in ("build", "force")}
        for key, value in options.items():
            if not isinstance(value, bool):
                raise ApiError(400, f"'{key}' must be true or false")
        productionize = library("mlops_nb.productionize.api", "productionize", "Productionize")
        service_name = library("mlops_nb.productionize.steps", "service_name", "Productionize")
        out = notebook.parent / f"{service_name(notebook, None)}-service"

        def work(progress: Progress) -> Any:
            return productionize(notebook, out=out, **options, progress=_event(progress))

        submit(self, "productionize", self.rel(notebook), work)


def submit(handler: PanelHandler, kind: str, target: str, work: Any) -> None:
    try:
        job = handler.panel.jobs.submit(kind, target, work)
    except JobConflict as exc:
        raise ApiError(409, str(exc), job_id=exc.job.id) from exc
    handler.reply(job.as_dict(), status=202)


class JobsHandler(PanelHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        kind = self.get_argument("kind", None)
        jobs = [j.as_dict(since=len(j.events)) for j in self.panel.jobs.list()]
        self.reply({"jobs": [j for j in jobs if kind is None or j["kind"] == kind]})


class JobHandler(PanelHandler):
    @tornado.web.authenticated
    def get(self, job_id: str) -> None:
        job = self.panel.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (jobs are forgotten when the server restarts)")
        since = self.int_argument("since", 0, 0, 10**9)
        self.reply(job.as_dict(since=since))


class DriftHandler(PanelHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        url = self.get_argument("url", "")
        try:
            drift.drift_url(url)
            data = await IOLoop.current().run_in_executor(None, drift.fetch_drift, url)
        except drift.BadServiceUrl as exc:
            raise ApiError(400, str(exc)) from exc
        except drift.DriftUnavailable as exc:
            raise ApiError(502, str(exc), url=url) from exc
        self.reply(data)


class ServicesHandler(PanelHandler):
    """Services started from the panel: list them, or start one made by productionize."""

    @tornado.web.authenticated
    def get(self) -> None:
        self.reply({"services": [s.as_dict() for s in self.panel.services.list()]})

    @tornado.web.authenticated
    def post(self) -> None:
        body = self.json_body()
        raw = body.get("service_dir")
        if not isinstance(raw, str):
            raise ApiError(400, "'service_dir' (a folder made by productionize) is required")
        try:
            folder = confine(self.panel.root, raw, directory=True, what="service_dir")
        except tornado.web.HTTPError as exc:
            raise ApiError(exc.status_code, exc.log_message or "bad path") from exc
        if not (folder / "app").is_dir():
            raise ApiError(
                400, f"{self.rel(folder)} is not a service made by mlops-nb productionize"
            )
        services = self.panel.services

        def work(progress: Progress) -> Any:
            progress({"event": "ServiceStarting", "message": f"mlops-nb serve {folder}"})
            return services.start(folder).as_dict()

        submit(self, "serve", self.rel(folder), work)
