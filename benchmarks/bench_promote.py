"""Promotion benchmark: ``mlops-nb promote`` with threshold, no-regression (10k-row evaluation
set) and drift gates, end to end in a fresh process (CLI start included), side by side with the
script a user writes with MLflow alone for the same decision (register the model, score it and
the champion on the same data, compare, move the alias; MLflow has no drift check).

Run: ``.venv/bin/python benchmarks/bench_promote.py [--repeat 3] [--rows 10000]``. Prints a
table and writes ``benchmarks/results/promote.json``. Figures are medians of ``--repeat``
promotions, each of a new candidate run against the previous champion, on a sqlite store.
Target: mlops-nb <= 5 s on the 2-core machine. mlops-nb scores the two models in a worker
process started at once (see mlops_nb/registry/gates/scorer.py): the CPU column counts it too.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"
BIN = Path(sys.executable).parent

PEER = """
import sys
import mlflow
import pandas as pd
from mlflow import MlflowClient
from sklearn.metrics import accuracy_score

run_id, eval_csv = sys.argv[1], sys.argv[2]
client = MlflowClient()
version = mlflow.register_model(f"runs:/{run_id}/model", "peer").version
data = pd.read_csv(eval_csv)
x, y = data.drop(columns=["y"]), data["y"]
candidate = accuracy_score(y, mlflow.pyfunc.load_model(f"models:/peer/{version}").predict(x))
try:
    champion = client.get_model_version_by_alias("peer", "champion").version
    held = accuracy_score(y, mlflow.pyfunc.load_model(f"models:/peer/{champion}").predict(x))
except mlflow.exceptions.MlflowException:
    held = float("-inf")
if candidate >= held and client.get_run(run_id).data.metrics["accuracy"] >= 0.5:
    client.set_registered_model_alias("peer", "champion", version)
"""


def _setup(root: Path, rows: int, candidates: int) -> dict[str, object]:
    import mlflow
    import pandas as pd
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression

    x, y = make_classification(n_samples=rows * 2, n_features=20, random_state=0)
    columns = [f"x{i}" for i in range(20)]
    train = pd.DataFrame(x[:rows], columns=columns)
    evaluation = pd.DataFrame(x[rows:], columns=columns).assign(y=y[rows:])
    train.to_csv(root / "train.csv", index=False)
    evaluation.to_csv(root / "eval.csv", index=False)
    evaluation.drop(columns=["y"]).to_csv(root / "current.csv", index=False)
    uri = f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    # the models' artifacts in the temporary folder too (the default is ./mlruns in the cwd)
    mlflow.create_experiment("bench", artifact_location=(root / "artifacts").as_uri())
    mlflow.set_experiment("bench")
    models = [
        LogisticRegression(C=0.001 * 3**i, max_iter=500).fit(train, y[:rows])
        for i in range(candidates + 1)
    ]
    scored = sorted((m.score(evaluation[columns], y[rows:]), i) for i, m in enumerate(models))
    runs = []  # each candidate at least as good as the one before: every promotion passes
    for accuracy, i in scored:
        with mlflow.start_run() as run:
            mlflow.log_metric("accuracy", float(accuracy))
            mlflow.sklearn.log_model(
                models[i],
                name="model",
                pip_requirements=["scikit-learn"],
                input_example=train.head(2),
            )
        runs.append(run.info.run_id)
    return {"uri": uri, "runs": runs}


def _subreaper() -> None:
    """Adopt the processes our commands leave running (mlops-nb's scoring worker ends just
    after the CLI): waited for, their CPU time is counted in RUSAGE_CHILDREN too (Linux)."""
    import contextlib
    import ctypes

    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER


def _reap() -> None:
    while True:
        try:
            os.waitpid(-1, 0)
        except ChildProcessError:
            return


def _wall(cmd: list[str], env: dict[str, str], cpu: list[float] | None = None) -> float:
    """Wall time of ``cmd`` (until the command exits); its CPU time (user + system, with the
    processes it started) appended to ``cpu``: on a machine other jobs load, CPU time is the
    figure that does not depend on them."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - t0
    _reap()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if cpu is not None:
        cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(
            f"{' '.join(cmd[:3])} failed ({done.returncode}):\n{done.stdout}{done.stderr}"
        )
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--rows", type=int, default=10_000)
    args = parser.parse_args()
    _subreaper()
    with tempfile.TemporaryDirectory(prefix="bench-promote-") as tmp:
        root = Path(tmp)
        setup = _setup(root, args.rows, args.repeat)
        runs: list[str] = setup["runs"]  # type: ignore[assignment]
        env = {**os.environ, "MLFLOW_TRACKING_URI": str(setup["uri"])}
        promote = [
            str(BIN / "mlops-nb"),
            "promote",
            "",
            "--name",
            "bench",
            "--require",
            "accuracy>=0.5",
            "--no-regression",
            "--eval-data",
            str(root / "eval.csv"),
            "--target",
            "y",
            "--max-drift-share",
            "0.5",
            "--reference",
            str(root / "train.csv"),
            "--current",
            str(root / "current.csv"),
        ]
        peer = [sys.executable, "-c", PEER, "", str(root / "eval.csv")]
        # the first run becomes the champion of both, untimed
        _wall([*promote[:2], runs[0], *promote[3:]], env)
        _wall([*peer[:3], runs[0], *peer[4:]], env)
        ours, theirs, ours_cpu, theirs_cpu = [], [], [], []  # type: ignore[var-annotated]
        for run_id in runs[1:]:  # alternate, each a new candidate against the champion
            ours.append(_wall([*promote[:2], run_id, *promote[3:]], env, ours_cpu))
            theirs.append(_wall([*peer[:3], run_id, *peer[4:]], env, theirs_cpu))
    result = {
        "rows": args.rows,
        "repeat": args.repeat,
        "mlops_nb_promote_s": statistics.median(ours),
        "mlflow_script_s": statistics.median(theirs),
        "mlops_nb_promote_cpu_s": statistics.median(ours_cpu),
        "mlflow_script_cpu_s": statistics.median(theirs_cpu),
        "load_average_1min": os.getloadavg()[0],
        "runs_s": {"mlops_nb": ours, "mlflow_script": theirs},
        "gates": "threshold + no regression (both models scored) + drift (20 columns)",
        "peer": "MLflow script: register, score candidate and champion, compare, set alias",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "promote.json").write_text(json.dumps(result, indent=2))
    print(f"{'':<48} median wall (runs) | median CPU; load average {os.getloadavg()[0]:.1f}")
    print(
        f"{'mlops-nb promote (3 gates, CLI start incl.)':<48} {result['mlops_nb_promote_s']:.2f} s "
        f"  ({', '.join(f'{t:.2f}' for t in ours)}) | {result['mlops_nb_promote_cpu_s']:.2f} s"
    )
    print(
        f"{'MLflow script (no drift gate, process start)':<48} {result['mlflow_script_s']:.2f} s "
        f"  ({', '.join(f'{t:.2f}' for t in theirs)}) | {result['mlflow_script_cpu_s']:.2f} s"
    )


if __name__ == "__main__":
    main()
