"""``make demo``: the whole mlops-nb flow, headless, on the embedded defaults.

Each step is a small function; the demo works in a scratch copy of ``notebooks/`` so the
repository stays clean, with its own sqlite store and outbox, and prints what each step made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def banner(title: str) -> None:
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)), flush=True)


def cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "mlops_nb.cli", *args]
    print("$ mlops-nb " + " ".join(args), flush=True)
    subprocess.run(cmd, check=True)


def execute(notebook: Path) -> None:
    """Run a notebook in a real kernel, the way `mlops-nb run` names it to the kernel."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(notebook, as_version=4)
    os.environ["MLOPS_NB_NOTEBOOK_PATH"] = str(notebook)
    try:
        NotebookClient(
            nb,
            timeout=900,
            kernel_name="python3",
            resources={"metadata": {"path": str(notebook.parent)}},
        ).execute()
    finally:
        os.environ.pop("MLOPS_NB_NOTEBOOK_PATH", None)
    nbformat.write(nb, notebook)


def print_runs() -> None:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(os.environ["MLFLOW_TRACKING_URI"])
    experiments = {e.experiment_id: e.name for e in client.search_experiments()}
    runs = client.search_runs(list(experiments), order_by=["attributes.start_time ASC"])
    print(f"{'experiment':<18} {'run':<24} {'status':<9} metrics")
    for run in runs:
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in sorted(run.data.metrics.items())[:4])
        print(
            f"{experiments[run.info.experiment_id]:<18} {run.info.run_name:<24} "
            f"{run.info.status:<9} {metrics}"
        )


def step_track(work: Path) -> None:
    banner("Track: notebooks/01_quickstart.ipynb, every %%track cell becomes an MLflow run")
    execute(work / "01_quickstart.ipynb")
    cli("sync")
    print_runs()


def step_pipeline(work: Path) -> None:
    banner("Pipelines: notebooks/pipeline (prepare -> train -> evaluate), then a cached rerun")
    spec = str(work / "pipeline" / "pipeline.yaml")
    cli("pipeline", "show", spec)
    cli("pipeline", "run", spec)
    cli("pipeline", "run", spec)  # executes no notebook; its runs are queued in the outbox
    cli("sync")  # delivers them now (a detached worker would too, a moment later)
    print_runs()


BASE_IMAGE = "mlops-nb/python-base:3.11-bookworm"


def docker_engine() -> bool:
    probe = subprocess.run(["docker", "info"], capture_output=True, check=False)
    return probe.returncode == 0


def step_productionize(work: Path) -> None:
    banner("Productionize: 02_productionize.ipynb -> train.py, features.py, FastAPI service")
    service = work / "out" / "breast-cancer-service"
    args = ["productionize", str(work / "02_productionize.ipynb"), "--out", str(service), "--force"]
    if shutil.which("docker") and docker_engine():
        # no image registry here: a local Debian base image and a hermetic wheelhouse build
        subprocess.run(["bash", str(REPO / "scripts" / "build-base-image.sh")], check=True)
        args += ["--build", "--smoke", "--wheelhouse", "--base-image", BASE_IMAGE]
    else:
        print("no Docker engine (`make system-deps` starts one): the service without its image")
    cli(*args)
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"],
        cwd=service,
        check=True,
    )
    print(f"serve it: mlops-nb serve {service} --port 8080")


def step_drift(work: Path) -> None:
    banner("Drift: notebooks/03_drift.ipynb, frames, then a served model's live traffic")
    execute(work / "03_drift.ipynb")
    cli("drift", str(work / "out" / "reference.csv"), str(work / "out" / "current.parquet"))
    print(f"full Evidently report (offline): {work / 'out' / 'drift-report.html'}")


STEPS: list[Callable[[Path], None]] = [step_track, step_pipeline, step_productionize, step_drift]


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="mlops-nb-demo-"))
    shutil.copytree(REPO / "notebooks", work, dirs_exist_ok=True)
    os.chdir(work)
    os.environ.setdefault("MLFLOW_TRACKING_URI", f"sqlite:///{work / 'mlflow.db'}")
    os.environ.setdefault("MLOPS_NB_HOME", str(work / ".mlops-nb"))
    print(f"demo folder: {work}\ntracking store: {os.environ['MLFLOW_TRACKING_URI']}")
    started = time.perf_counter()
    for step in STEPS:
        step(work)
    banner(f"done in {time.perf_counter() - started:.0f} s")
    print(f"see the runs: cd {work} && mlops-nb ui")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
