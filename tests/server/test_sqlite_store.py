"""The direct sqlite reader (no MLflow import) reads what MlflowClient reads from the same store.

This is the test that fails when MLflow changes its table layout: the panel then needs an update
of ``mlops_nb/server/sqlite_store.py`` (until then it falls back to MlflowClient).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from server.panel_store import N_TRAIN, point_at_root

from mlops_nb.server import sqlite_store


@pytest.fixture
def db(tmp_path: Path, seeded_store: Path) -> Path:
    copy = tmp_path / "mlflow.db"
    shutil.copy(seeded_store, copy)
    point_at_root(copy, tmp_path)
    return copy


def test_runs_params_metrics_and_tags_match_mlflow(db: Path, tmp_path: Path):
    from mlflow.tracking import MlflowClient

    notebook = str((tmp_path / "train.ipynb").resolve())
    ours = {r.run_id: r for r in sqlite_store.notebook_runs(db, notebook)}
    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    experiments = [e.experiment_id for e in client.search_experiments()]
    theirs = client.search_runs(
        experiments, filter_string=f"tags.`mlops_nb.notebook` = '{notebook}'", max_results=1000
    )
    assert len(ours) == len(theirs) == N_TRAIN
    for run in theirs:
        mine = ours[run.info.run_id]
        assert mine.experiment_id == run.info.experiment_id
        assert mine.name == run.info.run_name
        assert mine.status == run.info.status
        assert (mine.start_time, mine.end_time) == (run.info.start_time, run.info.end_time)
        assert mine.artifact_uri == run.info.artifact_uri
        assert mine.params == run.data.params
        assert mine.metrics == run.data.metrics
        assert mine.tags == run.data.tags
        history = client.get_metric_history(run.info.run_id, "rmse")
        assert sqlite_store.metric_history(db, run.info.run_id)["rmse"] == [
            (m.step, m.value, m.timestamp) for m in history
        ]


def test_deleted_runs_and_experiments_are_not_listed(db: Path, tmp_path: Path):
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{db}")
    notebook = str((tmp_path / "train.ipynb").resolve())
    first = sqlite_store.notebook_runs(db, notebook)[0]
    client.delete_run(first.run_id)
    assert first.run_id not in {r.run_id for r in sqlite_store.notebook_runs(db, notebook)}
    client.delete_experiment(client.get_experiment_by_name("train").experiment_id)
    assert sqlite_store.notebook_runs(db, notebook) == []


def test_a_file_that_is_not_a_store_is_a_schema_mismatch(tmp_path: Path):
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE x (a)").connection.commit()
    with pytest.raises(sqlite_store.SchemaMismatch, match="runs"):
        sqlite_store.notebook_runs(other, "/a.ipynb")


def test_reading_runs_imports_neither_mlflow_nor_writes(db: Path, tmp_path: Path):
    before = db.stat().st_mtime_ns
    code = (
        "import sys\n"
        "from pathlib import Path\n"
        "from mlops_nb.config import get_settings\n"
        "from dataclasses import replace\n"
        "from mlops_nb.server import runs, schemas\n"
        f"settings = replace(get_settings(), tracking_uri='sqlite:///{db}')\n"
        f"nb = Path({str(tmp_path / 'train.ipynb')!r})\n"
        "loaded = runs.load_runs(settings, nb)\n"
        "page = runs.page(loaded, schemas.RunsQuery(notebook='train.ipynb'), settings, 'x')\n"
        "assert page.total == 120, page.total\n"
        "heavy = {'mlflow', 'sqlalchemy', 'pandas'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
    assert db.stat().st_mtime_ns == before


def test_the_mlflow_fallback_finds_names_with_quotes(db: Path, tmp_path: Path):
    """Other stores (a tracking server) are read through MlflowClient's filter strings."""
    import sqlite3

    from mlops_nb.server.runs import _mlflow_notebook_runs

    names = {"it's.ipynb": ("train-1", "train-2"), """it's "ok".ipynb""": ("train-3",)}
    with sqlite3.connect(db) as con:
        for name, runs in names.items():
            marks = ",".join("?" * len(runs))
            con.execute(
                "UPDATE tags SET value = ? WHERE key = 'mlops_nb.notebook' AND run_uuid IN "
                f"(SELECT run_uuid FROM runs WHERE name IN ({marks}))",
                (str((tmp_path / name).resolve()), *runs),
            )
    for name, runs in names.items():
        path = str((tmp_path / name).resolve())
        found = _mlflow_notebook_runs(f"sqlite:///{db}", path)
        assert sorted(r.name for r in found) == sorted(runs)
        assert sorted(r.name for r in sqlite_store.notebook_runs(db, path)) == sorted(runs)
