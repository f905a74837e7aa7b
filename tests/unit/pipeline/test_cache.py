"""Cache keys: what changes a step's key and what does not; cache states before any run."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from mlops_nb.pipeline import cache
from mlops_nb.pipeline import notebook as nbmod
from mlops_nb.pipeline.api import load_pipeline, pipeline_status

Make = Callable[..., Path]

YAML = """
steps:
  - name: a
    notebook: a.ipynb
    parameters: {text: A}
    inputs: [raw.txt]
    outputs: [a.txt]
  - name: b
    notebook: b.ipynb
    inputs: [a.txt]
"""


def _key(path: Path, step: str) -> str:
    pipeline = load_pipeline(path)
    return cache.step_key(pipeline, pipeline.steps[step], cache.StateStore(pipeline))


def _edit(notebook: Path, change: Callable[[dict], None]) -> None:
    nb = json.loads(notebook.read_text())
    change(nb)
    notebook.write_text(json.dumps(nb))


def test_key_ignores_outputs_and_metadata_but_not_code(workdir: Make) -> None:
    path = workdir(YAML, notebooks=("a.ipynb", "b.ipynb"), files=("raw.txt",))
    before = _key(path, "a")

    def outputs(nb: dict) -> None:
        nb["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "hi"}]
        nb["cells"][1]["execution_count"] = 7
        nb["metadata"]["widgets"] = {"x": 1}

    _edit(path.parent / "a.ipynb", outputs)
    assert _key(path, "a") == before

    _edit(path.parent / "a.ipynb", lambda nb: nb["cells"][1]["source"].append("\n# edited"))
    assert _key(path, "a") != before


def test_key_follows_parameters_and_input_contents(workdir: Make) -> None:
    path = workdir(YAML, notebooks=("a.ipynb", "b.ipynb"), files=("raw.txt",))
    before = _key(path, "a")
    path.write_text(YAML.replace("{text: A}", "{text: B}"))
    changed_params = _key(path, "a")
    assert changed_params != before
    (path.parent / "raw.txt").write_text("other data")
    assert _key(path, "a") not in (before, changed_params)


def test_states_before_any_run(workdir: Make) -> None:
    path = workdir(YAML, notebooks=("a.ipynb", "b.ipynb"), files=("raw.txt",))
    statuses = pipeline_status(path)
    assert [(s.name, s.needs, s.cache_state, s.last_status) for s in statuses] == [
        ("a", (), "never-run", None),
        ("b", ("a",), "never-run", None),
    ]


def test_states_after_a_recorded_success(workdir: Make) -> None:
    path = workdir(YAML, notebooks=("a.ipynb", "b.ipynb"), files=("raw.txt",))
    pipeline = load_pipeline(path)
    store = cache.StateStore(pipeline)
    store.record("a", key=_key(path, "a"), run_id="r1", status="FINISHED", error=None)
    store.save()
    status = {s.name: s for s in pipeline_status(path)}
    assert status["a"].cache_state == "missing-outputs"  # a.txt was never written
    (path.parent / "a.txt").write_text("A")
    status = {s.name: s for s in pipeline_status(path)}
    assert status["a"].cache_state == "cached"
    assert status["a"].last_run_id == "r1"
    (path.parent / "raw.txt").write_text("changed")
    assert {s.name: s for s in pipeline_status(path)}["a"].cache_state == "stale"


def test_file_digests_are_memoised_until_the_file_changes(workdir: Make) -> None:
    path = workdir(YAML, notebooks=("a.ipynb", "b.ipynb"), files=("raw.txt",))
    store = cache.StateStore(load_pipeline(path))
    raw = path.parent / "raw.txt"
    first = store.file_digest(raw)
    assert store.file_digest(raw) == first
    raw.write_text("a longer content")
    assert store.file_digest(raw) != first
    assert store.file_digest(path.parent / "absent") is None


def test_failed_cell_is_mapped_back_to_the_source_notebook() -> None:
    executed = {
        "cells": [
            {"cell_type": "markdown", "metadata": {"tags": ["papermill-error-cell-tag"]}},
            {"cell_type": "code", "metadata": {"tags": ["parameters"]}},
            {"cell_type": "code", "metadata": {"tags": ["injected-parameters"]}},
            {"cell_type": "code", "metadata": {}},
            {"cell_type": "markdown", "metadata": {"tags": ["papermill-error-cell-tag"]}},
            {"cell_type": "code", "metadata": {}},
        ]
    }
    # papermill counts cells without its error banners: index 3 is the last code cell
    assert nbmod.source_index(executed, 3) == 2
    failure = nbmod.CellFailure(2, 4, "ValueError", "boom", "\nraise ValueError('boom')\n")
    assert failure.describe() == (
        "cell #3 (In [4], \"raise ValueError('boom')\") raised ValueError: boom"
    )
