"""Model choice end to end: an exploratory loop of unseeded searches, a final model, a CV loop and a
save-and-reload section; productionize serves the final model and says what it passed over."""

from __future__ import annotations

import json
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

pytestmark = pytest.mark.integration


def test_the_final_model_is_served_not_the_loops(tmp_path: Path, copy_nb: Any) -> None:
    from mlops_nb.productionize.api import productionize

    nb = copy_nb("prod_search_loop.ipynb", tmp_path / "nb")
    events: list[Any] = []
    result = productionize(nb, out=tmp_path / "svc", progress=events.append)
    assert result.ok, result.checks
    assert result.model_var == "model"
    metadata = json.loads((result.service_dir / "model" / "metadata.json").read_text())
    assert metadata["model_var"] == "model"
    train_py = result.train_py.read_text()
    assert "RandomizedSearchCV" not in train_py and "joblib" not in train_py
    # the loops are listed with what to pass
    infos = [e.message for e in events if e.step == "extract" and e.status == "info"]
    assert any("`search` (cell 3, line 6)" in m and "--model-var search" in m for m in infos)
    assert any("`m` (cell 5, line 6)" in m for m in infos)
    assert any("--model-var search" in note for note in result.notes)
    # the notebook ran only up to the model's cell: its save-and-reload cell did not run
    assert not (nb.parent / "model.joblib").exists()
    ran = next(e for e in events if e.step == "notebook" and e.status == "done")
    assert "up to cell 4" in ran.message
    # the served model is the notebook's `final` (max_depth 4, 25 seeded trees)
    with open(result.service_dir / "model" / "model.pkl", "rb") as handle:
        served = pickle.load(handle)
    assert type(served).__name__ == "RandomForestClassifier"
    assert (served.n_estimators, served.max_depth, served.random_state) == (25, 4, 0)
    rows = pd.read_csv(nb.parent / "wine.csv").drop(columns=["label", "region"])
    assert len(rows) >= 50


def test_an_alias_after_a_reload_selects_the_same_fit(tmp_path: Path, copy_nb: Any) -> None:
    from mlops_nb.exceptions import ConfigError
    from mlops_nb.productionize.api import productionize

    nb = copy_nb("prod_search_loop.ipynb", tmp_path / "nb")
    user = tmp_path / "nb" / "prod-search-loop-service"
    (user / "app").mkdir(parents=True)
    (user / "app" / "mine.py").write_text("keep me\n")
    # the alias is resolved before the output folder is checked (which refuses a user folder)
    with pytest.raises(ConfigError, match="not made by mlops-nb"):
        productionize(nb, out=user, model_var="served", force=True)
    assert (user / "app" / "mine.py").read_text() == "keep me\n"
