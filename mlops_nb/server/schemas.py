"""The typed contract of every ``/mlops-nb/`` route: one request and one response model each.

The panel's TypeScript types (``extension/src/schema.ts``) are generated from the JSON Schema
these models produce (``python -m mlops_nb.server.schemas > extension/schema/api.json``); a
Python test and a Jest test fail when either side drifts from it.
"""

from __future__ import annotations

import json
import sys
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

MAX_PATH = 4096
MAX_PAGE_SIZE = 500
MAX_COMPARE = 10

Path_ = Annotated[str, Field(min_length=1, max_length=MAX_PATH)]
JobState = Literal["queued", "running", "succeeded", "failed"]
RunStatus = Literal["RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED"]
SortKey = Annotated[
    str, Field(max_length=300, pattern=r"^(start_time|name|status|duration|(metrics|params)\..+)$")
]


class Request(BaseModel):
    """Requests refuse fields they do not know (a misspelt option is a 400, not ignored)."""

    model_config = ConfigDict(extra="forbid")


class Body(Request):
    """A JSON body: types are strict (``"yes"`` is not a boolean, ``1`` is not ``true``)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Response(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- version -----------------------------------------------------------------------------------
class VersionResponse(Response):
    version: str
    tracking_uri: str


# --- runs --------------------------------------------------------------------------------------
class RunsQuery(Request):
    notebook: Path_
    page_size: int = Field(50, ge=1, le=MAX_PAGE_SIZE)
    page_token: str | None = Field(None, max_length=200)
    sort: SortKey = "start_time"
    order: Literal["asc", "desc"] = "desc"
    status: RunStatus | None = None
    #: ``key=value`` (or ``key`` for "has this tag")
    tag: str | None = Field(None, max_length=1000)
    #: matched (case-insensitively) against the run name and its parameter values
    text: str | None = Field(None, max_length=1000)


class Run(Response):
    run_id: str
    experiment_id: str
    name: str
    status: str
    cell_id: str | None
    cell_key: str | None
    start_time: int | None
    end_time: int | None
    duration_s: float | None
    params: dict[str, str]
    metrics: dict[str, float | None]
    tags: dict[str, str]
    url: str


class RunsPage(Response):
    notebook: str
    tracking_uri: str
    store_exists: bool
    #: runs of this notebook that match the filter (every page)
    total: int
    runs: list[Run]
    next_page_token: str | None
    #: parameters whose value differs between the notebook's runs (the default columns)
    varying_params: list[str]
    param_names: list[str]
    metric_names: list[str]
    #: user tags seen on the notebook's runs (filter suggestions)
    tag_names: list[str]


class CompareQuery(Request):
    notebook: Path_
    #: comma-separated run ids (2 to 10)
    run_ids: Annotated[str, Field(min_length=1, max_length=40 * MAX_COMPARE)]


class Figure(Response):
    name: str
    kind: Literal["png", "plotly"]
    #: artifact path, for ``runs/artifact``
    path: str


class MetricPoint(Response):
    step: int
    value: float | None
    timestamp: int


class RunDetail(Response):
    run: Run
    #: the tracked cell's source (artifact ``cell.py``), or null when it was not recorded
    cell_source: str | None
    figures: list[Figure]
    history: dict[str, list[MetricPoint]]


class CompareResponse(Response):
    notebook: str
    runs: list[RunDetail]


class ArtifactQuery(Request):
    notebook: Path_
    run_id: Annotated[str, Field(pattern=r"^[0-9a-zA-Z_-]{1,64}$")]
    path: Path_


# --- pipeline ----------------------------------------------------------------------------------
class NotebookQuery(Request):
    notebook: Path_


class FailedCell(Response):
    #: 1-based, as the message says ("cell #3")
    number: int | None
    source: str | None
    error: str


class StepState(Response):
    name: str
    needs: list[str]
    cache_state: str
    last_status: str | None
    last_run_id: str | None
    #: relative to the server's root
    notebook: str
    outputs: list[str]
    reason: str
    last_error: str | None
    failed_cell: FailedCell | None


class PipelineResponse(Response):
    path: str
    exists: bool
    steps: list[StepState]


class PipelineRunRequest(Body):
    notebook: Path_
    force: bool = False
    only: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    from_step: Annotated[str, Field(min_length=1, max_length=200)] | None = None


class ProductionizeRequest(Body):
    notebook: Path_
    build: bool = False
    force: bool = False


class ServiceRequest(Body):
    service_dir: Path_


# --- jobs --------------------------------------------------------------------------------------
class ProductionizeEvent(Response):
    event: Literal["ProductionizeEvent"]
    step: str
    status: Literal["start", "done", "fail", "info"]
    message: str
    elapsed: float


class PipelineEvent(Response):
    event: Literal["PipelineEvent"]
    kind: str
    step: str
    status: str
    message: str
    run_id: str | None
    duration: float | None


class ServiceEvent(Response):
    event: Literal["ServiceEvent"]
    message: str


class PromotionEvent(Response):
    """One step of a promotion while it runs (``register``, each gate, ``alias``, ``card``):
    :class:`mlops_nb.registry.api.PromotionEvent`."""

    event: Literal["PromotionEvent"]
    step: str
    status: Literal["started", "passed", "failed", "skipped", "done"]
    message: str


JobEvent = Annotated[
    ProductionizeEvent | PipelineEvent | ServiceEvent | PromotionEvent,
    Field(discriminator="event"),
]


class Check(Response):
    name: str
    passed: bool
    detail: str


class DroppedLine(Response):
    cell: int
    what: str
    reason: str


class ProductionizeResult(Response):
    """:class:`mlops_nb.productionize.result.ProductionizeResult` with root-relative paths."""

    service_dir: str
    train_py: str
    features_py: str | None
    image: str | None
    checks: list[Check]
    start_command: str
    input_columns: list[str]
    model_var: str
    takes_raw_columns: bool
    dropped: list[DroppedLine]
    notes: list[str]
    next_commands: list[str]
    seconds: float
    ok: bool


class StepOutcome(Response):
    name: str
    status: str
    run_id: str | None
    duration: float
    message: str


class PipelineResult(Response):
    pipeline: str
    status: str
    steps: dict[str, StepOutcome]
    run_id: str | None
    duration: float


GateStatus = Literal["passed", "failed", "skipped"]


class GateResult(Response):
    """One gate's verdict (:class:`mlops_nb.registry.result.GateResult`): ``value`` is what was
    measured, ``threshold`` the bound it was held to (or the alias holder's score)."""

    gate: str
    status: GateStatus
    summary: str
    metric: str | None
    value: float | None
    threshold: float | None
    details: dict[str, Any]


class PromotionResult(Response):
    """:class:`mlops_nb.registry.result.PromotionResult`, with its one-line ``verdict``."""

    name: str
    version: str
    alias: str
    passed: bool
    #: the alias now points at ``version`` (every gate passed, or forced with a reason)
    moved: bool
    gates: list[GateResult]
    previous_version: str | None
    source: str
    run_id: str | None
    model_uri: str
    registered: bool
    forced: bool
    reason: str | None
    decided_by: str
    decided_at: str
    tracking_uri: str
    card_uri: str | None
    decision_uri: str | None
    #: "PROMOTED: @champion moved from version 1 to version 2", or why it did not move
    verdict: str


class ServiceInfo(Response):
    service_dir: str
    url: str
    pid: int
    running: bool
    log: str


class Job(Response):
    id: str
    kind: Literal["productionize", "pipeline", "serve", "promote"]
    target: str
    state: JobState
    events: list[JobEvent]
    n_events: int
    result: ProductionizeResult | PipelineResult | ServiceInfo | PromotionResult | None
    error: str | None
    created: float
    finished: float | None


class JobsQuery(Request):
    kind: Literal["productionize", "pipeline", "serve", "promote"] | None = None


class JobsResponse(Response):
    jobs: list[Job]


class JobQuery(Request):
    since: int = Field(0, ge=0, le=10**9)


class ServicesResponse(Response):
    services: list[ServiceInfo]


# --- registry ----------------------------------------------------------------------------------
ModelName = Annotated[str, Field(min_length=1, max_length=256)]


class StoreQuery(Request):
    """The registry of the store a notebook's kernel uses (default: the server's store)."""

    notebook: Path_ | None = None


class ModelSummary(Response):
    name: str
    #: alias -> version
    aliases: dict[str, str]
    latest_version: str | None
    description: str
    #: ms since the epoch
    updated: int


class ModelsResponse(Response):
    tracking_uri: str
    models: list[ModelSummary]


class DecisionGate(Response):
    gate: str
    status: GateStatus
    value: float | None
    threshold: float | None


class Decision(Response):
    """The last promotion decision recorded on a version (its compact tag)."""

    alias: str
    from_version: str | None
    to_version: str
    passed: bool
    moved: bool
    forced: bool
    reason: str | None
    by: str
    #: ISO 8601, UTC
    at: str
    gates: list[DecisionGate]


class VersionSummary(Response):
    version: str
    aliases: list[str]
    run_id: str | None
    model_id: str | None
    created: int
    #: null: never through ``mlops-nb promote``
    gates_passed: bool | None
    last_decision: Decision | None
    has_card: bool


class HistoryEntry(Response):
    at: str
    alias: str
    from_version: str | None
    to_version: str
    moved: bool
    passed: bool
    forced: bool
    by: str
    reason: str | None
    failed_gates: list[str]


class ModelResponse(Response):
    name: str
    tracking_uri: str
    #: newest first
    versions: list[VersionSummary]
    #: every decision, oldest first (refused ones too)
    history: list[HistoryEntry]


class CardResponse(Response):
    name: str
    version: str
    aliases: list[str]
    markdown: str
    #: every value HTML-escaped by the card's renderer
    html: str


Requirement = Annotated[str, Field(min_length=1, max_length=300)]
Text = Annotated[str, Field(min_length=1, max_length=2000)]


class PromoteRequest(Body):
    """``mlops-nb promote SOURCE --name NAME ...`` as a JSON body (paths relative to the root)."""

    source: Annotated[str, Field(min_length=1, max_length=500)]
    name: ModelName
    alias: Annotated[str, Field(min_length=1, max_length=255)] = "champion"
    #: thresholds on the run's logged metrics, like ``accuracy>=0.9``
    require: Annotated[list[Requirement], Field(max_length=50)] = []
    no_regression: bool = False
    eval_data: Path_ | None = None
    target: Text | None = None
    metric: Text | None = None
    tolerance: Annotated[float, Field(ge=0)] | None = None
    max_drift_share: Annotated[float, Field(ge=0, le=1)] | None = None
    reference: Path_ | None = None
    current: Path_ | None = None
    service: Annotated[str, Field(max_length=2000)] | None = None
    force: bool = False
    reason: Text | None = None
    #: the store of this notebook's kernel (default: the server's)
    notebook: Path_ | None = None


# --- drift -------------------------------------------------------------------------------------
class DriftQuery(Request):
    url: Annotated[str, Field(max_length=2000)] = ""


class DriftColumn(Response):
    model_config = ConfigDict(extra="allow")
    type: str
    stattest: str
    score: float | None
    threshold: float
    drifted: bool


class DriftSummary(Response):
    model_config = ConfigDict(extra="allow")
    dataset_drift: bool
    drift_share: float
    n_drifted: int
    n_columns: int
    columns: dict[str, DriftColumn]


class DriftWidgetState(Response):
    """The synced traits of the notebook's ``DriftWidget`` (the panel renders the same module)."""

    summary: DriftSummary
    distributions: dict[str, Any]
    stattest_names: dict[str, str]
    note: str
    report_state: Literal["idle", "unavailable"]


class DriftResponse(Response):
    url: str
    #: ``ready`` (a verdict), ``collecting`` (too little traffic), ``starting`` (no reference)
    state: Literal["ready", "collecting", "starting"]
    message: str
    current_rows: int | None
    min_rows: int | None
    widget: DriftWidgetState | None


class DriftReportResponse(Response):
    url: str
    html: str


class WidgetModuleResponse(Response):
    esm: str
    css: str


class ErrorResponse(Response):
    model_config = ConfigDict(extra="allow")
    message: str


#: route → (request model or None, response model): what the schema file and the tests walk
CONTRACT: dict[str, tuple[type[BaseModel] | None, type[BaseModel]]] = {
    "version": (None, VersionResponse),
    "runs": (RunsQuery, RunsPage),
    "runs/compare": (CompareQuery, CompareResponse),
    "pipeline": (NotebookQuery, PipelineResponse),
    "pipeline/run": (PipelineRunRequest, Job),
    "productionize": (ProductionizeRequest, Job),
    "jobs": (JobsQuery, JobsResponse),
    "jobs/<id>": (JobQuery, Job),
    "drift": (DriftQuery, DriftResponse),
    "drift/report": (DriftQuery, DriftReportResponse),
    "drift/widget": (None, WidgetModuleResponse),
    "services": (ServiceRequest, ServicesResponse),
    "models": (StoreQuery, ModelsResponse),
    "models/<name>": (StoreQuery, ModelResponse),
    "models/<name>/versions/<version>/card": (StoreQuery, CardResponse),
    "promote": (PromoteRequest, Job),
}

#: models that are not a route's body but travel too (each gets a TypeScript type)
EXTRA_MODELS: list[type[BaseModel]] = [ErrorResponse, ServiceInfo, ArtifactQuery]


def json_schema() -> dict[str, Any]:
    """One JSON Schema document whose ``$defs`` hold every model of the contract."""
    from pydantic.json_schema import models_json_schema

    models: list[type[BaseModel]] = []
    for request, response in CONTRACT.values():
        for model in (request, response):
            if model is not None and model not in models:
                models.append(model)
    models += [m for m in EXTRA_MODELS if m not in models]
    _, schema = models_json_schema(
        [(m, "validation" if issubclass(m, Request) else "serialization") for m in models],
        title="mlops-nb panel API",
    )
    return schema


def main(argv: list[str] | None = None) -> int:
    """``--typescript``: the TypeScript types; otherwise the JSON Schema."""
    args = sys.argv[1:] if argv is None else argv
    if "--typescript" in args:
        from mlops_nb.server.typescript import render

        sys.stdout.write(render(json_schema()))
    else:
        sys.stdout.write(json.dumps(json_schema(), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
