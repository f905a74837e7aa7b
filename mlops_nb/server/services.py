"""Services started from the panel: ``mlops-nb serve <dir>`` on a free port of 127.0.0.1.

They run in their own process group and are stopped when the Jupyter server exits.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from mlops_nb.server import schemas
from mlops_nb.server.paths import relative

START_TIMEOUT_S = 90.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    service_dir: Path
    port: int
    proc: subprocess.Popen[bytes] = field(repr=False)
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def as_model(self, root: Path) -> schemas.ServiceInfo:
        return schemas.ServiceInfo(
            service_dir=relative(root, self.service_dir),
            url=self.url,
            pid=self.proc.pid,
            running=self.running,
            log=relative(root, self.log),
        )


class ServiceManager:
    def __init__(self) -> None:
        self._services: dict[Path, Service] = {}
        self._lock = threading.Lock()
        atexit.register(self.stop_all)

    def list(self) -> list[Service]:
        with self._lock:
            return list(self._services.values())

    def start(self, service_dir: Path) -> Service:
        """Start (or return the running) service of ``service_dir`` once it answers /healthz."""
        with self._lock:
            current = self._services.get(service_dir)
            if current is not None and current.running:
                return current
            port = free_port()
            log = service_dir / "serve.log"
            cmd = [sys.executable, "-m", "mlops_nb.cli", "serve", str(service_dir)]
            with os.fdopen(open_log(log), "ab") as out:
                proc = subprocess.Popen(
                    [*cmd, "--port", str(port)],
                    cwd=service_dir,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            service = Service(service_dir, port, proc, log)
            self._services[service_dir] = service
        wait_ready(service)
        return service

    def stop_all(self) -> None:
        for service in self.list():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(service.proc.pid, signal.SIGTERM)


def open_log(path: Path) -> int:
    """The service's log for appending; a symlink there is refused (never followed)."""
    return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o644)


def log_tail(path: Path, size: int = 1500) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        return f"(cannot read {path.name}: {exc.strerror})"
    with os.fdopen(fd, "rb") as f:
        f.seek(max(0, os.fstat(fd).st_size - size))
        return f.read().decode(errors="replace")


def wait_ready(service: Service, timeout: float = START_TIMEOUT_S) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.running:
            tail = log_tail(service.log)
            raise RuntimeError(f"the service exited with {service.proc.returncode}:\n{tail}")
        try:
            with urllib.request.urlopen(service.url + "/healthz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError(f"the service did not answer at {service.url} within {timeout:.0f} s")
