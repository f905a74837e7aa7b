"""pipeline.yaml is one pydantic model: clear errors (exit 2, no traceback) for bad files, paths
confined to the pipeline's folder, and a JSON Schema that editors can validate the file with."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest
import yaml
from support import NOTEBOOKS

from mlops_nb.cli import main
from mlops_nb.pipeline.api import load_pipeline
from mlops_nb.pipeline.errors import PipelineError
from mlops_nb.pipeline.schema import json_schema

Make = Callable[..., Path]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "steps:\n  a: [1, 2]\n",
            "step 'a' must be a mapping \\(notebook, parameters, ...\\), not list",
        ),
        ("steps:\n  - [1, 2]\n", "step #1: Input should be a valid dictionary"),
        ("steps:\n  - {name: a, notebook: a.ipynb, inputs: [1]}\n", "step 'a': 'inputs.0'"),
        ("steps:\n  - {name: 'bad name', notebook: a.ipynb}\n", "step 'bad name': 'name'"),
        ("steps:\n  - {name: a}\n", "step 'a': 'notebook' \\(path of the .ipynb\\) is required"),
        ("name: x\nstep: []\n", "unknown key\\(s\\) step; allowed: name, experiment"),
        ("- a\n- b\n", "the file must be a mapping with a 'steps' list"),
    ],
)
def test_malformed_files_name_the_place_and_the_problem(
    workdir: Make, text: str, message: str
) -> None:
    path = workdir(text, notebooks=("a.ipynb",))
    with pytest.raises(PipelineError, match=message) as info:
        load_pipeline(path)
    assert str(path) in str(info.value) and info.value.exit_code == 2


def test_invalid_utf8_is_a_clear_error_not_a_traceback(
    workdir: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir("steps: []\n")
    path.write_bytes(b"name: caf\xe9\nsteps:\n  - {name: a, notebook: a.ipynb}\n")
    with pytest.raises(
        PipelineError, match="not valid UTF-8 \\(byte 9: b'\\\\xe9'\\); save the file"
    ):
        load_pipeline(path)
    assert main(["pipeline", "show", str(path)]) == 2
    err = capsys.readouterr().err
    assert "not valid UTF-8" in err and "Traceback" not in err


def test_a_step_given_as_a_list_exits_2_from_the_cli(
    workdir: Make, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir("steps: {a: [1,2]}\n")
    assert main(["pipeline", "run", str(path)]) == 2
    err = capsys.readouterr().err
    assert "step 'a' must be a mapping" in err and "Traceback" not in err


@pytest.mark.parametrize("output", ["/etc/hostname", "../../x", "sub/../../y"])
def test_outputs_outside_the_pipeline_folder_are_refused(workdir: Make, output: str) -> None:
    path = workdir(
        f"steps:\n  - {{name: a, notebook: a.ipynb, outputs: ['{output}']}}\n",
        notebooks=("a.ipynb",),
    )
    with pytest.raises(
        PipelineError, match=f"step 'a': output {output} is outside the pipeline's folder"
    ):
        load_pipeline(path)


def test_outputs_outside_are_accepted_in_an_allowed_folder(workdir: Make, tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    path = workdir(
        f"allow_outputs_outside: ['{shared}']\n"
        f"steps:\n  - {{name: a, notebook: a.ipynb, outputs: ['{shared}/x.csv', 'inside.csv']}}\n",
        notebooks=("a.ipynb",),
    )
    assert load_pipeline(path).steps["a"].outputs == (f"{shared}/x.csv", "inside.csv")
    # a symlink inside the folder that points outside is outside
    (path.parent / "link").symlink_to("/etc")
    path.write_text("steps:\n  - {name: a, notebook: a.ipynb, outputs: [link/hostname]}\n")
    with pytest.raises(PipelineError, match="outside the pipeline's folder"):
        load_pipeline(path)


def test_a_changed_file_is_validated_again(workdir: Make) -> None:
    """The validated form is memoised by the file's digest: an edit must never reuse it."""
    path = workdir("steps:\n  - {name: a, notebook: a.ipynb}\n", notebooks=("a.ipynb",))
    assert load_pipeline(path).order == ("a",)
    assert load_pipeline(path).order == ("a",)  # from the memo
    path.write_text("steps:\n  - {name: a, notebok: a.ipynb}\n")
    with pytest.raises(PipelineError, match="unknown key\\(s\\) notebok"):
        load_pipeline(path)


def test_the_json_schema_accepts_the_example_and_rejects_what_the_model_rejects() -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    example = yaml.safe_load((NOTEBOOKS / "pipeline" / "pipeline.yaml").read_text())
    assert list(validator.iter_errors(example)) == []
    mapping_form = {"steps": {"one": {"notebook": "a.ipynb"}, "two": {"notebook": "b.ipynb"}}}
    assert list(validator.iter_errors(mapping_form)) == []
    for bad in (
        {"steps": {"a": [1, 2]}},
        {"steps": []},
        {"steps": [{"name": "a"}]},
        {"steps": [{"name": "a", "notebook": "a.ipynb", "notebok": 1}]},
        {"steps": [{"name": "a b", "notebook": "a.ipynb"}]},
        {"name": "x", "stepz": []},
    ):
        assert list(validator.iter_errors(bad)), bad


def test_schema_command_prints_the_json_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["pipeline", "schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json_schema()
    assert printed["title"] == "mlops-nb pipeline.yaml"
