"""The generated service vs ``mlflow models serve``: same model, same machine, same run.

    apt-get install wrk
    .venv/bin/python benchmarks/bench_serve.py [--repeat 3] [--duration 8] [--quick] [--no-docker]

Models: (1) StandardScaler + LogisticRegression over 20 features (the FACTS.md setup); (2) a
ColumnTransformer pipeline with missing numbers and categorical columns (median imputer + scaler,
one-hot + chi2 feature selection, LogisticRegression: the shape of scikit-learn's mixed-types
gallery example). Each is trained by a small notebook that ``mlops_nb.productionize`` turns into a
service (engine ``auto``: onnxruntime when it reproduces the model); the same service also runs
with ``ENGINE=sklearn``, with micro-batching on and off, and the very same fitted object is logged
to MLflow and served with ``mlflow models serve --env-manager local``. Every server runs one worker
on 127.0.0.1; load comes from ``wrk``. Figures are medians of ``--repeat`` runs, alternating between
servers. Two reference servers run in the same rounds: a bare ASGI app on the same uvicorn
(this machine's limit for one worker; the throughput target reads against it) and the
FastAPI app a user writes by hand (pydantic record, one-row DataFrame, scikit-learn
``predict``). Resident memory is the worker's VmRSS after the load. The cost of recording inputs for
drift is the single-request latency with recording on minus with ``MONITOR_CAPACITY=0``, and the
recording call timed alone (``InputStore.record``, in microseconds), each as a share of the
request. Unless ``--no-docker``, the simple service is also built as an image (no network, local
base image): its size, what is in it (layers and the largest installed
distributions) and container start to ``/readyz``. ``--quick``: one run of 3 s per scenario (to
check the benchmark works; figures from a loaded machine mean little). Results are printed and
written to benchmarks/results/serve-<time>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "benchmarks" / "results"

NOTEBOOK_CELLS = [
    "import pandas as pd\nfrom sklearn.datasets import make_classification\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import make_pipeline\n"
    "from sklearn.preprocessing import StandardScaler",
    "X_arr, y = make_classification(n_samples=5000, n_features=20, random_state=0)\n"
    "X = pd.DataFrame(X_arr, columns=[f'f{i}' for i in range(20)])",
    "model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))\nmodel.fit(X, y)",
]

MIXED_CELLS = [
    "import numpy as np\nimport pandas as pd\nfrom sklearn.compose import ColumnTransformer\n"
    "from sklearn.feature_selection import SelectPercentile, chi2\n"
    "from sklearn.impute import SimpleImputer\n"
    "from sklearn.linear_model import LogisticRegression\n"
    "from sklearn.pipeline import Pipeline\n"
    "from sklearn.preprocessing import OneHotEncoder, StandardScaler",
    "rng = np.random.default_rng(0)\nn = 5000\n"
    "age = np.where(rng.random(n) < 0.2, np.nan, rng.normal(38, 12, n))\n"
    "fare = np.where(rng.random(n) < 0.05, np.nan, rng.exponential(30, n))\n"
    "X = pd.DataFrame({'age': age, 'fare': fare,\n"
    "    'sibsp': rng.integers(0, 5, n).astype(float),\n"
    "    'embarked': rng.choice(['S', 'C', 'Q'], n), 'sex': rng.choice(['male', 'female'], n),\n"
    "    'pclass': rng.choice(['1', '2', '3'], n)})\n"
    "y = ((X['sex'] == 'female') ^ (X['fare'].fillna(10) > 40)).astype(int)",
    "numeric = Pipeline([('imputer', SimpleImputer(strategy='median')),\n"
    "    ('scaler', StandardScaler())])\n"
    "categorical = Pipeline([('encoder', OneHotEncoder(handle_unknown='ignore')),\n"
    "    ('selector', SelectPercentile(chi2, percentile=50))])\n"
    "prep = ColumnTransformer([('num', numeric, ['age', 'fare', 'sibsp']),\n"
    "    ('cat', categorical, ['embarked', 'sex', 'pclass'])])\n"
    "model = Pipeline([('prep', prep), ('clf', LogisticRegression())])\nmodel.fit(X, y)",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(url: str, body: bytes, timeout: float = 5.0) -> int:
    req = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        resp.read()
        return int(resp.status)


class Server:
    def __init__(
        self, name: str, cmd: list[str], cwd: Path, env: dict[str, str], probe: tuple[str, bytes]
    ):
        self.name, self.cmd, self.cwd, self.env, self.probe = name, cmd, cwd, env, probe
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
        """Start the server; seconds until the first successful prediction."""
        started = time.monotonic()
        self.proc = subprocess.Popen(
            self.cmd,
            cwd=self.cwd,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url, body = self.probe
        while time.monotonic() - started < 120:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.cmd}")
            try:
                if post(url, body, timeout=2) == 200:
                    return time.monotonic() - started
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError(f"{self.name} did not answer within 120 s")

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc = None


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1000.0}


def wrk(url: str, body: bytes, connections: int, duration: int, work: Path) -> dict[str, float]:
    body_file = work / f"body-{abs(hash(body))}.json"
    body_file.write_bytes(body)
    script = work / "post.lua"
    script.write_text(
        'wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
        f'local f = io.open("{body_file}", "rb")\nwrk.body = f:read("*a")\nf:close()\n'
    )
    threads = min(2, connections)
    out = subprocess.run(
        [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            "--latency",
            "-s",
            str(script),
            url,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    lat = {}
    for pct in ("50", "90", "99"):
        m = re.search(rf"^\s+{pct}(?:\.000)?%\s+([\d.]+)(us|ms|s)", out, re.M)
        lat[f"p{pct}_ms"] = float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")
    return {"rps": rps, **lat, "non_2xx": float(errors.group(1)) if errors else 0.0}


def wait_port_free(port: int, timeout: float = 30.0) -> None:
    """Wait until nothing listens on ``port`` (a stopped server's children may linger)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.05)


def median_runs(runs: list[dict[str, float]]) -> dict[str, float]:
    return {k: statistics.median(r[k] for r in runs) for k in runs[0]}


def make_service(
    work: Path, cells: list[str], name: str, *, wheelhouse: bool = False
) -> tuple[Path, Any, list[dict[str, Any]]]:
    from mlops_nb.productionize.api import productionize

    folder = work / name
    folder.mkdir()
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nbformat.write(nb, folder / f"{name}.ipynb")
    result = productionize(
        folder / f"{name}.ipynb", out=folder / "service", wheelhouse=wheelhouse,
        base_image=BASE_IMAGE if wheelhouse else None,
    )  # fmt: skip
    model = pickle.loads((result.service_dir / "model" / "model.pkl").read_bytes())
    engine = json.loads((result.service_dir / "model" / "engine.json").read_text())
    passthrough = (
        "passthrough (no feature code served)"
        if engine.get("passthrough")
        else ("feature code served")
    )
    print(f"{name}: engine {engine['engine']} ({engine['reason']}); {passthrough}", flush=True)
    example = json.loads((result.service_dir / "model" / "input_example.json").read_text())
    return result.service_dir, model, example["records"]


def rss_mb(pid: int) -> float:
    """Resident memory of a process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def log_to_mlflow(model: Any, work: Path, example: Any, name: str = "model") -> str:
    import mlflow
    import sklearn

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name=name,
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            serialization_format="cloudpickle",
            input_example=example,
        )
    return str(info.model_uri)


BASE_IMAGE = os.environ.get("MLOPS_NB_BASE_IMAGE", "mlops-nb/python-base:3.11-bookworm")

# Run inside the image: the installed distributions by size on disk, largest first.
_SITE_SIZES = """
import importlib.metadata as md, json, os
sizes = {}
for dist in md.distributions():
    total = 0
    for f in dist.files or []:
        p = f.locate()
        if os.path.isfile(p):
            total += os.path.getsize(p)
    sizes[dist.metadata["Name"]] = total
print(json.dumps(sorted(sizes.items(), key=lambda kv: -kv[1])))
"""


def build_image(service: Path, tag: str) -> None:
    """``docker build`` of a service directory made with a wheelhouse (no network)."""
    from mlops_nb.productionize import docker

    docker.build(service, tag, BASE_IMAGE, lambda _line: None, offline=True)


def image_contents(tag: str) -> dict[str, Any]:
    """The image's layers (size, command) and its largest installed distributions."""
    history = subprocess.run(
        ["docker", "history", "--no-trunc", "--format", "{{.Size}}\t{{.CreatedBy}}", tag],
        capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    layers = [
        {"size": size, "command": command[:110]}
        for size, _, command in (line.partition("\t") for line in history)
        if size not in ("0B", "0")
    ]
    listed = subprocess.run(
        ["docker", "run", "--rm", "--entrypoint", "python3", tag, "-c", _SITE_SIZES],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    dists = [{"name": n, "mb": round(b / 1e6, 1)} for n, b in json.loads(listed)[:12]]
    return {"layers": layers, "largest_distributions": dists}


def remove_image(tag: str, build_stages_before: set[str]) -> None:
    """Remove the image and the build stage this run left behind (nobody else's)."""
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)
    for image_id in build_stage_images() - build_stages_before:
        subprocess.run(["docker", "image", "rm", "-f", image_id], capture_output=True, timeout=120)


def build_stage_images() -> set[str]:
    listed = subprocess.run(
        ["docker", "images", "-q", "--no-trunc", "--filter", "label=mlops-nb.stage=build"],
        capture_output=True, text=True,
    ).stdout  # fmt: skip
    return set(listed.split())


# Run in a service directory: microseconds per InputStore.record call of one row (the request
# path's whole cost of recording inputs for drift), median of 5 rounds of 100,000 calls.
_RECORD_COST = """
import json, statistics, timeit
from app.monitoring import InputStore
from app.schema import INPUT_COLUMNS
record = json.load(open("model/input_example.json"))["records"][0]
row = [tuple(record[c] for c in INPUT_COLUMNS)]
store = InputStore(10_000)
print(statistics.median(timeit.repeat(lambda: store.record(row), number=100_000, repeat=5)) * 10)
"""


# Run in a service directory: what FastAPI's ordinary route handling costs per request, in
# microseconds, in process (no HTTP): an endpoint that reads the body and answers "{}", served by
# an ordinary APIRoute and by the service's ScoringRoute (app/routes.py), and a whole /predict of
# the input example through the service's app (ONNX engine), medians of 5 rounds of 3,000 calls.
_ROUTER_COST = """
import asyncio, json, statistics, time
from fastapi import Request, Response
from fastapi.routing import APIRoute
from app.main import create_app
from app.routes import ScoringRoute
app = create_app()
async def noop(request: Request) -> Response:
    await request.body()
    return Response(b"{}", media_type="application/json")
for path, kind in (("/bench-ordinary", APIRoute), ("/bench-scoring", ScoringRoute)):
    app.router.add_api_route(path, noop, methods=["POST"], route_class_override=kind)
record = json.load(open("model/input_example.json"))["records"][0]
def scope(path, body):
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    return {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
            "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": b"",
            "root_path": "", "headers": headers, "client": ("127.0.0.1", 1),
            "server": ("127.0.0.1", 2), "state": {}}
async def call(path, body):
    async def receive():
        return {"type": "http.request", "body": body, "more_body": False}
    statuses = []
    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])
    await app(scope(path, body), receive, send)
    assert statuses == [200], (path, statuses)
async def timed(path, body, n=3000):
    rounds = []
    for _ in range(5):
        started = time.perf_counter()
        for _ in range(n):
            await call(path, body)
        rounds.append((time.perf_counter() - started) / n * 1e6)
    return statistics.median(rounds)
async def main():
    queue = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    async def ignore(message):
        pass
    lifespan_scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    lifespan = asyncio.create_task(app(lifespan_scope, queue.get, ignore))
    while app.state.service.model is None:
        await asyncio.sleep(0.05)
    body = json.dumps(record).encode()
    out = {k: await timed(p, body) for k, p in (("ordinary_route_us", "/bench-ordinary"),
           ("scoring_route_us", "/bench-scoring"), ("predict_us", "/predict"))}
    print(json.dumps(out))
    lifespan.cancel()
asyncio.run(main())
"""


def router_cost(service: Path) -> dict[str, float]:
    """FastAPI's per-request route handling vs the service's ScoringRoute, in process."""
    out = subprocess.run(
        [sys.executable, "-c", _ROUTER_COST], cwd=service, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    figures: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    saved = figures["ordinary_route_us"] - figures["scoring_route_us"]
    figures["saved_share_of_predict"] = saved / (figures["predict_us"] + saved)
    return figures


def recording_cost_us(service: Path) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _RECORD_COST], cwd=service, capture_output=True, text=True,
        check=True,
    ).stdout  # fmt: skip
    return float(out.strip())


def container_start(tag: str, repeat: int) -> dict[str, float]:
    """Image size and container start to /readyz (median of ``repeat``)."""
    from mlops_nb.productionize import docker

    times = []
    for _ in range(repeat):
        started = time.monotonic()
        running = docker.start(tag)
        try:
            docker.wait_ready(running)
            times.append(time.monotonic() - started)
        finally:
            running.stop()
    return {"image_mb": docker.image_size(tag) / 1e6, "start_to_ready_s": statistics.median(times)}


# Two reference servers, so the figures can be read against this machine in the same run (the
# issue's table lists both). The hardware limit: a bare ASGI app on the same uvicorn (uvloop,
# httptools, one worker, no access log) that reads the body and answers a fixed prediction.
_BARE_ASGI = """
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json")]})
    await send({"type": "http.response.body", "body": b'{"prediction":1}'})
"""

# The app a FastAPI user writes by hand from the tutorials: a pydantic model of the record, the
# pickled scikit-learn pipeline, and predict on a one-row DataFrame.
_HANDWRITTEN = """
import pickle
import pandas as pd
from fastapi import FastAPI
from pydantic import create_model
with open("model.pkl", "rb") as f:
    model = pickle.load(f)
COLUMNS = list(model.feature_names_in_)
Record = create_model("Record", **{c: (float, ...) for c in COLUMNS})
app = FastAPI()
@app.post("/predict")
def predict(record: Record) -> dict:
    frame = pd.DataFrame([record.model_dump()], columns=COLUMNS)
    return {"prediction": int(model.predict(frame)[0])}
"""


def reference_apps(work: Path, model: Any) -> Path:
    """Write the two reference apps (and the pickled model) into a folder of their own."""
    folder = work / "reference_apps"
    folder.mkdir()
    (folder / "bare_asgi.py").write_text(_BARE_ASGI)
    (folder / "handwritten.py").write_text(_HANDWRITTEN)
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    return folder


def uvicorn_cmd(app: str, port: int) -> list[str]:
    """The reference apps on uvicorn with the service's own HTTP settings."""
    return [
        sys.executable, "-m", "uvicorn", app, "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1", "--loop", "uvloop", "--http", "httptools", "--no-access-log",
        "--no-server-header", "--no-proxy-headers",
    ]  # fmt: skip


def service_cmd(port: int) -> list[str]:
    """What the image and ``mlops-nb serve`` run (uvicorn with the header deadline), one worker."""
    return [
        sys.executable, "-m", "app.server", "--host", "127.0.0.1", "--port", str(port),
        "--workers", "1",
    ]  # fmt: skip


def mlflow_cmd(uri: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "models", "serve", "-m", uri, "--env-manager", "local",
        "-h", "127.0.0.1", "-p", str(port), "-w", "1",
    ]  # fmt: skip


def bodies(records: list[dict[str, Any]]) -> dict[str, bytes]:
    columns = list(records[0])
    one = records[0]
    batch = (records * (1000 // len(records) + 1))[:1000]
    return {
        "one": json.dumps(one).encode(),
        "batch": json.dumps(batch).encode(),
        "split1": json.dumps(
            {"dataframe_split": {"columns": columns, "data": [[one[c] for c in columns]]}}
        ).encode(),
        "split1000": json.dumps(
            {
                "dataframe_split": {
                    "columns": columns,
                    "data": [[r[c] for c in columns] for r in batch],
                }
            }
        ).encode(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument(
        "--image", help="only measure this service image: size and container start to /readyz"
    )
    parser.add_argument("--quick", action="store_true", help="one 3 s run per scenario")
    parser.add_argument("--no-docker", action="store_true", help="skip the image figures")
    args = parser.parse_args()
    if args.quick:
        args.repeat, args.duration = 1, 3
    if args.image:
        figures = container_start(args.image, max(args.repeat, 5))
        print(f"image {args.image}: {figures}")
        return 0
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    import pandas as pd

    docker_wanted = not args.no_docker
    simple_dir, simple_model, simple_records = make_service(
        work, NOTEBOOK_CELLS, "simple", wheelhouse=docker_wanted
    )
    mixed_dir, _, mixed_records = make_service(work, MIXED_CELLS, "mixed")
    # MLflow serves the fitted object itself: its requests use the model's own column names
    names = list(getattr(simple_model, "feature_names_in_", simple_records[0]))
    mlflow_records = [dict(zip(names, r.values(), strict=True)) for r in simple_records]
    simple_uri = log_to_mlflow(simple_model, work, pd.DataFrame(mlflow_records[:5]), "simple")
    sb, mb, fb = bodies(simple_records), bodies(mixed_records), bodies(mlflow_records)
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        # mlflow models serve execs `uvicorn` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    refs = reference_apps(work, simple_model)
    single = lambda b: {"single_c8": ("/predict", b["one"], 8)}  # noqa: E731
    # key: (name, directory or model uri, extra env, scenarios)
    plan_servers: dict[str, tuple[str, Any, dict[str, str], dict[str, tuple[str, bytes, int]]]] = {
        "bare_asgi": ("bare ASGI app, same uvicorn (the limit)", refs, {}, single(sb)),
        "handwritten": ("hand-written FastAPI app, sklearn (simple)", refs, {}, single(fb)),
        "mlflow": ("mlflow models serve (simple)", simple_uri, {}, {
            "single_c8": ("/invocations", fb["split1"], 8),
            "batch1000_c4": ("/invocations", fb["split1000"], 4),
        }),
        "onnx": ("generated, onnx + micro-batching (simple)", simple_dir, {}, {
            "single_c8": ("/predict", sb["one"], 8),
            "single_c32": ("/predict", sb["one"], 32),
            "invocations_single_c8": ("/invocations", sb["split1"], 8),
            "single_c1": ("/predict", sb["one"], 1),
            "batch1000_c4": ("/invocations", sb["split1000"], 4),
        }),
        "onnx_no_microbatch": ("generated, onnx, no micro-batching", simple_dir,
                               {"MICRO_BATCH": "off"}, single(sb)),
        "onnx_no_recording": ("generated, onnx, MONITOR_CAPACITY=0", simple_dir,
                              {"MONITOR_CAPACITY": "0"}, {"single_c1": ("/predict", sb["one"], 1)}),
        "sklearn": ("generated, sklearn + micro-batching", simple_dir, {"ENGINE": "sklearn"}, {
            "single_c8": ("/predict", sb["one"], 8),
            "batch1000_c4": ("/invocations", sb["split1000"], 4),
        }),
        "sklearn_no_microbatch": ("generated, sklearn, no micro-batching", simple_dir,
                                  {"ENGINE": "sklearn", "MICRO_BATCH": "off"}, single(sb)),
        "mixed_onnx": ("generated, onnx (ColumnTransformer)", mixed_dir, {}, {
            "single_c8": ("/predict", mb["one"], 8),
            "batch1000_c4": ("/predict", mb["batch"], 4),
        }),
        "mixed_sklearn": ("generated, sklearn (ColumnTransformer)", mixed_dir,
                          {"ENGINE": "sklearn"}, single(mb)),
    }  # fmt: skip
    servers: dict[str, Server] = {}
    ports: dict[str, int] = {}
    for key, (name, where, extra, scenarios) in plan_servers.items():
        port = ports[key] = free_port()
        probe_path, probe_body = next(iter(scenarios.values()))[:2]
        probe = (f"http://127.0.0.1:{port}{probe_path}", probe_body)
        if key == "mlflow":
            servers[key] = Server(name, mlflow_cmd(where, port), work, env, probe)
        elif key in ("bare_asgi", "handwritten"):
            app = "bare_asgi:app" if key == "bare_asgi" else "handwritten:app"
            servers[key] = Server(name, uvicorn_cmd(app, port), where, env, probe)
        else:
            servers[key] = Server(name, service_cmd(port), where, {**env, **extra},
                                  (f"http://127.0.0.1:{port}{probe_path}", probe_body))  # fmt: skip
    results: dict[str, Any] = {"machine": {"cores": os.cpu_count()}, "servers": {}}
    try:
        for key in ("mlflow", "onnx", "sklearn", "mixed_onnx"):
            starts = []
            for _ in range(args.repeat):
                starts.append(servers[key].start())
                servers[key].stop()
                wait_port_free(ports[key])
            results["servers"].setdefault(key, {})["start_to_first_answer_s"] = statistics.median(
                starts
            )
            print(
                f"{servers[key].name:42s} start to first answer {statistics.median(starts):.2f} s"
            )
        for server in servers.values():
            server.start()
        plan = [
            (key, name, spec) for key, (_, _, _, scen) in plan_servers.items()
            for name, spec in scen.items()
        ]  # fmt: skip
        collected: dict[tuple[str, str], list[dict[str, float]]] = {}
        for key, _, (path, body, conns) in plan:
            wrk(f"http://127.0.0.1:{ports[key]}{path}", body, conns, 2, work)  # warm-up
        for _ in range(args.repeat):
            for key, name, (path, body, conns) in plan:
                url = f"http://127.0.0.1:{ports[key]}{path}"
                collected.setdefault((key, name), []).append(
                    wrk(url, body, conns, args.duration, work)
                )
        for key, server in servers.items():
            assert server.proc is not None
            results["servers"].setdefault(key, {})["rss_mb"] = rss_mb(server.proc.pid)
        for (key, name), runs in collected.items():
            results["servers"][key][name] = median_runs(runs)
            print(f"{servers[key].name:42s} {name:22s} {results['servers'][key][name]}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    if docker_wanted:
        tag = f"mlops-nb-bench/serve-simple:{os.getpid()}"
        stages_before = build_stage_images()
        try:
            build_image(simple_dir, tag)
            image = container_start(tag, 1 if args.quick else max(args.repeat, 5))
            image.update(image_contents(tag))
        finally:
            remove_image(tag, stages_before)
        results["image"] = image
        print(f"image (onnx, simple): {image['image_mb']:.0f} MB, container start to /readyz "
              f"{image['start_to_ready_s']:.2f} s")  # fmt: skip
        for layer in image["layers"]:
            print(f"  layer {layer['size']:>8s}  {layer['command']}")
        print("  largest: " + ", ".join(f"{d['name']} {d['mb']} MB"
                                        for d in image["largest_distributions"]))  # fmt: skip
    recording_us = recording_cost_us(simple_dir)
    routing = router_cost(simple_dir)
    print(f"route handling in process: ordinary APIRoute {routing['ordinary_route_us']:.1f} us, "
          f"ScoringRoute {routing['scoring_route_us']:.1f} us, whole /predict "
          f"{routing['predict_us']:.1f} us (ordinary routes would add "
          f"{routing['saved_share_of_predict']:.0%})")  # fmt: skip
    r = results["servers"]
    recording_ms = r["onnx"]["single_c1"]["p50_ms"] - r["onnx_no_recording"]["single_c1"]["p50_ms"]
    summary = {
        "onnx_single_c8_rps": r["onnx"]["single_c8"]["rps"],
        # this machine's limit in the same run, and what a user's own FastAPI app does
        "bare_asgi_single_c8_rps": r["bare_asgi"]["single_c8"]["rps"],
        "bare_asgi_single_c8_p99_ms": r["bare_asgi"]["single_c8"]["p99_ms"],
        "onnx_share_of_bare_asgi": r["onnx"]["single_c8"]["rps"]
        / r["bare_asgi"]["single_c8"]["rps"],
        "handwritten_single_c8_rps": r["handwritten"]["single_c8"]["rps"],
        "onnx_vs_handwritten_single_c8_x": r["onnx"]["single_c8"]["rps"]
        / r["handwritten"]["single_c8"]["rps"],
        "onnx_single_c8_p99_ms": r["onnx"]["single_c8"]["p99_ms"],
        "onnx_vs_mlflow_single_c8_x": r["onnx"]["single_c8"]["rps"]
        / r["mlflow"]["single_c8"]["rps"],
        "sklearn_single_c8_rps": r["sklearn"]["single_c8"]["rps"],
        "sklearn_no_microbatch_single_c8_rps": r["sklearn_no_microbatch"]["single_c8"]["rps"],
        "onnx_no_microbatch_single_c8_rps": r["onnx_no_microbatch"]["single_c8"]["rps"],
        "onnx_no_microbatch_single_c8_p99_ms": r["onnx_no_microbatch"]["single_c8"]["p99_ms"],
        "mixed_onnx_single_c8_rps": r["mixed_onnx"]["single_c8"]["rps"],
        "mixed_onnx_single_c8_p99_ms": r["mixed_onnx"]["single_c8"]["p99_ms"],
        "mixed_sklearn_single_c8_rps": r["mixed_sklearn"]["single_c8"]["rps"],
        "batch1000_vs_mlflow_x": r["onnx"]["batch1000_c4"]["rps"]
        / r["mlflow"]["batch1000_c4"]["rps"],
        "recording_p50_overhead_ms": recording_ms,
        "recording_share_of_request": recording_ms / r["onnx"]["single_c1"]["p50_ms"],
        "recording_us_per_request": recording_us,
        "recording_us_share_of_p50": recording_us / 1000 / r["onnx"]["single_c1"]["p50_ms"],
        "mixed_onnx_batch1000_rps": r["mixed_onnx"]["batch1000_c4"]["rps"],
        "onnx_batch1000_rps": r["onnx"]["batch1000_c4"]["rps"],
        "mlflow_batch1000_rps": r["mlflow"]["batch1000_c4"]["rps"],
        "mlflow_single_c8_rps": r["mlflow"]["single_c8"]["rps"],
        "mlflow_single_c8_p99_ms": r["mlflow"]["single_c8"]["p99_ms"],
        "rss_mb": {k: round(v["rss_mb"], 1) for k, v in r.items()},
        "start_s": {k: round(v["start_to_first_answer_s"], 2) for k, v in r.items()
                    if "start_to_first_answer_s" in v},
        **({"image_mb": round(results["image"]["image_mb"], 1),
            "container_start_to_ready_s": round(results["image"]["start_to_ready_s"], 2)}
           if "image" in results else {}),
        "route_handling": routing,
        "load_average": os.getloadavg(),
        "quick": args.quick,
    }  # fmt: skip
    results["summary"] = summary
    print(json.dumps(summary, indent=2))
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / f"serve-{time.strftime('%Y%m%dT%H%M%S')}.json"
    out.write_text(json.dumps(results, indent=2))
    print(f"written {out}")
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
