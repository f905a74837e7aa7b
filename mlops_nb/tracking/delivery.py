"""Delivery policy: one attempt at one record, and ``sync`` over the whole outbox.

:func:`process` takes a record's lock, checks the record, probes the store, and hands the record
to :mod:`stages` (which talks to MLflow). What happens on failure depends on what failed:

- the store is down, locked, migrating, overloaded (:data:`store.Verdict.TRANSIENT`), or the disk
  is full: the record stays queued, with its progress saved; it is retried for as long as it
  takes and never set aside;
- the record cannot be read, is not a record, or the store rejects it as invalid: it can never
  be delivered, so it is moved to ``failed/`` with the reason at once, and the next records go on;
- anything else: retried up to :data:`MAX_ATTEMPTS` times, then set aside with its error.

``mlops-nb sync --retry-failed`` puts set-aside records back in the queue.
"""

from __future__ import annotations

import contextlib
import logging
import time
import traceback
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Any

from mlops_nb.tracking import stages, store
from mlops_nb.tracking.diskio import disk_problem
from mlops_nb.tracking.outbox import Counts, DeliveryState, Outbox, UnreadableRecord

log = logging.getLogger("mlops_nb")
MAX_ATTEMPTS = 5
STATUSES = ("FINISHED", "FAILED", "KILLED", "RUNNING", "SCHEDULED")


class Status(str, Enum):
    DELIVERED = "delivered"
    QUEUED = "queued"  # transient: the store (or the disk) cannot take it now
    LOCKED = "locked"  # another process is delivering it
    WAITING = "waiting"  # its parent run does not exist yet
    RETRY = "retry"  # failed for an unknown reason; retried a few times
    FAILED = "failed"  # set aside in failed/: can never be delivered


class InvalidRecord(ValueError):
    """A record that is not something MLflow can take (bad types, missing fields)."""


@dataclass
class Outcome:
    """What happened to one record in one attempt."""

    folder: Path
    status: Status
    run_id: str | None = None
    experiment_id: str | None = None
    record: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    unreachable: bool = False  # the store's health probe failed
    elsewhere: bool = False  # delivered by another deliverer (a kernel's worker) while sync waited


def validate(record: dict[str, Any]) -> None:
    """Raise :class:`InvalidRecord` for a record no store could accept."""
    for key, kind in (
        ("record_id", str),
        ("tracking_uri", str),
        ("experiment", str),
        ("params", dict),
        ("metrics", dict),
        ("tags", dict),
    ):
        if not isinstance(record.get(key), kind):
            raise InvalidRecord(f"field {key!r} is missing or not a {kind.__name__}")
    for key in ("start_time", "end_time"):
        if not isinstance(record.get(key), int | float):
            raise InvalidRecord(f"field {key!r} is missing or not a number")
    if record.get("status") not in STATUSES:
        raise InvalidRecord(f"status {record.get('status')!r} is not one of {', '.join(STATUSES)}")
    for name, value in record["metrics"].items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRecord(f"metric {name!r} is {value!r}, not a number")


def _one_line(exc: BaseException) -> str:
    text = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return " ".join(text.split())[:2000]


def process(outbox: Outbox, folder: Path, *, wait: float = 0.0) -> Outcome:
    """One attempt at one record, under its lock."""
    with outbox.lock(folder, wait=wait) as held:
        if not held:
            status = Status.LOCKED if (folder / "record.json").exists() else Status.DELIVERED
            return Outcome(folder, status)
        try:
            record = Outbox.read(folder)
            validate(record)
        except (UnreadableRecord, InvalidRecord) as exc:
            return _set_aside(outbox, folder, {}, f"cannot be delivered: {exc}")
        return _attempt(outbox, folder, record)


def safe_process(outbox: Outbox, folder: Path, *, wait: float = 0.0) -> Outcome:
    """:func:`process`, with an unexpected error of ours turned into a retry (logged)."""
    try:
        return process(outbox, folder, wait=wait)
    except Exception as exc:  # the traceback goes to the worker's log, never to a terminal
        log.debug("record %s: unexpected error", folder.name, exc_info=True)
        log.warning("record %s: unexpected error: %s", folder.name, _one_line(exc))
        return Outcome(folder, Status.RETRY, error=_one_line(exc))


def _attempt(outbox: Outbox, folder: Path, record: dict[str, Any]) -> Outcome:
    uri = record["tracking_uri"]
    try:
        stages.prepare(folder, record)
    except OSError as exc:
        problem = disk_problem(exc)
        if problem is None:
            raise
        return Outcome(folder, Status.QUEUED, record=record, error=f"outbox: {problem}")
    down = None if _answered_lately(uri) else store.health(uri)
    if down:
        return Outcome(folder, Status.QUEUED, record=record, error=down, unreachable=True)
    state = DeliveryState.load(folder)
    state.attempts += 1
    try:
        state = stages.deliver(folder, record, state)
    except stages.ParentNotDelivered as exc:  # waits for its parent; never set aside
        state.attempts -= 1
        state.last_error = str(exc)
        _save(state, folder)
        return Outcome(folder, Status.WAITING, record=record, error=state.last_error)
    except Exception as exc:
        _answered.pop(uri, None)
        error = _one_line(exc)
        verdict = store.classify(exc)
        down = store.health(uri)
        if verdict is store.Verdict.TRANSIENT or disk_problem(exc) or down:
            state.attempts -= 1
            state.last_error = down or error
            _save(state, folder)
            return Outcome(
                folder, Status.QUEUED, record=record, error=down or error, unreachable=bool(down)
            )
        state.last_error = error
        _save(state, folder)
        if verdict is store.Verdict.REJECTED:
            return _set_aside(outbox, folder, record, f"rejected by the store: {error}")
        if state.attempts >= MAX_ATTEMPTS:
            return _set_aside(outbox, folder, record, f"failed {state.attempts} times: {error}")
        log.warning("record %s: attempt %d failed: %s", folder.name, state.attempts, error)
        return Outcome(folder, Status.RETRY, record=record, error=error)
    outbox.complete(folder)
    _answered[uri] = time.monotonic()
    return Outcome(folder, Status.DELIVERED, state.run_id, state.experiment_id, record)


#: a store that took a run this recently is not probed before the next one (a backlog of 100
#: runs to a server makes 100 requests fewer); a failure still probes it, to tell an outage
ANSWERED_LATELY = 5.0
_answered: dict[str, float] = {}


def _answered_lately(uri: str) -> bool:
    return time.monotonic() - _answered.get(uri, -ANSWERED_LATELY) < ANSWERED_LATELY


def _save(state: DeliveryState, folder: Path) -> None:
    with contextlib.suppress(OSError):  # a full disk: progress is found again by record id
        state.save(folder)


def _set_aside(outbox: Outbox, folder: Path, record: dict[str, Any], reason: str) -> Outcome:
    try:
        target = outbox.quarantine(folder, reason)
    except OSError as exc:  # a read-only spool: it stays queued, and says why
        return Outcome(folder, Status.RETRY, record=record, error=f"{reason} ({exc})")
    log.warning("record %s set aside in %s: %s", folder.name, target.parent, reason)
    return Outcome(target, Status.FAILED, record=record, error=reason)


def _peek(folder: Path) -> dict[str, Any]:
    """The record in ``folder`` as it stands, or {} (it may be delivered and gone meanwhile)."""
    try:
        return Outbox.read(folder)
    except (UnreadableRecord, OSError):
        return {}


@dataclass
class SyncReport:
    """What ``sync`` did (delivered now, set aside now) and what the outbox holds after it."""

    delivered: list[Outcome] = field(default_factory=list)
    left: list[Outcome] = field(default_factory=list)  # still queued, with why
    failed: list[Outcome] = field(default_factory=list)  # set aside during this sync
    requeued: int = 0
    counts: Counts = field(default_factory=lambda: Counts(0, 0))

    @property
    def ok(self) -> bool:
        return self.counts.queued == 0 and self.counts.failed == 0

    @property
    def queued(self) -> list[Outcome]:  # the name older callers used
        return self.left


def sync(
    outbox: Outbox, *, wait: float = 30.0, attempts: int = 3, retry_failed: bool = False
) -> SyncReport:
    """Deliver everything queued, oldest first, from the calling thread (``mlops-nb sync``).

    Records another process is delivering are waited for up to ``wait`` seconds each; with
    ``retry_failed``, records set aside in ``failed/`` are put back in the queue first.
    """
    store.use_delivery_defaults()
    report = SyncReport()
    if retry_failed:
        for folder in outbox.failed():
            with contextlib.suppress(OSError):
                outbox.requeue(folder)
                report.requeued += 1
    for folder in outbox.pending():
        known: dict[str, Any] = {}
        outcome = safe_process(outbox, folder)
        if outcome.status is Status.LOCKED and wait > 0:
            # another deliverer holds it: read it before waiting, so that if that one delivers
            # it meanwhile, the report still names the run
            known = _peek(folder)
            outcome = safe_process(outbox, folder, wait=wait)
        for _ in range(attempts - 1):
            if outcome.status is not Status.RETRY:
                break
            outcome = safe_process(outbox, folder, wait=wait)
        if outcome.status is Status.DELIVERED and outcome.run_id is None:
            outcome.record, outcome.elsewhere = outcome.record or known, True
        if outcome.status is Status.DELIVERED:
            report.delivered.append(outcome)
        elif outcome.status is Status.FAILED:
            report.failed.append(outcome)
        else:
            report.left.append(outcome)
    report.counts = outbox.counts()
    return report
