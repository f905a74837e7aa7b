"""A registry store seeded once with real runs (real models fitted on scikit-learn's
breast-cancer data, logged the way ``%%track`` logs them), copied for each test."""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass
from pathlib import Path

TARGET = "target"


@dataclass(frozen=True)
class Seeded:
    root: Path
    uri: str
    runs: dict[str, str]  # good, weak, two_models, no_model, with_eval -> run id
    eval_csv: Path
    train_csv: Path
    shifted_csv: Path


def _log(mlflow, name, model, x_train, y_train, accuracy, extra_inputs=()):
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from mlflow.models import infer_signature

    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params({k: str(v)[:200] for k, v in model.get_params(deep=False).items()})
        mlflow.log_metric("accuracy", accuracy)
        mlflow.set_tags(
            {
                "mlops_nb.notebook": "/work/notebooks/cancer.ipynb",
                "mlops_nb.cell_id": f"cell-{name}",
                "mlflow.source.git.commit": "0123456789abcdef0123456789abcdef01234567",
                "mlops_nb.kind": "cell",
            }
        )
        client = mlflow.MlflowClient()
        inputs = [
            DatasetInput(
                Dataset(
                    "X_train",
                    "d1g35tx",
                    "code",
                    json.dumps({"expr": "X_train"}),
                    profile=json.dumps({"shape": list(x_train.shape)}),
                ),
                tags=[InputTag("mlflow.data.context", "training")],
            ),
            *extra_inputs,
        ]
        client.log_inputs(run.info.run_id, datasets=inputs)
        mlflow.sklearn.log_model(
            model,
            name="clf",
            signature=infer_signature(x_train.head(5), model.predict(x_train.head(5))),
            pip_requirements=["scikit-learn"],
            serialization_format="cloudpickle",
        )
        return run.info.run_id


def seed(root: Path, uri: str | None = None, *, odd_runs: bool = True) -> Seeded:
    """Data files under ``root``; runs in ``uri`` (default: a sqlite store under ``root``);
    ``odd_runs``: also a run with an evaluation dataset, one with two models and one with none."""
    import mlflow
    from mlflow.entities import Dataset, DatasetInput, InputTag
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score
    from sklearn.model_selection import train_test_split
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.tree import DecisionTreeClassifier

    frame = load_breast_cancer(as_frame=True).frame
    train, test = train_test_split(frame, test_size=0.3, random_state=0, stratify=frame[TARGET])
    x_train, y_train = train.drop(columns=[TARGET]), train[TARGET]
    x_test, y_test = test.drop(columns=[TARGET]), test[TARGET]
    eval_csv, train_csv, shifted_csv = root / "eval.csv", root / "train.csv", root / "shifted.csv"
    test.to_csv(eval_csv, index=False)
    x_train.to_csv(train_csv, index=False)
    shifted = x_test.copy()
    for column in shifted.columns[:20]:
        shifted[column] = shifted[column] * 1.6
    shifted.to_csv(shifted_csv, index=False)

    local = uri is None
    uri = uri or f"sqlite:///{root / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    mlflow.set_experiment(
        experiment_id=mlflow.create_experiment(
            "cancer", artifact_location=str(root / "artifacts") if local else None
        )
    )
    good = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(x_train, y_train)
    weak = DecisionTreeClassifier(max_depth=1, random_state=0).fit(x_train, y_train)
    acc = {m: float(accuracy_score(y_test, m.predict(x_test))) for m in (good, weak)}
    runs = {
        "good": _log(mlflow, "good", good, x_train, y_train, acc[good]),
        "weak": _log(mlflow, "weak", weak, x_train, y_train, acc[weak]),
    }
    if not odd_runs:
        return Seeded(root, uri, runs, eval_csv, train_csv, shifted_csv)
    eval_input = DatasetInput(
        Dataset("test", "e4a1", "local", json.dumps({"uri": str(eval_csv)})),
        tags=[InputTag("mlflow.data.context", "evaluation")],
    )
    runs["with_eval"] = _log(mlflow, "with_eval", good, x_train, y_train, acc[good], [eval_input])
    with mlflow.start_run(run_name="two") as run:
        for name in ("a", "b"):
            mlflow.sklearn.log_model(
                weak,
                name=name,
                pip_requirements=["scikit-learn"],
                serialization_format="cloudpickle",
            )
        runs["two_models"] = run.info.run_id
    with mlflow.start_run(run_name="none") as run:
        mlflow.log_metric("accuracy", 0.5)
        runs["no_model"] = run.info.run_id
    return Seeded(root, uri, runs, eval_csv, train_csv, shifted_csv)


def copy_store(seed: Seeded, dest: Path) -> Seeded:
    """The seeded store and its artifacts under ``dest``, every stored path rewritten."""
    shutil.copytree(seed.root, dest, dirs_exist_ok=True)
    old, new = str(seed.root), str(dest)
    with sqlite3.connect(dest / "mlflow.db") as con:
        tables = [r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for col in con.execute(f"PRAGMA table_info('{table}')").fetchall():
                if "CHAR" in col[2].upper() or "TEXT" in col[2].upper():
                    con.execute(
                        f'UPDATE "{table}" SET "{col[1]}" = replace("{col[1]}", ?, ?) '
                        f'WHERE "{col[1]}" LIKE ?',
                        (old, new, f"%{old}%"),
                    )
    return Seeded(
        dest,
        f"sqlite:///{dest / 'mlflow.db'}",
        seed.runs,
        dest / "eval.csv",
        dest / "train.csv",
        dest / "shifted.csv",
    )
