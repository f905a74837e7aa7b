"""The full Evidently 0.7 report, built on demand (Evidently is imported here and only here).

The column kinds mlops-nb inferred are handed to Evidently as an explicit ``DataDefinition``, so
the report tests exactly the columns, with exactly the tests, that the summary shows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import pandas as pd

from mlops_nb.exceptions import require
from mlops_nb.monitoring.frames import ColumnSpec
from mlops_nb.monitoring.stats import SHARE_THRESHOLD

_REMOTE_ASSET = re.compile(
    r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?\s*(?:https?:)?//", re.I
)


def run_report(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    specs: Sequence[ColumnSpec],
    share_threshold: float = SHARE_THRESHOLD,
) -> Any:
    """Evidently's ``Report([DataDriftPreset()]).run(current, reference)``: the snapshot."""
    require("evidently", "drift", "The full drift report")
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    definition = DataDefinition(
        numerical_columns=[s.name for s in specs if s.kind == "num"],
        categorical_columns=[s.name for s in specs if s.kind == "cat"],
    )
    names = [s.name for s in specs]
    cur = Dataset.from_pandas(current[names], data_definition=definition)
    ref = Dataset.from_pandas(reference[names], data_definition=definition)
    report = Report([DataDriftPreset(columns=names, drift_share=share_threshold)])
    return report.run(cur, ref)


def report_html(snapshot: Any) -> str:
    """The report as one standalone HTML page; its scripts are inlined (works offline)."""
    html: str = snapshot.get_html_str(as_iframe=False)
    remote = remote_assets(html)
    if remote:  # Evidently 0.7.23 inlines everything; fail loudly if a future version does not
        raise RuntimeError(f"the Evidently report loads remote assets: {remote[:3]}")
    return html


def remote_assets(html: str) -> list[str]:
    """Tags in ``html`` that would fetch a script, style, image or frame over the network."""
    return [m.group(0) for m in _REMOTE_ASSET.finditer(html)]
