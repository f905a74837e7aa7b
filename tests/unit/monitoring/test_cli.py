"""``mlops-nb drift REF CUR``: summary, --json, --html, exit codes for cron jobs and CI gates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from drift_data import customers

from mlops_nb.cli import main


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    paths = {
        "ref": tmp_path / "ref.csv",
        "same": tmp_path / "same.parquet",
        "shifted": tmp_path / "shifted.csv",
    }
    customers(1500, seed=1).to_csv(paths["ref"], index=False)
    customers(1500, seed=2).to_parquet(paths["same"])
    customers(1500, seed=3, shift=("age", "income", "plan", "region")).to_csv(
        paths["shifted"], index=False
    )
    return paths


def test_no_drift_exits_0_even_with_fail_on_drift(files, capsys) -> None:
    assert main(["drift", str(files["ref"]), str(files["same"]), "--fail-on-drift"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("dataset: no drift - 0 of 6 columns drifted")
    assert "age" in out and "wasserstein" in out


def test_drift_exits_1_only_with_fail_on_drift(files, capsys) -> None:
    args = ["drift", str(files["ref"]), str(files["shifted"])]
    assert main(args) == 0
    assert main([*args, "--fail-on-drift"]) == 1
    assert "dataset: DRIFT - 4 of 6 columns drifted" in capsys.readouterr().out


def test_json_and_html_outputs(files, tmp_path, capsys) -> None:
    out_html = tmp_path / "report.html"
    code = main(
        ["drift", str(files["ref"]), str(files["shifted"]), "--json", "--html", str(out_html)]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["dataset_drift"] is True
    assert summary["drifted_columns"] == ["age", "income", "plan", "region"]
    assert '"column_name": "plan"' in out_html.read_text(encoding="utf-8")


def test_columns_option(files, capsys) -> None:
    code = main(["drift", str(files["ref"]), str(files["shifted"]), "--columns", "score,tenure"])
    assert code == 0
    assert "dataset: no drift - 0 of 2 columns" in capsys.readouterr().out


def test_bad_input_and_usage_exit_2(files, tmp_path, capsys) -> None:
    customers(50).drop(columns=["plan"]).to_csv(tmp_path / "narrow.csv", index=False)
    assert main(["drift", str(files["ref"]), str(tmp_path / "narrow.csv")]) == 2
    assert "missing from the current data: plan" in capsys.readouterr().err
    assert main(["drift", str(files["ref"]), str(tmp_path / "missing.csv")]) == 2
    assert main(["drift", str(files["ref"])]) == 2
    assert main(["drift", str(files["ref"]), str(files["same"]), "--service", "http://x"]) == 2
    (tmp_path / "data.txt").write_text("a,b\n")
    assert main(["drift", str(tmp_path / "data.txt"), str(files["same"])]) == 2
    assert "unsupported file type" in capsys.readouterr().err
