"""Helpers shared by the test tiers (import as ``from support import ...``)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO / "notebooks"
TEST_NOTEBOOKS = Path(__file__).resolve().parent / "notebooks"
REQUIRE_ALL = os.environ.get("MLOPS_NB_REQUIRE_ALL") == "1"


def require(available: bool, what: str) -> None:
    """Skip when ``what`` is missing, unless MLOPS_NB_REQUIRE_ALL=1 (CI), where it fails."""
    if available:
        return
    if REQUIRE_ALL:
        pytest.fail(f"{what} is required (MLOPS_NB_REQUIRE_ALL=1) but missing")
    pytest.skip(f"{what} not available")


def docker_available() -> bool:
    if shutil.which("docker") is None:
        return False
    return subprocess.run(["docker", "info"], capture_output=True, timeout=30).returncode == 0


def chromium_path() -> str | None:
    for candidate in ("/usr/bin/chromium", shutil.which("chromium") or ""):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(url: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                if resp.status < 500:
                    return
        except Exception as exc:
            last = exc
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer within {timeout}s: {last}")


@dataclass
class MlflowServer:
    """A real ``mlflow server`` process on 127.0.0.1 that a test can stop and start again."""

    port: int
    root: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def uri(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        log = open(self.root / "server.log", "ab")  # noqa: SIM115 - lives as long as the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mlflow",
                "server",
                "--backend-store-uri",
                f"sqlite:///{self.root / 'server.db'}",
                "--artifacts-destination",
                str(self.root / "artifacts"),
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                "1",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_http(self.uri + "/health", timeout=90)

    def stop(self) -> None:
        if self.proc is None:
            return
        import signal

        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


def all_runs(client: Any) -> list[Any]:
    """Every run in every experiment of an MLflow store, oldest first."""
    experiments = [e.experiment_id for e in client.search_experiments()]
    if not experiments:
        return []
    return list(client.search_runs(experiments, order_by=["attributes.start_time ASC"]))


class KernelSession:
    """A real kernel kept open across cells (tracked cells while a server comes and goes)."""

    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        from jupyter_client.manager import start_new_kernel

        self.km, self.kc = start_new_kernel(kernel_name="python3", cwd=str(cwd), env=env)

    def run(self, code: str, timeout: float = 120) -> tuple[str, float]:
        """Run a cell; return what it printed (stdout and stderr) and its wall time. A cell
        that raises fails the test."""
        started = time.perf_counter()
        msg_id = self.kc.execute(code)
        text = []
        while True:
            msg = self.kc.get_iopub_msg(timeout=timeout)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text.append(msg["content"]["text"])
            elif msg["msg_type"] == "error":
                raise AssertionError(f"cell failed: {msg['content']['evalue']}")
            elif msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                return "".join(text), time.perf_counter() - started

    def kill(self) -> None:
        import signal

        os.kill(self.km.provisioner.process.pid, signal.SIGKILL)
        self.kc.stop_channels()

    def shutdown(self) -> None:
        self.kc.stop_channels()
        if self.km.is_alive():
            self.km.shutdown_kernel(now=True)


def run_in_service(service: Path, code: str, *args: str, timeout: float = 300, **env: str) -> Any:
    """Run ``python -c code args`` in a generated service's folder (its ``app`` importable, ``env``
    added to the environment) and return the JSON its last line of output prints."""
    import json

    run = subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=service,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": str(service), **env},
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def scraped(text: str | bytes, names: set[str] | None = None) -> Samples:
    """A Prometheus scrape as ``{(sample name, sorted labels): value}``: every sample of the named
    families (all when ``names`` is None), ``*_created`` series left out."""
    from prometheus_client.parser import text_string_to_metric_families

    out = {}
    for family in text_string_to_metric_families(
        text.decode() if isinstance(text, bytes) else text
    ):
        if names is None or family.name in names:
            for s in family.samples:
                if not s.name.endswith("_created"):
                    out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def template_module(*parts: str) -> Any:
    """A module of the service template, imported from its file (``template_module("service",
    "app", "engines.py")``): the template is rendered into services, not imported as a package."""
    import importlib.util

    from mlops_nb._resources import templates_dir

    path = templates_dir().joinpath(*parts)
    spec = importlib.util.spec_from_file_location(f"template_{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    package = path.parent
    if not (package / "__init__.py").is_file() or package.name in sys.modules:
        spec.loader.exec_module(module)
        return module
    # the module's imports of its siblings (``from app.onnx_session import ...``) resolve to the
    # template's own package while it loads; nothing of it stays in sys.modules afterwards (tests
    # import rendered services' ``app`` packages under the same name)
    init = importlib.util.spec_from_file_location(
        package.name, package / "__init__.py", submodule_search_locations=[str(package)]
    )
    assert init is not None and init.loader is not None
    sys.modules[package.name] = importlib.util.module_from_spec(init)
    try:
        spec.loader.exec_module(module)
    finally:
        loaded = [m for m in sys.modules if m.split(".")[0] == package.name]
        for name in loaded:
            del sys.modules[name]
    return module


def remove_image(tag: str) -> None:
    """Remove a test image and the dangling build stage its multi-stage build leaves behind."""
    subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=120)
    subprocess.run(
        ["docker", "image", "prune", "-f", "--filter", "label=mlops-nb.stage=build"],
        capture_output=True,
        timeout=120,
    )


#: Run inside a service image (``python3 -c``): every shared object under lib-dynload and the
#: virtualenv loads (the dynamic loader finds all it needs in the image), every standard-library
#: module and every top-level package of the virtualenv imports, the C.UTF-8 locale is there, and
#: neither a shell nor a package manager nor the standard library's unusable parts are. Prints
#: "N libraries, M modules"; exits with the failures.
IMAGE_PROBE = r"""
import ctypes, importlib, locale, os, pkgutil, sys, sysconfig, warnings
warnings.simplefilter("ignore")
DROPPED = {"curses", "nis", "tkinter", "turtle", "turtledemo", "idlelib", "ensurepip", "lib2to3",
           "test", "pydoc_data"}
SIDE_EFFECTS = {"antigravity", "this", "__hello__", "__phello__"}
stdlib = sysconfig.get_path("stdlib")
dynload = os.path.join(sysconfig.get_path("platstdlib"), "lib-dynload")
site = sysconfig.get_path("platlib")
failed, libraries, modules = [], 0, 0
for top in (dynload, site):
    for d, _, names in os.walk(top):
        for n in names:
            p = os.path.join(d, n)
            if os.path.islink(p) or ".so" not in n:
                continue
            with open(p, "rb") as f:
                if f.read(4) != b"\x7fELF":
                    continue
            try:
                ctypes.CDLL(p, mode=os.RTLD_LAZY | os.RTLD_LOCAL)
                libraries += 1
            except OSError as e:
                failed.append(f"load {p}: {e}")
present = {m.name for m in pkgutil.iter_modules([stdlib, dynload])}
failed += [f"{m} is in the image" for m in sorted(DROPPED & present)]
failed += [f"{p} is in the image" for p in ("/bin/sh", "/usr/bin/apt-get", "/usr/bin/dpkg",
           "/usr/bin/perl") if os.path.lexists(p)]
for paths in ([stdlib, dynload], [site]):
    for m in sorted({m.name for m in pkgutil.iter_modules(paths)} - SIDE_EFFECTS - DROPPED):
        if m.startswith("_") and paths == [site]:
            continue
        try:
            importlib.import_module(m)
            modules += 1
        except Exception as e:
            failed.append(f"import {m}: {type(e).__name__}: {e}")
try:
    locale.setlocale(locale.LC_ALL, "C.UTF-8")
except locale.Error as e:
    failed.append(f"locale C.UTF-8: {e}")
print(f"{libraries} libraries, {modules} modules")
sys.exit("\n".join(failed) or None)
"""


def probe_image(tag: str) -> subprocess.CompletedProcess[str]:
    """Run :data:`IMAGE_PROBE` in the image as its own user."""
    return subprocess.run(
        ["docker", "run", "--rm", "--network", "none", "--entrypoint", "python3", tag, "-c",
         IMAGE_PROBE],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
