"""Seed an MLflow sqlite store with runs tagged the way ``%%track`` tags them."""

from __future__ import annotations

from pathlib import Path

import nbformat

T0 = 1_763_800_000_000  # ms
N_TRAIN = 120  # runs of train.ipynb (more than two pages of 50)
N_OTHER = 3  # runs of sub/other.ipynb


def seed_store(db: Path, n_train: int = N_TRAIN, n_other: int = N_OTHER) -> Path:
    """Runs of ``<root>/train.ipynb`` (run i starts at T0 + i s, lasts 2 s, alpha = i/100,
    rmse = 1/(i+1)) and of ``<root>/sub/other.ipynb``, in two experiments. Paths are those the
    test server will see once the store is copied into its root (``@ROOT@`` is replaced there)."""
    from mlflow.entities import Metric, Param, RunTag
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    train = client.create_experiment("train")
    other = client.create_experiment("other")
    specs = [(train, "train.ipynb", i) for i in range(n_train)]
    specs += [(other, "sub/other.ipynb", i) for i in range(n_other)]
    for experiment, notebook, i in specs:
        start = T0 + i * 1000
        run = client.create_run(
            experiment,
            start_time=start,
            run_name=f"{Path(notebook).stem}-{i}",
            tags={
                "mlops_nb.notebook": f"@ROOT@/{notebook}",
                "mlops_nb.notebook_name": Path(notebook).name,
                "mlops_nb.cell_id": f"cell-{i % 2}",
                "mlops_nb.cell_key": f"key-{i % 2}",
            },
        )
        client.log_batch(
            run.info.run_id,
            params=[Param("alpha", str(i / 100)), Param("model", "ridge")],
            metrics=[Metric("rmse", 1 / (i + 1), start, 0)],
            tags=[RunTag("stage", "test")],
        )
        client.set_terminated(run.info.run_id, "FINISHED" if i % 10 else "FAILED", start + 2000)
    return db


def point_at_root(db: Path, root: Path) -> None:
    """Rewrite the ``@ROOT@`` placeholder of the notebook tags to ``root`` (resolved)."""
    import sqlite3

    with sqlite3.connect(db) as con:
        con.execute(
            "UPDATE tags SET value = replace(value, '@ROOT@', ?) WHERE key = 'mlops_nb.notebook'",
            (str(root.resolve()),),
        )


def write_notebook(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("x = 1"))
    nbformat.write(nb, path)
    return path
