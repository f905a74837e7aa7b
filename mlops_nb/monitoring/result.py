""":class:`DriftResult`: what ``mlops_nb.drift`` returns."""

from __future__ import annotations

import copy
import html
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from mlops_nb.monitoring.frames import ColumnSpec
from mlops_nb.monitoring.stats import SHARE_THRESHOLD, STATTEST_NAMES


@dataclass(frozen=True)
class ReportSource:
    """The (sampled, normalised) frames the full Evidently report is built from, on demand."""

    reference: pd.DataFrame
    current: pd.DataFrame
    specs: Sequence[ColumnSpec]
    share_threshold: float = SHARE_THRESHOLD


class DriftResult:
    """The outcome of a drift check.

    In a notebook it displays as a compact widget (verdict, per-column table, distributions of
    the drifted columns, the full Evidently report on demand).

    Attributes
    ----------
    summary : dict
        Plain, JSON-serialisable summary (a copy): ``dataset_drift``, ``drift_share``,
        ``n_drifted``, ``n_columns``, ``share_threshold``, ``reference_rows``, ``current_rows``,
        ``columns`` (per column: ``type``, ``stattest``, ``score``, ``threshold``, ``drifted``),
        ``drifted_columns``, ``sampling`` and ``source``.
    """

    def __init__(
        self,
        summary: dict[str, Any],
        distributions: dict[str, dict[str, Any]],
        source: ReportSource | None,
    ) -> None:
        self._summary = summary
        self.distributions = distributions
        self._source = source
        self._snapshot: Any = None
        self._html: str | None = None
        self._lock = threading.Lock()

    # --- the numbers ---------------------------------------------------------------------------

    @property
    def summary(self) -> dict[str, Any]:
        return copy.deepcopy(self._summary)

    @property
    def dataset_drift(self) -> bool:
        return bool(self._summary["dataset_drift"])

    @property
    def drift_share(self) -> float:
        return float(self._summary["drift_share"])

    @property
    def drifted_columns(self) -> list[str]:
        return [n for n, c in self._summary["columns"].items() if c["drifted"]]

    def sampling_text(self) -> str:
        """One line saying which rows were used (shown in the widget)."""
        from mlops_nb.monitoring.sampling import SampleNote

        notes = self._summary.get("sampling") or {}
        parts = []
        for side in ("reference", "current"):
            n = notes.get(side)
            if n:
                parts.append(SampleNote(side, n["rows"], n["used"], n["seed"]).describe())
        extra = self._summary.get("sampling_note")
        return ". ".join(p for p in ("; ".join(parts), extra) if p)

    # --- the full report -----------------------------------------------------------------------

    @property
    def has_report(self) -> bool:
        return self._source is not None

    @property
    def report(self) -> Any:
        """Evidently's snapshot of ``Report([DataDriftPreset()])`` (built on first use)."""
        if self._source is None:
            from mlops_nb.monitoring.errors import DriftDataError

            raise DriftDataError("this result has no data to build the full report from")
        with self._lock:
            if self._snapshot is None:
                from mlops_nb.monitoring.report import run_report

                s = self._source
                self._snapshot = run_report(s.reference, s.current, s.specs, s.share_threshold)
            return self._snapshot

    def to_html(self) -> str:
        """The full Evidently report as one standalone, offline HTML page."""
        if self._html is None:
            from mlops_nb.monitoring.report import report_html

            self._html = report_html(self.report)
        return self._html

    def save(self, path: str | Path) -> Path:
        """Write the full report (``.html``) or the summary (``.json``) to ``path``."""
        p = Path(path)
        suffix = p.suffix.lower()
        if suffix in (".html", ".htm"):
            p.write_text(self.to_html(), encoding="utf-8")
        elif suffix == ".json":
            p.write_text(json.dumps(self._summary, indent=2), encoding="utf-8")
        else:
            from mlops_nb.monitoring.errors import DriftDataError

            raise DriftDataError(f"{p}: save to a .html (full report) or .json (summary) file")
        return p

    def figure(self, column: str) -> Any:
        """A plotly figure of ``column``'s reference vs current distribution."""
        from mlops_nb.monitoring.distributions import figure

        if column not in self.distributions:
            raise KeyError(f"no distribution kept for {column!r}; have {list(self.distributions)}")
        return figure(self.distributions[column], title=column)

    # --- MLflow --------------------------------------------------------------------------------

    def log_to(self, run: Any = None) -> str:
        """Log to an MLflow run (a run, run id, or the active run): report, summary, metric."""
        from mlops_nb.monitoring.mlflow_log import log_result

        return log_result(self, run)

    # --- display -------------------------------------------------------------------------------

    def widget(self) -> Any:
        """The inline widget (an anywidget) showing this result."""
        from mlops_nb.monitoring.widget import DriftWidget

        return DriftWidget.from_result(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        widget_bundle = self.widget()._repr_mimebundle_(include=include, exclude=exclude)
        if isinstance(widget_bundle, tuple):  # (data, metadata)
            widget_bundle = widget_bundle[0]
        bundle: dict[str, Any] = dict(widget_bundle or {})
        bundle["text/plain"] = repr(self)
        bundle["text/html"] = self.static_html()  # for viewers without widgets (nbconvert, GitHub)
        return bundle

    def __repr__(self) -> str:
        s = self._summary
        return (
            f"DriftResult(dataset_drift={s['dataset_drift']}, drift_share={s['drift_share']:.3g}, "
            f"drifted_columns={self.drifted_columns})"
        )

    def static_html(self) -> str:
        """A small static table (for viewers without widgets: nbconvert, GitHub)."""
        s = self._summary
        verdict = "Dataset drift detected" if s["dataset_drift"] else "No dataset drift"
        rows = "".join(
            f"<tr><td>{html.escape(name)}</td><td>{c['type']}</td>"
            f"<td>{html.escape(STATTEST_NAMES.get(c['stattest'], c['stattest']))}</td>"
            f"<td>{c['score']:.4g}</td><td>{c['threshold']:.3g}</td>"
            f"<td>{'yes' if c['drifted'] else 'no'}</td></tr>"
            for name, c in s["columns"].items()
        )
        return (
            f"<div class='mlops-nb-drift-static'><b>{verdict}</b>: {s['n_drifted']} of "
            f"{s['n_columns']} columns drifted (share {s['drift_share']:.2f}, threshold "
            f"{s['share_threshold']}). <small>{html.escape(self.sampling_text())}</small>"
            "<table><thead><tr><th>column</th><th>type</th><th>test</th><th>score</th>"
            f"<th>threshold</th><th>drifted</th></tr></thead><tbody>{rows}</tbody></table></div>"
        )
