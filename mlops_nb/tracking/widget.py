"""The inline run card: what a tracked cell logged, deltas to the previous run, the run's link.

An anywidget (synced traits + one small ES module shipped in this package, no CDN). The card is
shown as "queued" as soon as the cell ends and turns into "logged" with a link once the background
writer has delivered the run. Static renderers (nbconvert, GitHub) get an HTML snapshot.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import anywidget
import traitlets
from ipywidgets import DOMWidget

_ESM = Path(__file__).with_name("card.js")
_CSS = Path(__file__).with_name("card.css")


def _fmt(value: float) -> str:
    return f"{value:.4g}"


class RunCard(anywidget.AnyWidget):
    """Synced state of one tracked run; no I/O here.

    The ES module and CSS are class-level traits: anywidget would otherwise add them to every
    instance with ``add_traits``, which builds a new class each time (~1.3 ms per card).
    """

    _esm = traitlets.Unicode(_ESM.read_text()).tag(sync=True)
    _css = traitlets.Unicode(_CSS.read_text()).tag(sync=True)
    _anywidget_id = traitlets.Unicode("mlops_nb.tracking.widget.RunCard").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        # skip AnyWidget.__init__ (its per-instance add_traits); everything it sets is declared
        # above. tests/integration/tracking check the synced state the front end needs.
        DOMWidget.__init__(self, **kwargs)

    status = traitlets.Unicode("queued").tag(sync=True)  # queued | logged | failed-cell
    cell_status = traitlets.Unicode("FINISHED").tag(sync=True)
    run_name = traitlets.Unicode("").tag(sync=True)
    experiment = traitlets.Unicode("").tag(sync=True)
    params = traitlets.Dict().tag(sync=True)
    metrics = traitlets.Dict().tag(sync=True)
    deltas = traitlets.Dict().tag(sync=True)
    models: traitlets.List[str] = traitlets.List().tag(sync=True)
    datasets: traitlets.List[str] = traitlets.List().tag(sync=True)
    figures = traitlets.Int(0).tag(sync=True)
    duration = traitlets.Float(0.0).tag(sync=True)
    error = traitlets.Unicode("").tag(sync=True)
    run_id = traitlets.Unicode("").tag(sync=True)
    run_url = traitlets.Unicode("").tag(sync=True)
    queued_in = traitlets.Unicode("").tag(sync=True)

    @classmethod
    def create(cls) -> RunCard:
        """A new card sharing one Layout model with the others (one comm less per card)."""
        global _LAYOUT
        if _LAYOUT is None:
            from ipywidgets import Layout

            _LAYOUT = Layout()
        return cls(layout=_LAYOUT)

    def show_record(
        self, record: dict[str, Any], previous: dict[str, float] | None, *, queued_in: str
    ) -> None:
        metrics = record["metrics"]
        deltas = {
            k: v - previous[k]
            for k, v in metrics.items()
            if previous and isinstance(previous.get(k), int | float)
        }
        self.set_state(
            {
                "cell_status": record["status"],
                "run_name": record.get("run_name") or "",
                "experiment": record["experiment"],
                "params": dict(record["params"]),
                "metrics": dict(metrics),
                "deltas": deltas,
                "models": [m["name"] for m in record.get("models", [])],
                "datasets": [d["name"] for d in record.get("datasets", [])],
                "figures": int(record.get("figure_count", 0)),
                "duration": (record["end_time"] - record["start_time"]) / 1000.0,
                "error": record["tags"].get("mlops_nb.error", ""),
                "queued_in": queued_in,
            }
        )

    def show_delivered(self, run_id: str, run_url: str) -> None:
        self.set_state({"run_id": run_id, "run_url": run_url, "status": "logged"})

    # -- static fallback -------------------------------------------------------------------
    def to_html(self) -> str:
        rows = "".join(
            f"<tr><td>{html.escape(k)}</td><td>{_fmt(v)}</td>"
            f"<td>{_delta_html(self.deltas.get(k))}</td></tr>"
            for k, v in self.metrics.items()
        )
        params = ", ".join(
            f"{html.escape(k)}={html.escape(str(v))}" for k, v in self.params.items()
        )
        link = (
            f'<a href="{html.escape(self.run_url)}" target="_blank">open run</a>'
            if self.run_url
            else "queued for delivery"
        )
        head = "failed" if self.cell_status != "FINISHED" else "tracked"
        return (
            f'<div class="mlops-nb-card"><b>mlops-nb</b> {head}: '
            f"<b>{html.escape(self.run_name)}</b> in {html.escape(self.experiment)} "
            f"({self.duration:.2f} s) &middot; {link}"
            f"<table>{rows}</table><div>params: {params or '-'}</div>"
            f"<div>models: {html.escape(', '.join(self.models)) or '-'}</div></div>"
        )

    def __repr__(self) -> str:
        metrics = ", ".join(f"{k}={_fmt(v)}" for k, v in self.metrics.items())
        where = self.run_url or f"queued in {self.queued_in}"
        return f"<mlops-nb run {self.run_name!r} [{self.cell_status}] {metrics} -> {where}>"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        bundle = super()._repr_mimebundle_(**kwargs)
        data = bundle[0] if isinstance(bundle, tuple) else bundle
        if isinstance(data, dict):
            data["text/html"] = self.to_html()
            data["text/plain"] = repr(self)
        return bundle


_LAYOUT: Any = None


def _delta_html(delta: float | None) -> str:
    if delta is None:
        return ""
    sign = "+" if delta >= 0 else ""
    return f"{sign}{_fmt(delta)}"
