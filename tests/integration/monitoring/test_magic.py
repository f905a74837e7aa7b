"""``%drift`` in an in-process IPython shell, and how the result displays there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from drift_data import customers

from mlops_nb.monitoring.magics import register_magics
from mlops_nb.monitoring.result import DriftResult


@pytest.fixture
def ip() -> Iterator[Any]:
    from IPython.testing.globalipapp import get_ipython, start_ipython

    shell = start_ipython() or get_ipython()
    register_magics(shell)
    yield shell
    shell.user_ns.pop("ref", None)
    shell.user_ns.pop("cur", None)


def test_drift_magic_on_notebook_variables_returns_a_result(ip) -> None:
    ip.user_ns["ref"] = customers(1500, seed=1)
    ip.user_ns["cur"] = customers(1500, seed=2, shift=("age", "income", "plan", "region"))

    result = ip.run_line_magic("drift", "ref cur --columns age,income,score,plan")

    assert isinstance(result, DriftResult)
    assert result.drifted_columns == ["age", "income", "plan"]
    data, _ = ip.display_formatter.format(result)
    assert "application/vnd.jupyter.widget-view+json" in data
    assert "Dataset drift detected" in data["text/html"]


def test_drift_magic_reads_files_and_reports_bad_names(ip, tmp_path) -> None:
    from mlops_nb.exceptions import ConfigError

    customers(800, seed=1).to_csv(tmp_path / "ref.csv", index=False)
    customers(800, seed=2).to_parquet(tmp_path / "cur.parquet")
    result = ip.run_line_magic("drift", f"{tmp_path / 'ref.csv'} {tmp_path / 'cur.parquet'}")
    assert result.dataset_drift is False

    with pytest.raises(ConfigError, match="no variable named 'nothere'"):
        ip.run_line_magic("drift", "nothere cur")
    with pytest.raises(ConfigError, match="unrecognized arguments"):
        ip.run_line_magic("drift", "a b --bogus")
