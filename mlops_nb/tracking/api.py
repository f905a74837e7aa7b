"""Library entry points of tracking: :func:`track`, :func:`flush`, :func:`sync`.

``%%track`` is the notebook adapter of the same machinery; :func:`track` serves plain Python::

    with mlops_nb.track(name="baseline") as run:
        model = RandomForestClassifier(n_estimators=100).fit(X_train, y_train)
        accuracy = model.score(X_test, y_test)

records the block like a tracked cell: the names it bound in the caller's namespace give params
and metrics, the estimators it fitted give models (the data they were fitted on is found when the
block's source is available, i.e. in a file).
"""

from __future__ import annotations

import inspect
import textwrap
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mlops_nb.config import get_settings
from mlops_nb.tracking import capture
from mlops_nb.tracking.outbox import Outbox
from mlops_nb.tracking.recorder import CellRun
from mlops_nb.tracking.session import cell_key, get_session

if TYPE_CHECKING:
    from mlops_nb.tracking.delivery import SyncReport


@dataclass
class TrackedBlock:
    """Handle yielded by :func:`track`: add params and metrics explicitly."""

    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    card: Any = None

    def log_param(self, key: str, value: Any) -> None:
        self.params[key] = value

    def log_metric(self, key: str, value: float) -> None:
        self.metrics[key] = float(value)


def _block_source(frame: Any) -> str:
    try:
        lines, start = inspect.getsourcelines(frame)
    except (OSError, TypeError):
        return ""
    offset = frame.f_lineno - (start or 1)
    # the `with` statement's body: following lines indented deeper than the with line
    head = lines[offset] if 0 <= offset < len(lines) else ""
    indent = len(head) - len(head.lstrip())
    body = []
    for line in lines[offset + 1 :]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    return textwrap.dedent("".join(body))


@contextmanager
def track(
    *,
    name: str | None = None,
    experiment: str | None = None,
    tags: Mapping[str, str] | None = None,
    namespace: dict[str, Any] | None = None,
    models: bool = True,
    log_env: bool = True,
) -> Iterator[TrackedBlock]:
    """Record the ``with`` block as one MLflow run (see the module docstring)."""
    get_session().start()
    frame = inspect.currentframe()
    caller = frame.f_back.f_back if frame and frame.f_back else None
    ns = namespace if namespace is not None else (caller.f_globals if caller else {})
    source = _block_source(caller) if caller is not None and namespace is None else ""
    info = capture.analyze_source(source)
    before = capture.snapshot(ns)
    block = TrackedBlock()
    error: BaseException | None = None
    started, t0 = time.time(), time.perf_counter()
    try:
        yield block
    except BaseException as exc:
        error = exc
        raise
    finally:
        duration = time.perf_counter() - t0
        cap = capture.collect(before, ns, info, models=models)
        cap.params.update({k: capture.param_value(v) for k, v in block.params.items()})
        cap.metrics.update(block.metrics)
        run = CellRun(
            source=source,
            started=started,
            duration=duration,
            namespace=ns,
            capture=cap,
            error=error,
            experiment=experiment,
            run_name=name,
            user_tags=dict(tags or {}),
            cell_key=cell_key(source, None, name),
            log_env=log_env,
        )
        session = get_session()
        from mlops_nb.tracking.widget import RunCard

        block.card = session.record(run, card=RunCard.create())


def flush(timeout: float | None = 60.0) -> bool:
    """Wait until this process's queued runs are delivered; False if some are still queued."""
    return get_session().flush(timeout)


def sync(*, wait: float = 30.0, retry_failed: bool = False) -> SyncReport:
    """Deliver every queued run in the outbox (any process's), from this thread; with
    ``retry_failed``, runs set aside as undeliverable are tried again first."""
    from mlops_nb.tracking.delivery import sync as _sync

    return _sync(Outbox(get_settings().spool_dir), wait=wait, retry_failed=retry_failed)
