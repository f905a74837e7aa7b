"""The generated service vs ``mlflow models serve``: same model, same machine, same run.

    .venv/bin/python benchmarks/bench_serve.py [--repeat 3] [--duration 8]

Model: StandardScaler + LogisticRegression over 20 features (the FACTS.md setup), trained by a small
notebook that ``mlops_nb.productionize`` turns into a service; the very same fitted object is logged
to MLflow and served with ``mlflow models serve --env-manager local``. Both servers
run one worker on 127.0.0.1; load comes from ``wrk`` (Debian's ``wrk`` package). Figures are
medians of ``--repeat`` runs. Results are printed and written to
benchmarks/results/serve-<time>.json.
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


def make_service(work: Path) -> tuple[Path, Any, list[dict[str, float]]]:
    from mlops_nb.productionize.api import productionize

    nb = new_notebook(cells=[new_code_cell(c) for c in NOTEBOOK_CELLS])
    nbformat.write(nb, work / "bench.ipynb")
    result = productionize(work / "bench.ipynb", out=work / "service")
    model = pickle.loads((result.service_dir / "model" / "model.pkl").read_bytes())
    import pandas as pd

    ref = pd.read_csv(result.service_dir / "model" / "reference.csv")
    records = ref.to_dict(orient="records")
    return result.service_dir, model, records


def log_to_mlflow(model: Any, work: Path, example: Any) -> str:
    import mlflow
    import sklearn

    mlflow.set_tracking_uri(f"sqlite:///{work / 'mlflow.db'}")
    mlflow.set_experiment("bench")
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            model,
            name="model",
            pip_requirements=[f"scikit-learn=={sklearn.__version__}"],
            serialization_format="cloudpickle",
            input_example=example,
        )
    return str(info.model_uri)


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--duration", type=int, default=8)
    parser.add_argument(
        "--image", help="also measure this service image: size and container start to /readyz"
    )
    args = parser.parse_args()
    if args.image:
        figures = container_start(args.image, max(args.repeat, 5))
        print(f"image {args.image}: {figures}")
        return 0
    if shutil.which("wrk") is None:
        print("wrk is missing: apt-get install wrk", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="bench-serve-"))
    service, model, records = make_service(work)
    import pandas as pd

    columns = list(records[0])
    uri = log_to_mlflow(model, work, pd.DataFrame(records[:5]))
    one = records[0]
    batch = (records * (1000 // len(records) + 1))[:1000]
    split1 = json.dumps(
        {"dataframe_split": {"columns": columns, "data": [[one[c] for c in columns]]}}
    ).encode()
    split1000 = json.dumps(
        {"dataframe_split": {"columns": columns, "data": [[r[c] for c in columns] for r in batch]}}
    ).encode()
    ours_one = json.dumps(one).encode()
    ours_batch = json.dumps(batch).encode()

    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
        # mlflow models serve execs `uvicorn` from PATH
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    py = sys.executable
    results: dict[str, Any] = {"machine": {"cores": os.cpu_count()}, "servers": {}}
    p_mlflow, p_ours, p_ours0 = free_port(), free_port(), free_port()
    servers = {
        "mlflow": Server(
            "mlflow models serve",
            [
                py,
                "-m",
                "mlflow",
                "models",
                "serve",
                "-m",
                uri,
                "--env-manager",
                "local",
                "-h",
                "127.0.0.1",
                "-p",
                str(p_mlflow),
                "-w",
                "1",
            ],
            work,
            env,
            (f"http://127.0.0.1:{p_mlflow}/invocations", split1),
        ),
        "ours": Server(
            "generated service",
            [
                py,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(p_ours),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            service,
            env,
            (f"http://127.0.0.1:{p_ours}/predict", ours_one),
        ),
        "ours_no_recording": Server(
            "generated service, MONITOR_CAPACITY=0",
            [
                py,
                "-m",
                "uvicorn",
                "--factory",
                "app.main:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(p_ours0),
                "--workers",
                "1",
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            service,
            {**env, "MONITOR_CAPACITY": "0"},
            (f"http://127.0.0.1:{p_ours0}/predict", ours_one),
        ),
    }
    scenarios = {
        "mlflow": {
            "single_c8": ("/invocations", split1, 8),
            "single_c32": ("/invocations", split1, 32),
            "batch1000_c1": ("/invocations", split1000, 1),
            "batch1000_c4": ("/invocations", split1000, 4),
        },
        "ours": {
            "single_c8": ("/predict", ours_one, 8),
            "single_c32": ("/predict", ours_one, 32),
            "invocations_single_c8": ("/invocations", split1, 8),
            "single_c1": ("/predict", ours_one, 1),
            "batch1000_c1": ("/invocations", split1000, 1),
            "batch1000_c4": ("/invocations", split1000, 4),
            "predict_batch1000_c1": ("/predict", ours_batch, 1),
        },
        "ours_no_recording": {"single_c1": ("/predict", ours_one, 1)},
    }
    ports = {"mlflow": p_mlflow, "ours": p_ours, "ours_no_recording": p_ours0}
    try:
        for key, server in servers.items():
            starts = []
            for _ in range(args.repeat):
                starts.append(server.start())
                server.stop()
                wait_port_free(ports[key])
            results["servers"][key] = {"start_to_first_answer_s": statistics.median(starts)}
            print(f"{server.name:40s} start to first answer {statistics.median(starts):.2f} s")
        for server in servers.values():
            server.start()
        # all servers up (idle ones cost nothing); runs alternate between servers so that noise
        # from the machine hits every server alike
        plan = [(key, name, spec) for key in servers for name, spec in scenarios[key].items()]
        collected: dict[tuple[str, str], list[dict[str, float]]] = {}
        for key, _, (path, body, conns) in plan:
            wrk(f"http://127.0.0.1:{ports[key]}{path}", body, conns, 2, work)  # warm-up
        for _ in range(args.repeat):
            for key, name, (path, body, conns) in plan:
                url = f"http://127.0.0.1:{ports[key]}{path}"
                collected.setdefault((key, name), []).append(
                    wrk(url, body, conns, args.duration, work)
                )
        for (key, name), runs in collected.items():
            results["servers"][key][name] = median_runs(runs)
            print(f"{servers[key].name:40s} {name:24s} {results['servers'][key][name]}", flush=True)
    finally:
        for server in servers.values():
            server.stop()
    m, o = results["servers"]["mlflow"], results["servers"]["ours"]
    summary = {
        "single_c8_throughput_x": o["single_c8"]["rps"] / m["single_c8"]["rps"],
        "single_c32_throughput_x": o["single_c32"]["rps"] / m["single_c32"]["rps"],
        "single_c8_p99_ratio": o["single_c8"]["p99_ms"] / m["single_c8"]["p99_ms"],
        "single_c32_p99_ratio": o["single_c32"]["p99_ms"] / m["single_c32"]["p99_ms"],
        "batch1000_throughput_x": o["batch1000_c4"]["rps"] / m["batch1000_c4"]["rps"],
        "batch1000_p50_ms": o["batch1000_c1"]["p50_ms"],
        "recording_p50_overhead_ms": o["single_c1"]["p50_ms"]
        - results["servers"]["ours_no_recording"]["single_c1"]["p50_ms"],
        "start_s": {"mlflow": m["start_to_first_answer_s"], "ours": o["start_to_first_answer_s"]},
    }
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
