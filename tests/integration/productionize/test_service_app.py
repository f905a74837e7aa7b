"""The generated app in-process (TestClient): every endpoint, MLflow payloads, validation errors,
413, API key, concurrency limit, monitoring and drift."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from fastapi import Request  # endpoints declared in tests resolve their annotation here
from support import scraped

pytestmark = pytest.mark.integration


def _client(service_module: Any, **overrides: Any) -> Any:
    from fastapi.testclient import TestClient

    settings = dataclasses.replace(service_module.Settings.from_env(), **overrides)
    client = TestClient(service_module.create_app(settings))
    client.__enter__()
    deadline = time.monotonic() + 30
    while client.get("/readyz").status_code != 200:
        assert time.monotonic() < deadline, client.get("/readyz").text
        time.sleep(0.02)
    return client


@pytest.fixture
def example(made: dict[str, Any]) -> dict[str, Any]:
    service = made["helpers"]["result"].service_dir
    return dict(json.loads((service / "model" / "input_example.json").read_text()))


@pytest.fixture
def client(service_module: Any, made: dict[str, Any]) -> Any:
    service = made["helpers"]["result"].service_dir
    client = _client(service_module, model_dir=service / "model", monitor_min_rows=20)
    yield client
    client.__exit__(None, None, None)


def test_predict_equals_the_notebook(client: Any, example: dict[str, Any]) -> None:
    got = client.post("/predict", json=example["records"]).json()["predictions"]
    engine = client.get("/metadata").json()["engine"]
    assert engine["engine"] == "onnx", engine["reason"]  # a Ridge-like linear model converts
    assert engine["parity"]["passed"] and engine["parity"]["rows"] > 100
    assert got == pytest.approx(example["predictions"], rel=engine["parity"]["tolerance"])


def test_mlflow_payload_formats(client: Any, example: dict[str, Any]) -> None:
    records = example["records"]
    cols = list(records[0])
    csv = ",".join(cols) + "\n" + "\n".join(",".join(str(r[c]) for c in cols) for r in records)
    for payload in (
        {"dataframe_split": {"columns": cols, "data": [[r[c] for c in cols] for r in records]}},
        {"dataframe_records": records},
        {"instances": records},
        {"inputs": records},
        {"inputs": {c: [r[c] for r in records] for c in cols}},
    ):
        response = client.post("/invocations", json=payload)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"] == pytest.approx(example["predictions"], rel=1e-9)
    response = client.post("/invocations", content=csv, headers={"content-type": "text/csv"})
    assert response.json()["predictions"] == pytest.approx(example["predictions"], rel=1e-9)


def test_validation_errors_are_field_level_422(client: Any, example: dict[str, Any]) -> None:
    record = dict(example["records"][0])
    record["bmi"] = "heavy"
    del record["age"]
    detail = client.post("/predict", json=[example["records"][1], record]).json()["detail"]
    where = {tuple(d["loc"]): d["msg"] for d in detail}
    assert ("body", 1, "bmi") in where and ("body", 1, "age") in where
    assert where[("body", 1, "age")] == "Field required"
    bad = client.post(
        "/invocations", json={"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}
    )
    assert bad.status_code == 422 and "expected 1" in bad.text


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{",
        b"[]",
        b"null",
        b"1e999",
        b'{"age": NaN}',
        b"[[1,2]]",
        b'{"inputs": {"age": 1}}',
        b'{"instances": [1]}',
        b"\xff\xfe",
        b'{"dataframe_split": {"data": "x"}}',
    ],
)
def test_no_5xx_for_malformed_input(client: Any, body: bytes) -> None:
    for path in ("/predict", "/invocations"):
        response = client.post(path, content=body, headers={"content-type": "application/json"})
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)


def test_body_limit_413(service_module: Any, made: dict[str, Any], example: dict[str, Any]) -> None:
    service = made["helpers"]["result"].service_dir
    client = _client(
        service_module, model_dir=service / "model", max_body_bytes=2000, max_batch_rows=3
    )
    try:
        big = client.post("/predict", json=example["records"] * 20)
        assert big.status_code == 413
        many = client.post("/predict", json=example["records"][:4])
        assert many.status_code == 422 and "at most 3" in many.text  # the schema's maxItems
    finally:
        client.__exit__(None, None, None)


def test_api_key(service_module: Any, made: dict[str, Any], example: dict[str, Any]) -> None:
    service = made["helpers"]["result"].service_dir
    client = _client(service_module, model_dir=service / "model", api_key="s3cret")
    try:
        assert client.post("/predict", json=example["records"]).status_code == 401
        wrong = client.post("/predict", json=example["records"], headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401
        right = client.post("/predict", json=example["records"], headers={"X-API-Key": "s3cret"})
        assert right.status_code == 200
        assert client.get("/healthz").status_code == 200  # probes stay open
    finally:
        client.__exit__(None, None, None)


def test_metrics_count_what_the_service_answered(client: Any, example: dict[str, Any]) -> None:
    """A scrape shows the requests, their statuses, the rows scored and recorded, and where the
    predicted values fell, as the responses themselves say."""
    records = example["records"]
    answered: list[float] = []
    for record in records[:3]:
        answered += client.post("/predict", json=record).json()["predictions"]
    answered += client.post("/predict", json=records).json()["predictions"]
    bad = client.post("/predict", json={**records[0], "bmi": "heavy"})
    assert bad.status_code == 422

    samples = scraped(client.get("/metrics").text)
    route = (("method", "POST"), ("route", "/predict"))
    assert samples[("http_requests_total", (*route, ("status", "200")))] == 4
    assert samples[("http_requests_total", (*route, ("status", "422")))] == 1
    assert samples[("http_request_duration_seconds_count", (("route", "/predict"),))] == 5
    assert samples[("predictions_rows_total", ())] == len(answered)
    assert samples[("monitoring_inputs_recorded_total", ())] == len(answered)
    buckets = {dict(k[1])["le"]: v for k, v in samples.items() if k[0] == "prediction_value_bucket"}
    assert buckets.pop("+Inf") == len(answered) == samples[("prediction_value_count", ())]
    for le, count in buckets.items():
        assert count == sum(1 for p in answered if p <= float(le)), le
    assert samples[("prediction_value_sum", ())] == pytest.approx(sum(answered))


def test_metadata_metrics_and_docs(client: Any, example: dict[str, Any]) -> None:
    client.post("/predict", json=example["records"])
    metadata = client.get("/metadata").json()
    assert metadata["model_var"] == "reg" and len(metadata["model_sha256"]) == 64
    assert set(metadata["training_metrics"]) == {"r2", "mae", "rmse"}
    assert "scikit-learn" in metadata["versions"]
    metrics = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/predict",status="200"}' in metrics
    assert "http_request_duration_seconds_bucket" in metrics
    assert "prediction_value_bucket" in metrics  # regression: distribution of predicted values
    schema = client.get("/openapi.json").json()
    body = schema["paths"]["/predict"]["post"]["requestBody"]["content"]["application/json"]
    record, many = body["schema"]["oneOf"]
    assert many["minItems"] == 1 and many["items"] == record
    assert set(record["required"]) == set(example["records"][0])
    assert "seen in training" in record["properties"]["bmi"]["description"]


def test_model_digest_is_checked(service_module: Any, made: dict[str, Any], tmp_path: Path) -> None:
    import shutil

    service = made["helpers"]["result"].service_dir
    shutil.copytree(service / "model", tmp_path / "model")
    with (tmp_path / "model" / "model.onnx").open("ab") as handle:
        handle.write(b"tampered")
    from fastapi.testclient import TestClient

    settings = dataclasses.replace(service_module.Settings.from_env(), model_dir=tmp_path / "model")
    with TestClient(service_module.create_app(settings)) as client:
        deadline = time.monotonic() + 10
        while "sha256" not in client.get("/readyz").text and time.monotonic() < deadline:
            time.sleep(0.02)
        ready = client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["detail"] == (
            "the model failed to load: "
            "model.onnx does not match the sha256 recorded in metadata.json"
        )
        assert str(tmp_path) not in ready.text  # no paths to an unauthenticated caller
        refused = client.post("/predict", json={})
        assert refused.status_code == 503 and "does not match the sha256" in refused.text


def test_monitoring_sample_reference_and_drift(
    client: Any, example: dict[str, Any], made: dict[str, Any]
) -> None:
    too_few = client.get("/monitoring/drift")
    assert too_few.status_code == 409 and "drift needs at least 20" in too_few.text
    reference = client.get("/monitoring/reference", params={"n": 200}).json()
    assert reference["total"] > 200 and len(reference["records"]) == 200
    # replay reference rows: no drift
    client.post("/predict", json=reference["records"])
    sample = client.get("/monitoring/sample", params={"n": 50}).json()
    assert sample["total_seen"] == 200 and sample["records"] == reference["records"][-50:]
    calm = client.get("/monitoring/drift").json()
    assert calm["dataset_drift"] is False and calm["current_rows"] == 200
    assert calm["reference_rows"] == reference["total"] and calm["share_threshold"] == 0.5
    assert {c["stattest"] for c in calm["columns"].values()} <= {"ks", "z", "chisquare"}
    # shifted inputs: drift
    shifted = [
        {
            **r,
            "bmi": r["bmi"] * 1.6,
            "bp": r["bp"] + 40,
            "s5": r["s5"] * 1.5,
            "s1": r["s1"] * 2,
            "s2": r["s2"] * 2,
            "s3": r["s3"] * 2,
        }
        for r in reference["records"]
    ]
    client.post("/predict", json=shifted)
    drifted = client.get("/monitoring/drift", params={"n": 200}).json()
    assert drifted["dataset_drift"] is True and drifted["columns"]["bmi"]["drifted"] is True


def test_drift_runs_the_library_module_verbatim(made: dict[str, Any]) -> None:
    """One drift engine: the service's ``app/statistics.py`` is ``mlops_nb.monitoring.stats``,
    byte for byte, and it imports nothing a service image lacks."""
    import ast

    from mlops_nb.monitoring import stats

    library = Path(stats.__file__).read_bytes()
    for name in ("helpers", "parameters"):
        copy = made[name]["result"].service_dir / "app" / "statistics.py"
        assert copy.read_bytes() == library, name
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(ast.parse(library))
        if isinstance(node, ast.Import | ast.ImportFrom) and node.col_offset == 0
        for alias in (
            node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")]
        )
    }
    assert imported <= {"__future__", "math", "collections", "dataclasses", "typing", "numpy"}


def test_drift_names_the_columns_it_could_not_compare(
    client: Any, service_module: Any, made: dict[str, Any], tmp_path: Path
) -> None:
    """A column with no values on one side is listed with the reason, not silently dropped;
    a bad ``n`` is a field-level 422."""
    monitoring = __import__("app.monitoring", fromlist=["compute_drift"])
    service = made["helpers"]["result"].service_dir
    reference = monitoring.Reference(service / "model" / "reference.csv")
    columns = list(reference.columns)
    rows = [tuple(r[c] for c in columns) for r in reference.records[:100]]
    blank = [
        tuple(None if c == "bmi" else v for c, v in zip(columns, r, strict=True)) for r in rows
    ]
    summary = monitoring.compute_drift(reference, blank)
    assert "bmi" not in summary["columns"] and summary["n_columns"] == len(columns) - 1
    assert summary["skipped_columns"] == {
        "bmi": "not compared: no values in the recorded inputs (every one is null)"
    }
    assert monitoring.compute_drift(reference, rows)["skipped_columns"] == {}
    for n in ("0", "-3", "x", str(monitoring.MAX_SAMPLE + 1)):
        response = client.get("/monitoring/drift", params={"n": n})
        assert response.status_code == 422, n
        assert response.json()["detail"][0]["loc"] == ["query", "n"], n


def test_fast_paths_stay_strict(client: Any, example: dict[str, Any]) -> None:
    records = [dict(r) for r in example["records"]]
    records[2]["bmi"] = True
    response = client.post("/predict", json=records)
    assert response.status_code == 422
    assert ["body", 2, "bmi"] in [d["loc"] for d in response.json()["detail"]]
    cols = list(records[0])
    rows = [[r[c] for c in cols] for r in example["records"]]
    rows[1][0] = "12"
    split = client.post("/invocations", json={"dataframe_split": {"columns": cols, "data": rows}})
    assert split.status_code == 422
    assert split.json()["detail"][0]["loc"] == ["body", "dataframe_split", 1, cols[0]]
    nan = json.dumps({"dataframe_split": {"columns": cols, "data": [[float("nan")] * len(cols)]}})
    headers = {"content-type": "application/json"}
    response = client.post("/invocations", content=nan, headers=headers)
    assert response.status_code == 422
    # an all-number batch is converted as one matrix: every value numpy would take for a number
    # (a boolean) or refuse (text, null, NaN, a missing value, a nested list) is still a 422
    clean = [[r[c] for c in cols] for r in example["records"]]
    expected = client.post(
        "/invocations", json={"dataframe_split": {"columns": cols, "data": clean}}
    )
    assert expected.status_code == 200
    for bad in (True, False, "1.5", None, [1.0], {"v": 1}):
        rows = [list(row) for row in clean]
        rows[3][1] = bad
        body = {"dataframe_split": {"columns": cols, "data": rows}}
        response = client.post("/invocations", json=body)
        assert response.status_code == 422, (bad, response.text)
        assert response.json()["detail"][0]["loc"][:3] == ["body", "dataframe_split", 3], bad
    short = [list(row) for row in clean]
    short[2] = short[2][:-1]
    response = client.post(
        "/invocations", json={"dataframe_split": {"columns": cols, "data": short}}
    )
    assert response.status_code == 422
    infinite = json.dumps({"dataframe_split": {"columns": cols, "data": clean}}).replace(
        json.dumps(clean[4][0]), "1e999", 1
    )
    assert client.post("/invocations", content=infinite, headers=headers).status_code == 422
    # data before columns: the same answer (the strict path)
    reordered = client.post(
        "/invocations", json={"dataframe_split": {"data": clean, "columns": cols}}
    )
    assert reordered.json() == expected.json()


def test_large_reference_drift_matches_evidently(
    service_module: Any, made: dict[str, Any], tmp_path: Path
) -> None:
    """> 1000 reference rows: Wasserstein (numeric) and Jensen-Shannon (few values) as Evidently."""
    import numpy as np
    import pandas as pd
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    monitoring = __import__("app.monitoring", fromlist=["compute_drift"])
    service = made["helpers"]["result"].service_dir
    base = pd.read_csv(service / "model" / "reference.csv")
    rng = np.random.default_rng(0)
    ref = base.sample(n=2500, replace=True, random_state=0).reset_index(drop=True)
    ref = ref + rng.normal(0, 0.01, size=ref.shape) * ref.std().to_numpy()
    ref["sex"] = base["sex"].sample(n=2500, replace=True, random_state=1).to_numpy()
    cur = ref.sample(n=400, random_state=2).reset_index(drop=True)
    cur["bmi"] = cur["bmi"] * 1.3
    ref.to_csv(tmp_path / "reference.csv", index=False)
    reference = monitoring.Reference(tmp_path / "reference.csv")
    rows = [tuple(r) for r in cur[list(base.columns)].itertuples(index=False)]
    ours = monitoring.compute_drift(reference, rows)
    definition = DataDefinition(numerical_columns=list(base.columns))
    snapshot = Report([DataDriftPreset()]).run(
        Dataset.from_pandas(cur, data_definition=definition),
        Dataset.from_pandas(ref, data_definition=definition),
    )
    theirs = {
        m["metric_name"][len("ValueDrift(column=") :].split(",")[0].rstrip(")"): float(m["value"])
        for m in snapshot.dict()["metrics"]
        if m.get("metric_name", "").startswith("ValueDrift(column=")
    }
    assert set(theirs) == set(ours["columns"])
    for column, value in theirs.items():
        assert ours["columns"][column]["score"] == pytest.approx(value, rel=1e-6, abs=1e-9), column
    assert ours["columns"]["bmi"]["stattest"] == "wasserstein" and ours["columns"]["bmi"]["drifted"]
    assert ours["columns"]["sex"]["stattest"] == "jensenshannon"


def test_kubernetes_manifests(made: dict[str, Any]) -> None:
    import yaml

    k8s = made["helpers"]["result"].service_dir / "k8s"
    docs = {p.stem: yaml.safe_load(p.read_text()) for p in k8s.glob("*.yaml")}
    assert set(docs) == {"deployment", "service", "hpa", "pdb"}
    container = docs["deployment"]["spec"]["template"]["spec"]["containers"][0]
    assert {"startupProbe", "readinessProbe", "livenessProbe", "resources"} <= set(container)
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["securityContext"]["capabilities"]["drop"] == ["ALL"]
    assert docs["deployment"]["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"]
    assert docs["hpa"]["kind"] == "HorizontalPodAutoscaler"
    assert docs["pdb"]["kind"] == "PodDisruptionBudget"


@pytest.mark.parametrize("name", ["helpers", "parameters"])
def test_rendered_service_passes_ruff_and_mypy(made: dict[str, Any], name: str) -> None:
    """The generated app and its tests are lint- and type-clean with the service's own settings."""
    import subprocess
    import sys

    service = made[name]["result"].service_dir
    bin_dir = Path(sys.executable).parent
    ruff = subprocess.run(
        [str(bin_dir / "ruff"), "check", "--no-cache", "app", "tests"],
        cwd=service,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ruff.returncode == 0, ruff.stdout[-3000:]
    mypy = subprocess.run(
        [
            sys.executable,
            "-m",
            "mypy",
            "--no-incremental",
            "--cache-dir",
            "/dev/null",
            "app",
            "tests",
        ],
        cwd=service,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert mypy.returncode == 0, mypy.stdout[-3000:]


def test_openapi_shows_the_api_key_scheme(service_module: Any, made: dict[str, Any]) -> None:
    service = made["helpers"]["result"].service_dir
    client = _client(service_module, model_dir=service / "model", api_key="k")
    try:
        schema = client.get("/openapi.json").json()
    finally:
        client.__exit__(None, None, None)
    assert schema["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "Required when the service runs with API_KEY set",
    }
    secured = {p for p, ops in schema["paths"].items() for op in ops.values() if op.get("security")}
    assert secured == {
        "/predict",
        "/invocations",
        "/metadata",
        "/metrics",
        "/monitoring/sample",
        "/monitoring/reference",
        "/monitoring/drift",
    }
    drift = schema["paths"]["/monitoring/drift"]["get"]["responses"]
    assert "409" in drift and "503" in drift


def test_large_batches_leave_the_event_loop_free(
    service_module: Any, made: dict[str, Any], example: dict[str, Any]
) -> None:
    """A 10,000-row batch is scored in the threadpool: /healthz answers while it runs."""
    import threading

    service = made["helpers"]["result"].service_dir
    client = _client(service_module, model_dir=service / "model", threadpool_rows=100)
    try:
        big = (example["records"] * 10_000)[:10_000]
        result: dict[str, Any] = {}
        worker = threading.Thread(target=lambda: result.update(r=client.post("/predict", json=big)))
        worker.start()
        health = []
        while worker.is_alive():
            started = time.perf_counter()
            assert client.get("/healthz").status_code == 200
            health.append(time.perf_counter() - started)
        worker.join()
        assert result["r"].status_code == 200 and len(result["r"].json()["predictions"]) == 10_000
        assert len(health) >= 2  # /healthz was answered more than once while the batch ran
    finally:
        client.__exit__(None, None, None)


class _RecordingTransport:
    """The socket's side of a connection: what the server sends, send by send."""

    def __init__(self) -> None:
        self.sends: list[bytes] = []
        self.closed = False

    def write(self, data: bytes) -> None:
        assert not self.closed, "written after close"
        self.sends.append(bytes(data))

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8080), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


def test_each_response_goes_out_in_one_send(service_module: Any, made: dict[str, Any]) -> None:
    """The service's HTTP protocol (uvicorn's, with the header deadline) sends a response's head
    and body together: one send per response, pipelined requests answered in order, and what is
    held is sent before the connection closes."""
    import asyncio

    from app.connections import HeaderDeadlineProtocol  # the service's package (service_module)
    from uvicorn.config import Config
    from uvicorn.server import ServerState

    service = made["helpers"]["result"].service_dir
    settings = dataclasses.replace(service_module.Settings.from_env(), model_dir=service / "model")
    config = Config(
        service_module.create_app(settings), lifespan="off", http=HeaderDeadlineProtocol
    )
    config.load()

    async def serve(request: bytes, responses: int) -> _RecordingTransport:
        transport = _RecordingTransport()
        protocol = HeaderDeadlineProtocol(
            config=config,
            server_state=ServerState(),
            app_state={},
            _loop=asyncio.get_running_loop(),
        )
        protocol.connection_made(transport)  # type: ignore[arg-type]
        protocol.data_received(request)
        for _ in range(500):
            if b"".join(transport.sends).count(b"HTTP/1.1 ") >= responses:
                break
            await asyncio.sleep(0.01)
        protocol.connection_lost(None)
        return transport

    get = b"GET /healthz HTTP/1.1\r\nHost: svc\r\n\r\n"
    for request, responses in ((get, 1), (get * 3, 3)):
        sent = asyncio.run(serve(request, responses)).sends
        assert len(sent) <= responses, sent  # never more sends than responses
        answered = b"".join(sent).split(b"HTTP/1.1 ")[1:]
        assert len(answered) == responses, sent
        for send in sent:  # each send holds whole responses: head and body together
            assert send.startswith(b"HTTP/1.1 200 OK\r\n") and send.endswith(b'{"status":"ok"}')
    closing = asyncio.run(serve(get.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"), 1))
    assert closing.closed and len(closing.sends) == 1
    assert closing.sends[0].endswith(b'{"status":"ok"}')


def test_scoring_routes_keep_fastapi_dependencies_working(service_module: Any) -> None:
    """A scoring route answers through Starlette's adapter (no dependency exit stacks to enter),
    and one that declares another dependency is served by FastAPI's own handler, so the
    dependency runs, ``yield`` clean-up included. Fails if FastAPI stops building a route's ASGI
    app in ``APIRoute.__init__`` (the assignment would then be lost or overwritten)."""
    from app.routes import ScoringRoute  # the service's package (service_module)
    from fastapi import APIRouter, Depends, FastAPI, Response
    from fastapi.testclient import TestClient

    events: list[str] = []

    def tracked() -> Any:
        events.append("enter")
        yield "value"
        events.append("exit")

    scoring = APIRouter(route_class=ScoringRoute)

    @scoring.post("/plain")
    async def plain(request: Request) -> Response:
        stacks = sorted(k for k in request.scope if k.startswith("fastapi_") and "astack" in k)
        return Response(json.dumps(stacks).encode(), media_type="application/json")

    @scoring.post("/with-dependency")
    async def with_dependency(value: str = Depends(tracked)) -> dict[str, str]:
        return {"value": value}

    app = FastAPI()
    service_module._add_routes(app, scoring)  # as the service adds its routers' routes

    with TestClient(app) as client:
        # only the app-wide stack FastAPI's middleware opens; none for a route's dependencies
        assert client.post("/plain").json() == ["fastapi_middleware_astack"]
        assert client.post("/with-dependency").json() == {"value": "value"}
    assert events == ["enter", "exit"]


def test_scoring_route_errors_reach_the_app_s_exception_handlers(service_module: Any) -> None:
    """A scoring route is served without Starlette's per-route exception wrapper: what its
    endpoint raises must still get the answer the app's handlers give, as from an ordinary
    route, and the metrics middleware must count that answer's status."""
    from app.metrics import Metrics, RequestMetrics
    from app.routes import ScoringRoute
    from fastapi import APIRouter, FastAPI, HTTPException, Response
    from fastapi.responses import JSONResponse
    from fastapi.testclient import TestClient

    class Refused(Exception):
        pass

    def raising(router: APIRouter, path: str) -> None:
        @router.post(f"{path}/http")
        async def http(request: Request) -> Response:
            raise HTTPException(418, "short and stout", headers={"Retry-After": "3"})

        @router.post(f"{path}/custom")
        async def custom(request: Request) -> Response:
            raise Refused("no")

    scoring, ordinary = APIRouter(route_class=ScoringRoute), APIRouter()
    raising(scoring, "/scoring")
    raising(ordinary, "/ordinary")
    assert all(type(r) is ScoringRoute for r in scoring.routes)

    app = FastAPI()
    service_module._add_routes(app, scoring, ordinary)

    async def refused(request: Request, exc: Exception) -> JSONResponse:
        return JSONResponse({"refused": request.url.path}, status_code=409)

    app.add_exception_handler(Refused, refused)
    metrics = Metrics()
    app.add_middleware(RequestMetrics, metrics=metrics)

    with TestClient(app) as client:
        for kind, status in (("http", 418), ("custom", 409)):
            ours, theirs = client.post(f"/scoring/{kind}"), client.post(f"/ordinary/{kind}")
            assert ours.status_code == theirs.status_code == status
            assert ours.headers.get("retry-after") == theirs.headers.get("retry-after")
            assert ours.json() == {
                k: (v.replace("ordinary", "scoring") if isinstance(v, str) else v)
                for k, v in theirs.json().items()
            }
    counted = {key[0]: key[2] for key in metrics.tallies.requests}
    assert counted == {
        "/scoring/http": 418,
        "/ordinary/http": 418,
        "/scoring/custom": 409,
        "/ordinary/custom": 409,
    }
