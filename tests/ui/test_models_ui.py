"""The panel's Models tab in a real browser (Debian's chromium via Galata) against a real
``jupyter lab``: a seeded registry in the notebook's store, a promotion from the tab with its
gates, a refused one, and the card. Screenshots: ``test-artifacts/ui/models-*.png``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from support import REPO, chromium_path, require

pytestmark = pytest.mark.ui

ARTIFACTS = Path(os.environ.get("MLOPS_NB_ARTIFACTS", REPO / "test-artifacts" / "ui"))


def test_models_tab_promote_and_card(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    require(chromium_path() is not None, "chromium (/usr/bin/chromium)")
    require(shutil.which("node") is not None, "node")
    from integration.registry.seed import seed
    from ui.panel_lab import ensure_built, lab, playwright

    from mlops_nb.registry.api import promote

    ensure_built()
    store = tmp_path / "root" / "nb"  # the store a kernel of nb/01_quickstart.ipynb uses
    store.mkdir(parents=True)
    seeded = seed(store, f"sqlite:///{store / 'mlflow.db'}", odd_runs=False)
    first = promote(seeded.runs["weak"], "cancer", tracking_uri=seeded.uri)
    assert first.moved and first.version == "1"
    with lab(tmp_path) as (base, _root):
        code = playwright(
            "tests/models.spec.ts",
            base,
            ARTIFACTS,
            MLOPS_NB_GOOD_RUN=seeded.runs["good"],
            MLOPS_NB_WEAK_RUN=seeded.runs["weak"],
        )
    assert code == 0, f"the browser test failed; see {ARTIFACTS} and {tmp_path}/jupyter-lab-*.log"
    from mlflow import MlflowClient

    client = MlflowClient(seeded.uri)
    assert str(client.get_model_version_by_alias("cancer", "champion").version) == "2"
    for shot in ("models-01-list", "models-02-promoted", "models-03-refused", "models-04-card"):
        assert (ARTIFACTS / f"{shot}.png").stat().st_size > 10_000
