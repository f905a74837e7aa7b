"""The MLOps panel in a real browser (Debian's chromium via Galata/Playwright) against a real
``jupyter lab``: track, see runs, compare, productionize, serve, drift (each step asserts what
the page shows); then the 1,000-run render benchmark.

Screenshots: ``test-artifacts/ui/`` (``MLOPS_NB_ARTIFACTS`` overrides).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from support import REPO, chromium_path, require

pytestmark = pytest.mark.ui

ARTIFACTS = Path(os.environ.get("MLOPS_NB_ARTIFACTS", REPO / "test-artifacts" / "ui"))


@pytest.fixture(scope="module")
def built() -> None:
    require(chromium_path() is not None, "chromium (/usr/bin/chromium)")
    require(shutil.which("node") is not None, "node")
    from ui.panel_lab import ensure_built

    ensure_built()


PIPELINE = """\
name: panel-ui
steps:
  - name: prepare
    notebook: step.ipynb
    parameters: {step: prepare, output: data.txt, text: raw}
    outputs: [data.txt]
  - name: train
    notebook: step.ipynb
    parameters: {step: train, inputs: [data.txt], output: model.txt, text: fit}
    inputs: [data.txt]
    outputs: [model.txt]
  - name: check
    notebook: broken.ipynb
    needs: [train]
"""


def write_pipeline(folder: Path) -> None:
    """prepare -> train -> check; check raises in its cell #3 (``raise ValueError(...)``)."""
    folder.mkdir(parents=True)
    for name in ("step.ipynb", "broken.ipynb"):
        shutil.copy(REPO / "tests" / "notebooks" / "pipeline" / name, folder / name)
    (folder / "pipeline.yaml").write_text(PIPELINE)


def test_track_compare_promote_productionize_pipeline_in_the_browser(
    built: None, tmp_path: Path
) -> None:
    from ui.panel_lab import lab, playwright

    with lab(tmp_path) as (base, root):
        write_pipeline(root / "pipe")
        code = playwright("tests/panel.spec.ts", base, ARTIFACTS)
    assert code == 0, f"the browser test failed; see {ARTIFACTS} and {tmp_path}/jupyter-lab-*.log"
    # what the page showed is asserted step by step in panel.spec.ts (screenshots are artifacts);
    # here: the service folder the panel named is really there, next to the notebook
    service = root / "nb" / "01-quickstart-service"
    assert (service / "train.py").is_file() and (service / "app").is_dir()
    # the promotions from the Runs tab are in the notebook's store: @champion stayed on v1
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{root / 'nb' / 'mlflow.db'}")
    champion = client.get_model_version_by_alias("01_quickstart", "champion")
    assert str(champion.version) == "1"
    assert {str(v.version) for v in client.search_model_versions("name='01_quickstart'")} == {
        "1",
        "2",
    }
    # the pipeline ran twice from the panel: prepare's notebook once (then cached), check failed
    assert (root / "pipe" / "executions.log").read_text().splitlines() == ["prepare", "train"]


def test_panel_renders_1000_runs_benchmark(built: None, tmp_path: Path) -> None:
    from ui.panel_lab import lab, playwright, seed_bench

    (tmp_path / "root").mkdir()
    seed_bench(tmp_path / "root", n=1000)
    with lab(tmp_path) as (base, _root):
        code = playwright("tests/bench.spec.ts", base, ARTIFACTS, MLOPS_NB_BENCH_REPEAT="3")
    assert code == 0, f"the benchmark run failed; see {ARTIFACTS}"
    figures = json.loads((ARTIFACTS / "panel-bench.json").read_text())
    assert figures["runs_in_experiment"] == 1000
    assert len(figures["open_notebook_to_first_page_ms"]["all"]) == 3
    assert len(figures["compare_10_runs_rendered_ms"]["all"]) == 3
    assert figures["first_render_after_server_start_ms"] > 0
