"""The inline drift widget: synced traits plus one bundled ES module (no CDN, works offline).

The first display carries only the summary and the small distributions (a few kB). The full
Evidently report (megabytes) is sent as a one-off message when the user asks for it, so it is
never stored in the notebook's widget state. The widget does no I/O itself: it is given a
``report_loader`` callable.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets

from mlops_nb.monitoring.stats import STATTEST_NAMES

_STATIC = Path(__file__).resolve().parent / "static"
ESM_PATH = _STATIC / "drift_widget.js"
CSS_PATH = _STATIC / "drift_widget.css"


class DriftWidget(anywidget.AnyWidget):
    """Verdict, per-column table, distributions of the drifted columns, full report on demand."""

    _esm = ESM_PATH
    _css = CSS_PATH

    summary = traitlets.Dict().tag(sync=True)
    distributions = traitlets.Dict().tag(sync=True)
    stattest_names = traitlets.Dict(dict(STATTEST_NAMES)).tag(sync=True)
    note = traitlets.Unicode("").tag(sync=True)
    #: "idle" | "loading" | "ready" | "error" | "unavailable" (no data to build a report from)
    report_state = traitlets.Unicode("idle").tag(sync=True)
    report_error = traitlets.Unicode("").tag(sync=True)

    def __init__(self, report_loader: Callable[[], str] | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._report_loader = report_loader
        if report_loader is None:
            self.report_state = "unavailable"
        self.on_msg(self._on_custom_msg)

    @classmethod
    def from_result(cls, result: Any) -> DriftWidget:
        return cls(
            report_loader=result.to_html if result.has_report else None,
            summary=result.summary,
            distributions=result.distributions,
            note=result.sampling_text(),
        )

    def load_report(self) -> None:
        """Build the full report and send it to the front end (what the button asks for)."""
        if self._report_loader is None:
            return
        self.report_state = "loading"
        self.report_error = ""
        try:
            html = self._report_loader()
        except Exception as exc:  # shown in the widget; the kernel keeps running
            self.report_state = "error"
            self.report_error = f"The full report could not be built: {exc}"
            return
        self.send({"type": "report", "html": html})
        self.report_state = "ready"

    def _on_custom_msg(self, _widget: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "load-report":
            self.load_report()
