"""Parameter values are typed like papermill's CLI types them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlops_nb.exceptions import ConfigError
from mlops_nb.pipeline import params


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3", 3),
        ("1e-3", 0.001),
        ("None", None),
        ("0.5", 0.5),
        ("true", True),
        ("abc", "abc"),
        ("[1, 2]", [1, 2]),
        ("'007'", "007"),
        ("", ""),
        ("a: b: c", "a: b: c"),
    ],
)
def test_cli_values_are_typed(text: str, expected: object) -> None:
    value = params.parse_value(text)
    assert value == expected
    assert type(value) is type(expected)


def test_pairs_override_files(tmp_path: Path) -> None:
    f = tmp_path / "p.yaml"
    f.write_text("alpha: 0.1\nname: base\n")
    merged = params.merge([f], [("alpha", "0.9"), ("n", "4")])
    assert merged == {"alpha": 0.9, "name": "base", "n": 4}


def test_parameters_file_errors_name_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        params.load_file(tmp_path / "missing.yaml")
    bad = tmp_path / "list.yaml"
    bad.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="mapping"):
        params.load_file(bad)


def test_grid_expands_every_combination_in_order() -> None:
    grid = params.parse_grid([("n_estimators", "50,100,200"), ("max_depth", "3,5")])
    assert grid == {"n_estimators": [50, 100, 200], "max_depth": [3, 5]}
    combos = params.expand_grid(grid)
    assert len(combos) == 6
    assert combos[0] == {"n_estimators": 50, "max_depth": 3}
    assert combos[-1] == {"n_estimators": 200, "max_depth": 5}


def test_empty_axis_is_rejected() -> None:
    with pytest.raises(ConfigError, match="no values"):
        params.parse_grid([("x", ",")])
