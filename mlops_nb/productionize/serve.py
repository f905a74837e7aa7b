"""``mlops-nb serve DIR``: run a service directory locally with uvicorn (no Docker)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from mlops_nb.exceptions import ConfigError, require


def serve_command(service: Path, port: int, host: str = "127.0.0.1", workers: int = 1) -> list[str]:
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
    """Run uvicorn in the foreground until interrupted; returns its exit code."""
    require("uvicorn", "serve", "mlops-nb serve")
    service = check_service_dir(service)
    env = {**os.environ, "MODEL_DIR": str(service / "model")}
    try:
        return subprocess.call(serve_command(service, port, host, workers), cwd=service, env=env)
    except KeyboardInterrupt:
        return 0
