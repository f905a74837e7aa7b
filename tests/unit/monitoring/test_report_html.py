"""The full report: Evidently's HTML, standalone and offline; saved and summarised."""

from __future__ import annotations

import json

from drift_data import customers

import mlops_nb
from mlops_nb.monitoring.report import remote_assets


def test_to_html_is_the_full_evidently_report_with_no_remote_assets(tmp_path) -> None:
    result = mlops_nb.drift(customers(600, seed=1), customers(600, seed=2, shift=("age",)))

    html = result.to_html()

    assert html.lstrip().lower().startswith("<!doctype html") or "<html" in html[:500].lower()
    assert remote_assets(html) == []
    assert "Drift is detected" in html and '"column_name": "age"' in html
    saved = result.save(tmp_path / "report.html")
    assert saved.read_text(encoding="utf-8") == html
    summary = json.loads(result.save(tmp_path / "summary.json").read_text())
    assert summary == result.summary


def test_remote_asset_detection_catches_cdn_tags() -> None:
    assert remote_assets('<script src="https://cdn.plot.ly/plotly.js"></script>')
    assert remote_assets("<link rel=stylesheet href=//fonts.example/x.css>")
    assert remote_assets('<script>var u = "https://cdn.plot.ly"</script>') == []


def test_save_refuses_other_suffixes(tmp_path) -> None:
    import pytest

    from mlops_nb.monitoring.errors import DriftDataError

    result = mlops_nb.drift(customers(100, seed=1), customers(100, seed=2))
    with pytest.raises(DriftDataError, match=r"\.html \(full report\) or \.json"):
        result.save(tmp_path / "out.txt")


def test_figure_is_a_plotly_figure_of_both_sides() -> None:
    result = mlops_nb.drift(customers(1500, seed=1), customers(1500, seed=2, shift=("age",)))
    fig = result.figure("age")
    assert [t.name for t in fig.data] == ["reference", "current"]
    assert sum(fig.data[1].y) > 0.99
