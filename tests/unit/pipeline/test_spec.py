"""pipeline.yaml validation: every error names the step and the problem, before anything runs."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from support import TEST_NOTEBOOKS

from mlops_nb.pipeline.api import load_pipeline
from mlops_nb.pipeline.errors import PipelineError

PIPELINE_NOTEBOOKS = TEST_NOTEBOOKS / "pipeline"

Make = Callable[..., Path]

CHAIN = """
name: chain
steps:
  - name: a
    notebook: a.ipynb
    parameters: {output: a.txt}
    inputs: [raw.txt]
    outputs: [a.txt]
  - name: b
    notebook: b.ipynb
    inputs: [a.txt]
    outputs: [b.txt]
  - name: c
    notebook: c.ipynb
    needs: [b]
  - name: side
    notebook: a.ipynb
"""


def test_valid_pipeline_orders_steps_and_infers_dependencies(workdir: Make) -> None:
    path = workdir(CHAIN, notebooks=("a.ipynb", "b.ipynb", "c.ipynb"), files=("raw.txt",))
    pipeline = load_pipeline(path)
    assert pipeline.name == "chain"
    assert list(pipeline.steps) == ["a", "b", "c", "side"]
    assert pipeline.dependencies["b"] == ("a",)  # from the input a.txt, no `needs` written
    assert pipeline.order.index("a") < pipeline.order.index("b") < pipeline.order.index("c")
    assert pipeline.downstream(["b"]) == {"b", "c"}
    assert pipeline.upstream("c") == {"a", "b"}
    assert pipeline.steps["a"].parameters == {"output": "a.txt"}
    assert pipeline.steps["a"].notebook == path.parent / "a.ipynb"


def test_folder_means_its_pipeline_yaml(workdir: Make) -> None:
    path = workdir(CHAIN, notebooks=("a.ipynb", "b.ipynb", "c.ipynb"), files=("raw.txt",))
    assert load_pipeline(path.parent).path == path


def test_steps_may_be_a_mapping(workdir: Make) -> None:
    path = workdir(
        "steps:\n  one: {notebook: a.ipynb}\n  two: {notebook: a.ipynb, needs: [one]}\n",
        notebooks=("a.ipynb",),
    )
    pipeline = load_pipeline(path)
    assert pipeline.order == ("one", "two")
    assert pipeline.name == "pipe"  # the folder's name when none is given


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "steps:\n  - {name: a, notebook: a.ipynb, needs: [ghost]}\n",
            "step 'a': needs unknown step 'ghost'; steps are: a",
        ),
        (
            "steps:\n  - {name: a, notebook: a.ipynb, needs: [b]}\n"
            "  - {name: b, notebook: a.ipynb, needs: [a]}\n",
            "dependency cycle: a -> b -> a",
        ),
        (
            "steps:\n  - {name: a, notebook: missing.ipynb}\n",
            "step 'a': notebook .*missing.ipynb does not exist",
        ),
        (
            "steps:\n  - {name: a, notebook: a.ipynb, inputs: [nowhere.csv]}\n",
            "step 'a': input nowhere.csv is produced by no step and no such file exists",
        ),
        (
            "steps:\n  - {name: a, notebook: a.ipynb, outputs: [x]}\n"
            "  - {name: b, notebook: a.ipynb, outputs: [x]}\n",
            "step 'b': output x is also declared by step 'a'",
        ),
        (
            "steps:\n  - {name: a, notebook: a.ipynb}\n  - {name: a, notebook: a.ipynb}\n",
            "step 'a': declared twice",
        ),
        ("steps:\n  - {name: a, notebook: a.ipynb, needs: [a]}\n", "step 'a': needs itself"),
        ("steps:\n  - {name: a, notebok: a.ipynb}\n", "unknown key\\(s\\) notebok"),
        ("steps: []\n", "'steps' must be a non-empty list"),
        (
            "steps:\n  - {name: a, notebook: a.ipynb, parameters: [1]}\n",
            "'parameters' must be a mapping",
        ),
        ("steps: [\n", "not valid YAML"),
    ],
)
def test_invalid_pipelines_are_rejected_with_the_reason(
    workdir: Make, yaml_text: str, message: str
) -> None:
    path = workdir(yaml_text, notebooks=("a.ipynb",))
    with pytest.raises(PipelineError, match=message) as info:
        load_pipeline(path)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_parameters_need_a_parameters_cell(workdir: Make, tmp_path: Path) -> None:
    path = workdir("steps:\n  - {name: a, notebook: plain.ipynb, parameters: {alpha: 1}}\n")
    shutil.copy(PIPELINE_NOTEBOOKS / "noparams.ipynb", path.parent / "plain.ipynb")
    with pytest.raises(PipelineError, match="parameters alpha were given but no cell is tagged"):
        load_pipeline(path)


def test_a_step_without_parameters_needs_no_parameters_cell(workdir: Make) -> None:
    path = workdir("steps:\n  - {name: a, notebook: plain.ipynb}\n")
    shutil.copy(PIPELINE_NOTEBOOKS / "noparams.ipynb", path.parent / "plain.ipynb")
    assert load_pipeline(path).order == ("a",)


def test_missing_pipeline_file_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(PipelineError, match="does not exist"):
        load_pipeline(tmp_path / "nope.yaml")


def test_unknown_step_selection(workdir: Make) -> None:
    from mlops_nb.pipeline.runner import select

    pipeline = load_pipeline(
        workdir(CHAIN, notebooks=("a.ipynb", "b.ipynb", "c.ipynb"), files=("raw.txt",))
    )
    with pytest.raises(PipelineError, match="--only nope: no such step; steps are: a, b, c, side"):
        select(pipeline, "nope", None, False)
    assert select(pipeline, None, "b", False) == ({"b", "c"}, {"b", "c"})
    # --only honours the cache like a whole run (an exported DAG's task relies on it)
    assert select(pipeline, "a", None, False) == ({"a"}, set())
    assert select(pipeline, "a", None, True) == ({"a"}, {"a"})
    assert select(pipeline, None, None, False)[1] == set()
    assert select(pipeline, None, None, True)[1] == {"a", "b", "c", "side"}
