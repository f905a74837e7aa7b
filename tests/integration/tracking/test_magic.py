"""``%%track`` in an in-process IPython shell, logging to a real sqlite MLflow store."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from support import all_runs

from mlops_nb.tracking.session import get_session

pytestmark = pytest.mark.integration

IRIS = """
from sklearn.datasets import load_iris
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split
X, y = load_iris(return_X_y=True, as_frame=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
"""


def tracked(ip: Any, body: str, line: str = "") -> Any:
    result = ip.run_cell(f"%%track {line}\n{body}")
    assert get_session().flush(60), "runs were not delivered"
    return result


def only_run(client: Any) -> Any:
    runs = all_runs(client)
    assert len(runs) == 1, [r.info.run_name for r in runs]
    return runs[0]


def artifact_paths(client: Any, run_id: str, path: str = "") -> set[str]:
    out: set[str] = set()
    for item in client.list_artifacts(run_id, path or None):
        if item.is_dir:
            out |= artifact_paths(client, run_id, item.path)
        else:
            out.add(item.path)
    return out


def test_cell_becomes_one_run_and_keeps_its_result(ip: Any, client: Any) -> None:
    result = tracked(
        ip,
        "learning_rate = 0.05\nepochs = 3\nval_loss = 0.42\nval_accuracy = 0.91\nepochs * 2",
        "--name first --tag owner=ana --experiment exp-a",
    )
    assert result.success and result.result == 6
    assert ip.user_ns["val_loss"] == 0.42
    run = only_run(client)
    assert run.info.status == "FINISHED"
    assert run.info.run_name == "first"
    assert client.get_experiment(run.info.experiment_id).name == "exp-a"
    assert run.data.params == {"learning_rate": "0.05", "epochs": "3"}
    assert run.data.metrics == {"val_loss": 0.42, "val_accuracy": 0.91}
    assert run.data.tags["owner"] == "ana"
    assert run.data.tags["mlops_nb.notebook"] == "unknown"
    assert run.data.tags["mlops_nb.notebook_path_source"] == "unknown"
    paths = artifact_paths(client, run.info.run_id)
    assert {"cell.py", "environment/requirements.txt", "environment/python.json"} <= paths
    cell = client.download_artifacts(run.info.run_id, "cell.py")
    assert "val_accuracy = 0.91" in Path(cell).read_text()
    freeze = Path(client.download_artifacts(run.info.run_id, "environment/requirements.txt"))
    assert "mlflow==" in freeze.read_text()


def test_failing_cell_records_failed_run_and_raises_unchanged(ip: Any, client: Any) -> None:
    ip.run_cell("class Boom(Exception):\n    pass")
    result = ip.run_cell("%%track\nthreshold = 3\nraise Boom('bad threshold')")
    get_session().flush(60)
    assert type(result.error_in_exec).__name__ == "Boom"
    assert str(result.error_in_exec) == "bad threshold"
    run = only_run(client)
    assert run.info.status == "FAILED"
    assert run.data.params == {"threshold": "3"}
    assert run.data.tags["mlops_nb.error"] == "Boom: bad threshold"
    tb = Path(client.download_artifacts(run.info.run_id, "traceback.txt")).read_text()
    assert "raise Boom('bad threshold')" in tb and "Boom: bad threshold" in tb


def test_exception_object_is_the_users(ip: Any) -> None:
    ip.run_cell("errors = []\nclass Marked(Exception):\n    pass\nerr = Marked('x')")
    result = ip.run_cell("%%track\nraise err")
    assert result.error_in_exec is ip.user_ns["err"]


def test_fitted_model_is_logged_loadable_with_signature_and_data(ip: Any, client: Any) -> None:
    import mlflow

    ip.run_cell(IRIS)
    tracked(
        ip,
        "clf = RandomForestClassifier(n_estimators=20, max_depth=3, random_state=0)\n"
        "clf.fit(X_train, y_train)\naccuracy = clf.score(X_test, y_test)",
    )
    run = only_run(client)
    assert run.info.run_name == "RandomForestClassifier"
    assert run.data.params["n_estimators"] == "20" and run.data.params["max_depth"] == "3"
    assert 0.8 < run.data.metrics["accuracy"] <= 1.0
    models = client.search_logged_models(experiment_ids=[run.info.experiment_id])
    assert [m.name for m in models] == ["clf"] and models[0].source_run_id == run.info.run_id
    mlflow.set_tracking_uri(client.tracking_uri)
    loaded = mlflow.sklearn.load_model(models[0].model_uri)
    X_test = ip.user_ns["X_test"]
    np.testing.assert_array_equal(loaded.predict(X_test), ip.user_ns["clf"].predict(X_test))
    info = mlflow.models.get_model_info(models[0].model_uri)
    assert [c["name"] for c in info.signature.inputs.to_dict()] == list(X_test.columns)
    requirements = (
        Path(mlflow.artifacts.download_artifacts(models[0].model_uri)) / "requirements.txt"
    )
    assert "scikit-learn==" in requirements.read_text()
    names = {d.dataset.name: d.dataset for d in run.inputs.dataset_inputs}
    assert set(names) == {"X_train", "y_train"}
    assert json.loads(names["X_train"].profile)["shape"] == [112, 4]
    assert "sepal length (cm)" in names["X_train"].schema


def test_model_snapshot_is_taken_at_cell_end(ip: Any, client: Any) -> None:
    """Refitting in the next cell must not change what the tracked cell logged."""
    import mlflow

    ip.run_cell(IRIS)
    ip.run_cell(
        "%%track\n"
        "clf = RandomForestClassifier(n_estimators=5, random_state=0).fit(X_train, y_train)"
    )
    expected = ip.user_ns["clf"].predict_proba(ip.user_ns["X_test"])
    ip.run_cell("clf.set_params(random_state=7, n_estimators=2).fit(X_train, y_train)")
    get_session().flush(60)
    model = client.search_logged_models(experiment_ids=[only_run(client).info.experiment_id])[0]
    mlflow.set_tracking_uri(client.tracking_uri)
    loaded = mlflow.sklearn.load_model(model.model_uri)
    np.testing.assert_allclose(loaded.predict_proba(ip.user_ns["X_test"]), expected)


def test_figures_are_logged(ip: Any, client: Any) -> None:
    tracked(
        ip,
        "import matplotlib.pyplot as plt\nimport plotly.graph_objects as go\n"
        "fig, ax = plt.subplots()\nax.plot([1, 2, 3])\n"
        "pfig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))",
    )
    run = only_run(client)
    paths = artifact_paths(client, run.info.run_id)
    png = [p for p in paths if p.startswith("figures/") and p.endswith(".png")]
    assert png, paths
    assert Path(client.download_artifacts(run.info.run_id, png[0])).read_bytes()[:4] == b"\x89PNG"
    assert "figures/pfig.html" in paths
    html = Path(client.download_artifacts(run.info.run_id, "figures/pfig.html")).read_text()
    assert "Plotly.newPlot" in html
    assert not re.search(r"<script[^>]+src=[\"']https?:", html), "the figure must work offline"


def test_rerun_of_a_cell_shows_metric_deltas(ip: Any, client: Any) -> None:
    from mlops_nb.tracking.widget import RunCard

    cards: list[RunCard] = []
    original = RunCard.show_record

    def spy(self: RunCard, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        cards.append(self)

    RunCard.show_record = spy  # type: ignore[method-assign]
    try:
        tracked(ip, "depth = 2\naccuracy = 0.80", "--name sweep-cell")
        tracked(ip, "depth = 4\naccuracy = 0.85", "--name sweep-cell")
    finally:
        RunCard.show_record = original  # type: ignore[method-assign]
    assert cards[0].deltas == {}
    assert cards[1].deltas["accuracy"] == pytest.approx(0.05)
    assert cards[1].status == "logged" and cards[1].run_url.endswith(cards[1].run_id)
    runs = all_runs(client)
    assert len(runs) == 2
    assert {r.data.tags["mlops_nb.cell_key"] for r in runs} == {"name:sweep-cell"}


def test_explicit_params_metrics_and_no_model(ip: Any, client: Any) -> None:
    ip.run_cell(IRIS)
    tracked(
        ip,
        "config = {'depth': 3}\nthroughput = 120.5\n"
        "clf = RandomForestClassifier(n_estimators=3, random_state=0).fit(X_train, y_train)",
        "--params config --metrics throughput --no-model",
    )
    run = only_run(client)
    assert run.data.params["config"] == "{'depth': 3}"
    assert run.data.metrics["throughput"] == 120.5
    assert client.search_logged_models(experiment_ids=[run.info.experiment_id]) == []


def test_a_tracking_failure_never_breaks_the_cell(
    ip: Any, isolated: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from mlops_nb.tracking.session import reset_session

    blocker = isolated / "not-a-dir"
    blocker.write_text("")
    monkeypatch.setenv("MLOPS_NB_SPOOL_DIR", str(blocker / "outbox"))
    reset_session()
    result = ip.run_cell("%%track\nvalue = 41 + 1\nvalue")
    assert result.success and result.result == 42
    assert "this cell was not tracked" in capsys.readouterr().err


def test_bad_magic_arguments_say_what_is_wrong(ip: Any) -> None:
    result = ip.run_cell("%%track --tag nokeyvalue\nx = 1")
    assert "key=value" in str(result.error_in_exec)


def test_top_level_await_works_in_a_tracked_cell(ip: Any, client: Any) -> None:
    result = tracked(ip, "import asyncio\nawait asyncio.sleep(0)\nval_score = 0.7\nval_score * 2")
    assert result.success and result.result == 1.4
    assert only_run(client).data.metrics == {"val_score": 0.7}


def test_run_card_carries_its_front_end(ip: Any) -> None:
    """The synced state the browser needs: anywidget's module and the card's code."""
    from mlops_nb.tracking.widget import RunCard

    state = RunCard.create().get_state()
    assert "export default" in state["_esm"] and "mlops-nb-card" in state["_css"]
    assert state["_view_name"] == "AnyView" and state["_anywidget_id"]


def test_mlops_config_overrides_store_and_experiment(ip: Any, isolated: Path) -> None:
    from mlflow.tracking import MlflowClient

    from mlops_nb import config
    from mlops_nb.tracking.session import get_session

    other = f"sqlite:///{isolated / 'other.db'}"
    worker = get_session().client.pid
    try:
        ip.run_line_magic("mlops", f"config --tracking-uri {other} --experiment chosen")
        tracked(ip, "rate = 3\nerror_rate = 0.25")
        # records name their store: the same worker (MLflow already imported) delivers there
        assert get_session().client.pid == worker is not None
    finally:
        config.configure(tracking_uri=None, experiment=None)
    client = MlflowClient(other)
    [run] = all_runs(client)
    assert client.get_experiment(run.info.experiment_id).name == "chosen"
    assert run.data.metrics == {"error_rate": 0.25}


def test_printed_and_shown_metrics_are_logged(ip: Any, client: Any) -> None:
    ip.run_cell(IRIS + "from sklearn.metrics import accuracy_score\n")
    result = tracked(
        ip,
        "clf = RandomForestClassifier(n_estimators=5, random_state=0).fit(X_train, y_train)\n"
        'print("Accuracy:", accuracy_score(y_test, clf.predict(X_test)))\n'
        "clf.score(X_test, y_test)",
        "--name printed",
    )
    expected = ip.user_ns["clf"].score(ip.user_ns["X_test"], ip.user_ns["y_test"])
    assert result.result == expected  # the cell still shows its value
    metrics = only_run(client).data.metrics
    assert metrics["accuracy"] == pytest.approx(expected)
    assert metrics["score"] == pytest.approx(expected)
