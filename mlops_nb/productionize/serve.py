"""``mlops-nb serve DIR``: run a service directory locally with uvicorn (no Docker)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from mlops_nb.exceptions import ConfigError, require

GRACE_SECONDS = 20.0  # after SIGTERM, uvicorn gets this long to finish its requests


def serve_command(service: Path, port: int, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
    if (service / "app" / "server.py").is_file():  # the service's own runner (header deadline)
        return [sys.executable, "-m", "app.server", "--host", host, "--port", str(port),
                "--workers", str(workers)]  # fmt: skip
    return [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "app.main:create_app",
        "--app-dir",
        str(service),
        "--host",
        host,
        "--port",
        str(port),
        "--workers",
        str(workers),
        "--no-access-log",
    ]


def check_service_dir(service: Path) -> Path:
    service = service.resolve()
    if not (service / "app" / "main.py").is_file() or not (service / "model").is_dir():
        raise ConfigError(
            f"{service} is not a service directory (no app/main.py and model/); make one with "
            "mlops-nb productionize NOTEBOOK --out DIR"
        )
    return service


def serve(service: Path, port: int = 8080, host: str = "127.0.0.1", workers: int = 1) -> int:
    """Run uvicorn in the foreground until it exits or this process gets SIGTERM/SIGINT, which
    are passed on to uvicorn (it finishes the requests in flight and frees the port); returns
    uvicorn's exit code (0 after a signal)."""
    require("uvicorn", "serve", "mlops-nb serve")
    service = check_service_dir(service)
    env = {**os.environ, "MODEL_DIR": str(service / "model")}
    child = subprocess.Popen(serve_command(service, port, host, workers), cwd=service, env=env)
    stopping: list[int] = []

    def forward(signum: int, _frame: object) -> None:
        stopping.append(signum)
        if child.poll() is None:
            child.send_signal(signal.SIGTERM if signum == signal.SIGTERM else signal.SIGINT)

    previous = {s: signal.signal(s, forward) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        while True:
            try:
                code = child.wait(timeout=GRACE_SECONDS if stopping else None)
                break
            except subprocess.TimeoutExpired:  # uvicorn did not stop in time after a signal
                child.kill()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if child.poll() is None:
            child.kill()
            child.wait()
    return 0 if stopping else code
