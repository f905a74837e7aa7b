"""`mlops-nb pipeline run|show` as a user types them; and the example pipeline of notebooks/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from integration.pipeline.helpers import children, executions, runs
from support import NOTEBOOKS, MlflowServer

from mlops_nb.cli import main
from mlops_nb.config import get_settings
from mlops_nb.pipeline.api import run_pipeline
from mlops_nb.tracking.outbox import Outbox

pytestmark = pytest.mark.integration


def _wait_for_pipeline_runs(experiment: str, timeout: float = 90.0) -> list:  # type: ignore[type-arg]
    """The pipeline runs, once the detached worker has emptied the outbox."""
    outbox = Outbox(get_settings().spool_dir)
    deadline = time.monotonic() + timeout
    while outbox.pending() and time.monotonic() < deadline:
        time.sleep(0.2)
    assert outbox.pending() == [], "the detached worker did not deliver the queued runs"
    return [r for r in runs(experiment) if r.data.tags.get("mlops_nb.kind") == "pipeline"]


def _cli_in_fresh_process(args: list[str]) -> str:
    """Run the CLI in a new interpreter; the last stdout line lists the heavy modules it loaded."""
    code = (
        "import json, sys\n"
        "from mlops_nb.cli import main\n"
        f"rc = main({args!r})\n"
        "heavy = ('mlflow', 'papermill', 'nbconvert', 'distributed', 'pydantic', 'pandas')\n"
        "print(json.dumps([m for m in heavy if m in sys.modules]))\n"
        "sys.exit(rc)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return proc.stdout


def test_run_then_cached_rerun_then_show(chain: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "run", str(chain)]) == 0
    out = capsys.readouterr().out
    assert "finished" in out and "pipeline run" in out
    produced = executions(chain.parent)

    # the cached rerun as a user types it, in a fresh process: nothing heavy may be imported
    out = _cli_in_fresh_process(["pipeline", "run", str(chain)])
    assert executions(chain.parent) == produced
    assert out.count("cached (outputs from run") == 4
    heavy = json.loads(out.strip().splitlines()[-1])
    assert heavy == [], f"a fully cached rerun imported {heavy}"

    # the cached run is recorded by a detached process (the CLI does not import MLflow for it)
    first, second = _wait_for_pipeline_runs("chain")
    assert second.info.status == "FINISHED"
    cached = children("chain", second.info.run_id)
    assert sorted(cached) == ["a", "b", "c", "side"]
    originals = children("chain", first.info.run_id)
    assert {n: r.data.tags["mlops_nb.cached_from"] for n, r in cached.items()} == {
        n: r.info.run_id for n, r in originals.items()
    }

    assert main(["pipeline", "show", str(chain)]) == 0
    out = capsys.readouterr().out
    rows = [line for line in out.splitlines() if line.count("│") >= 7]  # table rows, not the tree
    assert len(rows) == 4 and all("cached" in row for row in rows)


def test_exit_codes_for_invalid_and_failing_pipelines(
    chain: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = chain.parent
    good = chain.read_text()
    chain.write_text(good.replace("needs: [b]", "needs: [bee]"))
    assert main(["pipeline", "run", str(chain)]) == 2
    assert "step 'c': needs unknown step 'bee'" in capsys.readouterr().err
    assert main(["pipeline", "run", str(chain), "--only", "zzz"]) == 2

    chain.write_text(good)
    (root / "fail-b.flag").write_text("")
    assert main(["pipeline", "run", str(chain)]) == 1
    captured = capsys.readouterr()
    assert "step 'b' failed: cell #2" in captured.err
    assert "RuntimeError: b: fail-b.flag exists" in captured.err
    assert "resumes from 'b'" in captured.out


def test_example_pipeline(isolated: Path) -> None:
    """The example of notebooks/pipeline (what `make demo` runs) works from a copy."""
    example = isolated / "example"
    shutil.copytree(
        NOTEBOOKS / "pipeline",
        example,
        ignore=shutil.ignore_patterns("out", "data", "models", "reports", ".mlops-nb", "*.db"),
    )
    result = run_pipeline(example / "pipeline.yaml")
    assert result.ok, [s.message for s in result.failed_steps]
    metrics = json.loads((example / "reports" / "metrics.json").read_text())
    assert metrics["accuracy"] > 0.85
    steps = children("wine-pipeline", result.run_id)
    assert sorted(steps) == ["evaluate", "prepare", "train"]
    tracked = children("wine-pipeline", steps["train"].info.run_id)
    assert len(tracked) == 1  # the %%track cell of train.ipynb, nested under the train step
    [cell_run] = tracked.values()
    assert cell_run.data.params.get("n_estimators") == "100"
    assert cell_run.data.metrics["train_accuracy"] > 0.9


def test_cached_rerun_while_the_server_is_down_is_queued_then_synced_once(
    chain: Path,
    mlflow_server: MlflowServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server.uri)
    assert main(["pipeline", "run", str(chain)]) == 0
    (first,) = runs("chain")[:1]
    originals = children("chain", first.info.run_id)
    mlflow_server.stop()

    assert main(["pipeline", "run", str(chain)]) == 0  # nothing executes; nothing is lost either
    assert capsys.readouterr().out.count("cached (outputs from run") == 4
    outbox = Outbox(get_settings().spool_dir)
    assert len(outbox.pending()) == 5  # the pipeline run and its 4 cached steps, queued

    mlflow_server.start()
    assert main(["sync"]) == 0
    assert "delivered 'chain'" in capsys.readouterr().out
    assert outbox.pending() == []
    assert main(["sync"]) == 0  # a second sync has nothing left to deliver

    parents = [r for r in runs("chain") if r.data.tags.get("mlops_nb.kind") == "pipeline"]
    assert len(parents) == 2
    second = parents[1]
    assert second.info.status == "FINISHED" and second.data.metrics["steps_cached"] == 4
    cached = children("chain", second.info.run_id)
    assert {n: r.data.tags["mlops_nb.cached_from"] for n, r in cached.items()} == {
        n: r.info.run_id for n, r in originals.items()
    }
    assert all(r.data.tags["mlops_nb.cached"] == "true" for r in cached.values())
    assert cached["a"].data.params["text"] == originals["a"].data.params["text"] == "A"


def test_a_second_run_of_the_same_pipeline_is_refused_while_one_runs(
    chain: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holder = subprocess.Popen(  # another process that holds the pipeline's run lock
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from mlops_nb.pipeline import cache, spec\n"
            "with cache.run_lock(spec.load(sys.argv[1])):\n"
            "    print('locked', flush=True)\n"
            "    time.sleep(120)\n",
            str(chain),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        assert main(["pipeline", "run", str(chain)]) == 2
        err = capsys.readouterr().err
        assert "another run of this pipeline is in progress" in err
        assert f"(process {holder.pid})" in err
        assert executions(chain.parent) == []  # nothing ran, nothing was overwritten
    finally:
        holder.kill()  # however the holder ends, its lock goes with it
        holder.wait()
    from mlops_nb.pipeline import cache, spec

    with cache.run_lock(spec.load(chain)):
        pass
