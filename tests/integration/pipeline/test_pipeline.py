"""`pipeline run` end to end: order, parallel branches, cache hits and misses, failure, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from integration.pipeline.helpers import children, executions, runs

from mlops_nb.pipeline.api import PipelineEvent, pipeline_status, run_pipeline

pytestmark = pytest.mark.integration


def _statuses(result) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {name: step.status for name, step in result.steps.items()}


def _append_cell(notebook: Path, source: str) -> None:
    nb = json.loads(notebook.read_text())
    nb["cells"].append(
        {
            "cell_type": "code",
            "execution_count": None,
            "id": "added",
            "metadata": {},
            "outputs": [],
            "source": source,
        }
    )
    notebook.write_text(json.dumps(nb))


def test_runs_in_order_then_a_second_run_executes_nothing(chain: Path) -> None:
    root = chain.parent
    first = run_pipeline(chain)
    assert first.ok, [s.message for s in first.failed_steps]
    done = executions(root)
    assert sorted(done) == ["a", "b", "c", "side"]
    assert done.index("a") < done.index("b") < done.index("c")
    assert (root / "c.txt").read_text() == "C+B+A+raw"

    parent = {r.info.run_id: r for r in runs("chain")}[first.run_id]
    assert parent.data.tags["mlops_nb.kind"] == "pipeline"
    assert parent.info.status == "FINISHED"
    steps = children("chain", first.run_id)
    assert sorted(steps) == ["a", "b", "c", "side"]
    assert {r.info.status for r in steps.values()} == {"FINISHED"}
    assert {r.data.tags["mlops_nb.kind"] for r in steps.values()} == {"step"}
    assert steps["b"].data.tags["mlops_nb.notebook"] == str(root / "b.ipynb")
    assert steps["b"].data.params["text"] == "B"
    assert (root / "out" / "b.ipynb").exists() and (root / "out" / "b.html").exists()

    events: list[PipelineEvent] = []
    second = run_pipeline(chain, progress=events.append)
    assert second.ok
    assert executions(root) == done  # no notebook executed at all
    assert _statuses(second) == {"a": "CACHED", "b": "CACHED", "c": "CACHED", "side": "CACHED"}
    assert sorted((e.kind, e.step) for e in events) == [
        ("cached", "a"),
        ("cached", "b"),
        ("cached", "c"),
        ("cached", "side"),
    ]
    cached = children("chain", second.run_id)
    assert sorted(cached) == ["a", "b", "c", "side"]
    for name, run in cached.items():
        assert run.data.tags["mlops_nb.cached"] == "true"
        assert run.data.tags["mlops_nb.cached_from"] == steps[name].info.run_id
        assert run.info.status == "FINISHED"
    assert {s.cache_state for s in pipeline_status(chain)} == {"cached"}


def test_a_change_reruns_only_the_changed_step_and_its_dependants(chain: Path) -> None:
    root = chain.parent
    assert run_pipeline(chain).ok
    first = executions(root)

    # an edit that changes what b writes: b and its dependant c rerun, a and side do not
    _append_cell(root / "b.ipynb", 'with open(output, "a") as fh:\n    fh.write("!")')
    states = {s.name: s.cache_state for s in pipeline_status(chain)}
    assert states == {"a": "cached", "b": "stale", "c": "stale", "side": "cached"}
    edited = run_pipeline(chain)
    assert _statuses(edited) == {"a": "CACHED", "b": "FINISHED", "c": "FINISHED", "side": "CACHED"}
    assert executions(root)[len(first) :] == ["b", "c"]
    assert (root / "c.txt").read_text() == "C+B+A+raw!"

    # an edit that leaves b's output identical: b reruns, c's inputs are unchanged so c is cached
    _append_cell(root / "b.ipynb", "comment_only = True")
    same = run_pipeline(chain)
    assert _statuses(same) == {"a": "CACHED", "b": "FINISHED", "c": "CACHED", "side": "CACHED"}

    # a changed input file: every step downstream of it reruns
    (root / "raw.txt").write_text("new raw data")
    changed = run_pipeline(chain)
    assert _statuses(changed) == {
        "a": "FINISHED",
        "b": "FINISHED",
        "c": "FINISHED",
        "side": "CACHED",
    }
    assert executions(root)[len(first) + 3 :] == ["a", "b", "c"]
    assert (root / "c.txt").read_text() == "C+B+A+new raw data!"


def test_failure_stops_dependants_and_the_rerun_resumes_from_it(chain: Path) -> None:
    root = chain.parent
    (root / "fail-b.flag").write_text("")
    failed = run_pipeline(chain)
    assert not failed.ok
    assert _statuses(failed) == {"a": "FINISHED", "b": "FAILED", "c": "SKIPPED", "side": "FINISHED"}
    message = failed.steps["b"].message
    assert "cell #2" in message and "RuntimeError: b: fail-b.flag exists" in message
    assert str(root / "out" / "b.ipynb") in message
    assert failed.steps["c"].message == "not run: step 'b' did not succeed"
    assert (root / "out" / "b.ipynb").exists()
    parent = {r.info.run_id: r for r in runs("chain")}[failed.run_id]
    assert parent.info.status == "FAILED"
    assert children("chain", failed.run_id)["b"].info.status == "FAILED"
    assert {s.name: s.last_status for s in pipeline_status(chain)}["b"] == "FAILED"

    before = executions(root)
    (root / "fail-b.flag").unlink()
    resumed = run_pipeline(chain)
    assert _statuses(resumed) == {"a": "CACHED", "b": "FINISHED", "c": "FINISHED", "side": "CACHED"}
    assert executions(root)[len(before) :] == ["b", "c"]


def test_only_and_from_rerun_the_selected_steps(chain: Path) -> None:
    root = chain.parent
    assert run_pipeline(chain).ok
    before = len(executions(root))
    only = run_pipeline(chain, only="b")  # --only honours the cache (an exported task relies on it)
    assert _statuses(only) == {"a": "SKIPPED", "b": "CACHED", "c": "SKIPPED", "side": "SKIPPED"}
    only = run_pipeline(chain, only="b", force=True)
    assert _statuses(only) == {"a": "SKIPPED", "b": "FINISHED", "c": "SKIPPED", "side": "SKIPPED"}
    from_b = run_pipeline(chain, from_step="b")
    assert _statuses(from_b)["c"] == "FINISHED"
    assert executions(root)[before:] == ["b", "b", "c"]


def test_a_step_that_does_not_write_its_outputs_fails(isolated: Path, chain: Path) -> None:
    root = chain.parent
    (root / "pipeline.yaml").write_text(
        "name: lazy\nsteps:\n  - name: lazy\n    notebook: a.ipynb\n"
        "    parameters: {step: lazy, output: ''}\n    outputs: [promised.csv]\n"
    )
    result = run_pipeline(root / "pipeline.yaml")
    assert _statuses(result) == {"lazy": "FAILED"}
    assert "did not write its declared output(s) promised.csv" in result.steps["lazy"].message
    [step] = children("lazy", result.run_id).values()
    assert step.info.status == "FAILED"
    assert "promised.csv" in step.data.tags["mlops_nb.error"]
