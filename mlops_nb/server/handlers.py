"""The routes' handlers: parse the typed request, call one library function, map its errors.

Blocking work (store reads, HTTP to a service) runs in the IOLoop's executor; long work
(pipeline runs, productionize, starting a service) runs as a background job the browser polls.
Request and response models: :mod:`mlops_nb.server.schemas`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import tornado
from tornado.ioloop import IOLoop

from mlops_nb._version import __version__
from mlops_nb.server import compare, drift, pipeline, runs, schemas
from mlops_nb.server.base import ApiError, PanelHandler, library
from mlops_nb.server.jobs import JobConflict, Progress
from mlops_nb.server.paths import PathRefused, check_tree_inside, resolve_inside

T = TypeVar("T")


async def blocking(fn: Callable[..., T], *args: Any) -> T:
    return await IOLoop.current().run_in_executor(None, fn, *args)


def refused(exc: PathRefused) -> ApiError:
    return ApiError(exc.status, exc.message)


class VersionHandler(PanelHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        tracking = self.panel.settings.tracking_uri
        self.reply(schemas.VersionResponse(version=__version__, tracking_uri=tracking))


class RunsHandler(PanelHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.query(schemas.RunsQuery)
        notebook = self.notebook(query.notebook)
        settings = self.panel.settings_for(notebook)
        try:
            runs.decode_token(query.page_token)
            loaded = await blocking(runs.load_runs, settings, notebook)
        except ImportError as exc:
            raise ApiError(501, f"reading runs needs MLflow: {exc}") from exc
        except runs.StoreUnavailable as exc:
            raise ApiError(503, str(exc), tracking_uri=exc.uri, error=exc.cause) from exc
        except runs.BadQuery as exc:
            raise ApiError(400, str(exc)) from exc
        self.reply(runs.page(loaded, query, settings, self.rel(notebook)))


class CompareHandler(PanelHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.query(schemas.CompareQuery)
        notebook = self.notebook(query.notebook)
        settings = self.panel.settings_for(notebook)
        try:
            ids = compare.parse_ids(query.run_ids)
            data = await blocking(compare.compare, settings, notebook, self.rel(notebook), ids)
        except runs.BadQuery as exc:
            raise ApiError(400, str(exc)) from exc
        except compare.NotFound as exc:
            raise ApiError(404, str(exc)) from exc
        except runs.StoreUnavailable as exc:
            raise ApiError(503, str(exc), tracking_uri=exc.uri, error=exc.cause) from exc
        self.reply(data)


class ArtifactHandler(PanelHandler):
    """One figure of a run (PNG or plotly JSON) or its cell source; nothing else."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.query(schemas.ArtifactQuery)
        notebook = self.notebook(query.notebook)
        settings = self.panel.settings_for(notebook)
        try:
            found = await blocking(compare.artifact, settings, notebook, query.run_id, query.path)
        except compare.NotFound as exc:
            raise ApiError(404, str(exc)) from exc
        except PermissionError as exc:
            raise ApiError(403, str(exc)) from exc
        except runs.StoreUnavailable as exc:
            raise ApiError(503, str(exc), tracking_uri=exc.uri, error=exc.cause) from exc
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Cache-Control", "private, max-age=3600")
        self.finish(found.body, set_content_type=found.content_type)


class PipelineHandler(PanelHandler):
    """The ``pipeline.yaml`` next to a notebook: its steps and their state."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.query(schemas.NotebookQuery)
        notebook = self.notebook(query.notebook)
        root = self.panel.root
        try:
            spec = pipeline.spec_next_to(root, notebook)
            if not spec.is_file():
                self.reply(schemas.PipelineResponse(path=self.rel(spec), exists=False, steps=[]))
                return
            pipeline.confine_pipeline(root, spec)
        except PathRefused as exc:
            raise refused(exc) from exc
        status = library("mlops_nb.pipeline.api", "pipeline_status", "Pipelines")
        try:
            steps = await blocking(status, spec)
        except (ValueError, OSError) as exc:
            raise ApiError(422, f"{self.rel(spec)}: {exc}", path=self.rel(spec)) from exc
        self.reply(
            schemas.PipelineResponse(
                path=self.rel(spec),
                exists=True,
                steps=[pipeline.step_state(root, s) for s in steps],
            )
        )


class PipelineRunHandler(PanelHandler):
    @tornado.web.authenticated
    def post(self) -> None:
        request = self.body(schemas.PipelineRunRequest)
        notebook = self.notebook(request.notebook)
        root = self.panel.root
        try:
            spec = pipeline.spec_next_to(root, notebook)
            if not spec.is_file():
                raise ApiError(404, f"no pipeline.yaml next to {self.rel(notebook)}")
            pipeline.confine_pipeline(root, spec)
        except PathRefused as exc:
            raise refused(exc) from exc
        run_pipeline = library("mlops_nb.pipeline.api", "run_pipeline", "Pipelines")

        def work(progress: Progress) -> schemas.PipelineResult:
            done = run_pipeline(
                spec,
                only=request.only,
                from_step=request.from_step,
                force=request.force,
                progress=lambda e: progress(pipeline.event(root, e)),
            )
            return pipeline.result(root, done)

        submit(self, "pipeline", self.rel(spec), work)


def productionize_event(value: Any) -> schemas.ProductionizeEvent:
    return schemas.ProductionizeEvent(
        event="ProductionizeEvent",
        step=value.step,
        status=value.status,
        message=value.message,
        elapsed=value.elapsed,
    )


def productionize_result(root: Path, value: Any) -> schemas.ProductionizeResult:
    """The library's result with paths relative to the root (the panel shows those)."""
    data = value.to_dict()
    absolute = str(Path(data["service_dir"]))
    for key in ("service_dir", "train_py", "features_py"):
        if data[key] is not None:
            data[key] = _relative_text(root, Path(data[key]))
    if data["service_dir"] != absolute:  # inside the root: commands run from the root (terminals)
        data["start_command"] = data["start_command"].replace(absolute, data["service_dir"])
        data["next_commands"] = [
            c.replace(absolute, data["service_dir"]) for c in data["next_commands"]
        ]
    return schemas.ProductionizeResult.model_validate(data)


def _relative_text(root: Path, path: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


class ProductionizeHandler(PanelHandler):
    """Productionize a notebook into ``<its folder>/<its name>-service`` (not the server's cwd).

    Replacing an existing folder is the library's decision (``force`` never deletes a folder
    without mlops-nb's marker); this route only keeps ``out`` inside the root."""

    @tornado.web.authenticated
    def post(self) -> None:
        request = self.body(schemas.ProductionizeRequest)
        notebook = self.notebook(request.notebook)
        productionize = library("mlops_nb.productionize.api", "productionize", "Productionize")
        service_name = library("mlops_nb.productionize.steps", "service_name", "Productionize")
        root = self.panel.root
        try:
            out = resolve_inside(
                root, notebook.parent / f"{service_name(notebook, None)}-service", "service_dir"
            )
        except PathRefused as exc:
            raise refused(exc) from exc

        def work(progress: Progress) -> schemas.ProductionizeResult:
            done = productionize(
                notebook,
                out=out,
                build=request.build,
                force=request.force,
                progress=lambda e: progress(productionize_event(e)),
            )
            return productionize_result(root, done)

        submit(self, "productionize", self.rel(notebook), work)


def submit(handler: PanelHandler, kind: str, target: str, work: Any) -> None:
    try:
        job = handler.panel.jobs.submit(kind, target, work)
    except JobConflict as exc:
        raise ApiError(409, str(exc), job_id=exc.job.id) from exc
    handler.reply(job.as_model(), status=202)


class JobsHandler(PanelHandler):
    @tornado.web.authenticated
    def get(self) -> None:
        query = self.query(schemas.JobsQuery)
        jobs = [j.as_model(since=len(j.events)) for j in self.panel.jobs.list()]
        kind = query.kind
        self.reply(schemas.JobsResponse(jobs=[j for j in jobs if kind is None or j.kind == kind]))


class JobHandler(PanelHandler):
    @tornado.web.authenticated
    def get(self, job_id: str) -> None:
        query = self.query(schemas.JobQuery)
        job = self.panel.jobs.get(job_id)
        if job is None:
            raise ApiError(404, f"no job {job_id!r} (jobs are forgotten when the server restarts)")
        self.reply(job.as_model(since=query.since))


class DriftHandler(PanelHandler):
    """The drift of a service: a verdict with the widget's state, or a neutral "collecting
    traffic" / "starting" state; 400 for a malformed URL, 502 when the service fails."""

    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.query(schemas.DriftQuery)
        try:
            drift.service_base(query.url)
            data = await blocking(drift.check, query.url)
        except drift.BadServiceUrl as exc:
            raise ApiError(400, str(exc)) from exc
        except drift.DriftUnavailable as exc:
            raise ApiError(502, str(exc), url=query.url) from exc
        self.reply(data)


class DriftReportHandler(PanelHandler):
    @tornado.web.authenticated
    async def get(self) -> None:
        query = self.query(schemas.DriftQuery)
        try:
            drift.service_base(query.url)
            data = await blocking(drift.report, query.url)
        except drift.BadServiceUrl as exc:
            raise ApiError(400, str(exc)) from exc
        except drift.DriftUnavailable as exc:
            raise ApiError(502, str(exc), url=query.url) from exc
        self.reply(data)


class DriftWidgetHandler(PanelHandler):
    """The notebook drift widget's ES module and CSS (the panel renders the same widget)."""

    @tornado.web.authenticated
    def get(self) -> None:
        self.reply(drift.widget_module())


class ServicesHandler(PanelHandler):
    """Services started from the panel: list them, or start one made by productionize."""

    @tornado.web.authenticated
    def get(self) -> None:
        root = self.panel.root
        services = [s.as_model(root) for s in self.panel.services.list()]
        self.reply(schemas.ServicesResponse(services=services))

    @tornado.web.authenticated
    def post(self) -> None:
        request = self.body(schemas.ServiceRequest)
        folder = self.confined(request.service_dir, directory=True, what="service_dir")
        root = self.panel.root
        try:
            app = resolve_inside(root, folder / "app", "service_dir")
            if not app.is_dir() or not app.is_relative_to(folder):
                raise ApiError(
                    400, f"{self.rel(folder)} is not a service made by mlops-nb productionize"
                )
            check_tree_inside(root, folder)
        except PathRefused as exc:
            raise refused(exc) from exc
        services = self.panel.services

        def work(progress: Progress) -> schemas.ServiceInfo:
            progress(
                schemas.ServiceEvent(
                    event="ServiceEvent", message=f"mlops-nb serve {self.rel(folder)}"
                )
            )
            return services.start(folder).as_model(root)

        submit(self, "serve", self.rel(folder), work)
