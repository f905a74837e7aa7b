"""The metrics of the previous run of each cell, so a run card can show what changed.

The delivery worker writes them as runs are delivered (so they survive kernel restarts); a kernel
reads the file once and then keeps its own copy in memory, and never writes it.
"""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

from mlops_nb.tracking.diskio import atomic_write

FILE = "last_metrics.json"


def key_of(notebook: str | None, cell_key: str | None) -> str:
    return f"{notebook}::{cell_key}"


class LastMetrics:
    """Kernel side: read once, then kept in memory."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._data: dict[str, dict[str, float]] | None = None

    def swap(self, key: str, metrics: dict[str, float]) -> dict[str, float] | None:
        """Note this run's metrics for ``key``; return the previous run's."""
        if self._data is None:
            try:
                self._data = json.loads(self.path.read_text())
            except (OSError, ValueError):
                self._data = {}
        previous = self._data.get(key)
        self._data[key] = dict(metrics)
        return previous


def remember(path: Path, record: dict[str, Any]) -> None:
    """Worker side: persist a delivered run's metrics as its cell's "previous run" (best effort:
    a read-only or full home only loses the deltas)."""
    key = key_of(record.get("context", {}).get("notebook"), record["tags"].get("mlops_nb.cell_key"))
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        data = {}
    data[key] = record["metrics"]
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, json.dumps(data))
