"""A real ``jupyter lab`` for the panel's browser tests and benchmark.

Galata's server configuration (no token, helper extension), the root in a temp folder with a
copy of the example notebook, the freshly built panel first on the labextensions path, and an
MLflow store in the root (``sqlite:///mlflow.db``, the store kernels and server share).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

from support import NOTEBOOKS, REPO, free_port, wait_http

EXTENSION = REPO / "extension"
BUILT = REPO / "mlops_nb" / "labextension"
BIN = Path(sys.executable).parent


def jlpm(*args: str, timeout: float = 900) -> None:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    subprocess.run([str(BIN / "jlpm"), *args], cwd=EXTENSION, env=env, check=True, timeout=timeout)


def ensure_built() -> None:
    """Install the JS dependencies and build the extension when missing or older than src/."""
    if not (EXTENSION / "node_modules" / "@jupyterlab" / "galata").is_dir():
        jlpm("install")
    from hatch_jupyter_builder.utils import is_stale

    if not (BUILT / "package.json").exists() or is_stale(BUILT, EXTENSION / "src"):
        jlpm("build:prod")


def clone_runs(db: Path, template_run: str, n: int) -> None:
    """``n`` copies of one run (every table keyed by run_uuid), starting one second apart:
    1,000 runs in a second instead of a minute through the client."""
    with sqlite3.connect(db) as con:
        tables = [
            t
            for (t,) in con.execute("SELECT name FROM sqlite_master WHERE type='table'")
            if any(c[1] == "run_uuid" for c in con.execute(f"PRAGMA table_info({t})"))
        ]
        (start,) = con.execute(
            "SELECT start_time FROM runs WHERE run_uuid = ?", (template_run,)
        ).fetchone()
        for i in range(n):
            new = uuid.uuid4().hex
            for table in tables:
                cols = [c[1] for c in con.execute(f"PRAGMA table_info({table})")]
                select = ", ".join("?" if c == "run_uuid" else c for c in cols)
                con.execute(
                    f"INSERT INTO {table} ({', '.join(cols)}) SELECT {select} FROM {table} "
                    "WHERE run_uuid = ?",
                    (new, template_run),
                )
            con.execute(
                "UPDATE runs SET start_time = ?, end_time = ?, name = ? WHERE run_uuid = ?",
                (start + i * 1000, start + i * 1000 + 1500, f"bench-{i:04d}", new),
            )
            con.execute(
                "UPDATE tags SET value = ? WHERE run_uuid = ? AND key = 'mlflow.runName'",
                (f"bench-{i:04d}", new),
            )
            con.execute(
                "UPDATE params SET value = ? WHERE run_uuid = ? AND key = 'alpha'",
                (str(i / 1000), new),
            )
        con.execute("DELETE FROM runs WHERE run_uuid = ?", (template_run,))
        for table in tables:
            if table != "runs":
                con.execute(f"DELETE FROM {table} WHERE run_uuid = ?", (template_run,))


def seed_bench(root: Path, n: int = 1000) -> Path:
    """``nb/bench.ipynb`` in ``root`` with ``n`` runs in the root's store (experiment "bench")."""
    import nbformat
    from mlflow.entities import Metric, Param
    from mlflow.tracking import MlflowClient

    (root / "nb").mkdir(parents=True, exist_ok=True)
    notebook = root / "nb" / "bench.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, notebook)
    db = notebook.parent / "mlflow.db"  # the store its kernel would use (its folder)
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiment = client.create_experiment("bench")
    tag = str(notebook.resolve())
    run = client.create_run(
        experiment,
        start_time=1_763_800_000_000,
        run_name="template",
        tags={"mlops_nb.notebook": tag, "mlops_nb.cell_id": "c1", "mlops_nb.cell_key": "k1"},
    )
    client.log_batch(
        run.info.run_id,
        params=[Param("alpha", "0"), Param("max_depth", "6"), Param("model", "forest")],
        metrics=[Metric(m, 0.9, 0, 0) for m in ("accuracy", "f1", "roc_auc")],
    )
    client.set_terminated(run.info.run_id, "FINISHED")
    clone_runs(db, run.info.run_id, n)
    return notebook


def write_config(folder: Path, root: Path, port: int, extensions: Path | None) -> Path:
    import jupyterlab

    galata = Path(jupyterlab.__file__).parent / "galata"
    paths = [str(galata)] + ([str(extensions)] if extensions else [])
    config = folder / "jupyter_server_test_config.py"
    config.write_text(
        "from jupyterlab.galata import configure_jupyter_server\n"
        "configure_jupyter_server(c)\n"
        f"c.ServerApp.ip = '127.0.0.1'\n"
        f"c.ServerApp.port = {port}\n"
        f"c.ServerApp.root_dir = {str(root)!r}\n"
        f"c.LabServerApp.extra_labextensions_path = {paths!r}\n"
        "c.ServerApp.allow_root = True\n"
        "c.LabApp.news_url = None\n"
        "c.LabApp.check_for_updates_class = 'jupyterlab.NeverCheckForUpdate'\n"
    )
    return config


def wait_lab(base: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}: see {log}")
        try:
            wait_http(base + "/api/status", timeout=1)
            return
        except TimeoutError:
            continue
    raise TimeoutError(f"jupyter lab did not answer at {base} within {timeout}s: see {log}")


@contextlib.contextmanager
def lab(tmp: Path, *, with_panel: bool = True) -> Iterator[tuple[str, Path]]:
    """A running ``jupyter lab``; yields (base URL, root). ``with_panel=False`` disables the
    mlops-nb lab extension (page config), for the load-time comparison."""
    root = tmp / "root"
    (root / "nb").mkdir(parents=True, exist_ok=True)
    shutil.copy(NOTEBOOKS / "01_quickstart.ipynb", root / "nb" / "01_quickstart.ipynb")
    links = tmp / "labextensions"
    links.mkdir(exist_ok=True)
    if not (links / "mlops-nb").exists():
        (links / "mlops-nb").symlink_to(BUILT, target_is_directory=True)
    config_dir = tmp / "jupyter-config"
    (config_dir / "labconfig").mkdir(parents=True, exist_ok=True)
    page_config = {"disabledExtensions": {"mlops-nb": True}} if not with_panel else {}
    import json

    (config_dir / "labconfig" / "page_config.json").write_text(json.dumps(page_config))
    port = free_port()
    config = write_config(tmp, root, port, links)
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(config_dir),
        "MLOPS_NB_HOME": str(tmp / "mlops-nb-home"),
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("MLFLOW_TRACKING_URI", None)
    log = open(tmp / f"jupyter-lab-{port}.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [str(BIN / "jupyter"), "lab", f"--config={config}"],
        cwd=root,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_lab(base, proc, tmp / f"jupyter-lab-{port}.log")
        yield base, root
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
        log.close()


def playwright(spec: str, base_url: str, artifacts: Path, timeout: float = 900, **env: str) -> int:
    """Run one Playwright spec of extension/ui-tests against ``base_url``; returns its exit code."""
    artifacts.mkdir(parents=True, exist_ok=True)
    full_env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1",
        "MLOPS_NB_BASE_URL": base_url,
        "MLOPS_NB_ARTIFACTS": str(artifacts),
        **env,
    }
    cmd = [
        str(BIN / "jlpm"),
        "playwright",
        "test",
        "--config",
        "ui-tests/playwright.config.ts",
        spec,
    ]
    return subprocess.run(cmd, cwd=EXTENSION, env=full_env, timeout=timeout).returncode
