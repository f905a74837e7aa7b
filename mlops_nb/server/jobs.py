"""Background jobs: long work (pipeline runs, productionize) runs in a thread, the browser polls.

A job has an id, a state (``queued`` → ``running`` → ``succeeded`` | ``failed``), the list
of progress events its work reported (typed: :mod:`.schemas`), and a result or an error. Jobs
live in memory for the lifetime of the server; the oldest finished ones are forgotten past
``keep``.
"""

from __future__ import annotations

import dataclasses
import enum
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mlops_nb.server import schemas

Progress = Callable[[Any], None]


def to_jsonable(value: Any) -> Any:
    """Dataclasses, paths, enums, tuples and sets as plain JSON values (unknown objects as text)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value)
    if isinstance(value, Path):
        return str(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return str(value)


Work = Callable[[Progress], Any]

ACTIVE = ("queued", "running")


@dataclasses.dataclass
class Job:
    id: str
    kind: str
    target: str
    state: str = "queued"
    events: list[Any] = dataclasses.field(default_factory=list)
    result: Any = None
    error: str | None = None
    created: float = dataclasses.field(default_factory=time.time)
    finished: float | None = None

    def as_model(self, since: int = 0) -> schemas.Job:
        return schemas.Job.model_validate(
            {
                "id": self.id,
                "kind": self.kind,
                "target": self.target,
                "state": self.state,
                "events": self.events[since:],
                "n_events": len(self.events),
                "result": self.result,
                "error": self.error,
                "created": self.created,
                "finished": self.finished,
            }
        )


class JobConflict(Exception):
    """A job of the same kind is already running on the same target."""

    def __init__(self, job: Job) -> None:
        self.job = job
        super().__init__(f"a {job.kind} job for {job.target} is already {job.state} ({job.id})")


class JobManager:
    """Runs work in daemon threads (at most ``max_running`` at once) and keeps their state."""

    def __init__(self, max_running: int = 2, keep: int = 200) -> None:
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_running)
        self._keep = keep

    def submit(self, kind: str, target: str, work: Work) -> Job:
        with self._lock:
            for job in self._jobs.values():
                if job.kind == kind and job.target == target and job.state in ACTIVE:
                    raise JobConflict(job)
            job = Job(id=uuid.uuid4().hex[:12], kind=kind, target=target)
            self._jobs[job.id] = job
            self._forget_old()
        thread = threading.Thread(
            target=self._run, args=(job, work), name=f"mlops-nb-{kind}-{job.id}", daemon=True
        )
        thread.start()
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def list(self) -> list[Job]:
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created, reverse=True)

    def _run(self, job: Job, work: Work) -> None:
        def progress(event: Any) -> None:
            with self._lock:
                job.events.append(event)

        with self._slots:
            job.state = "running"
            try:
                result = work(progress)
            except BaseException as exc:  # the job reports every failure, the server lives on
                job.error = str(exc) or type(exc).__name__
                job.state = "failed"
            else:
                job.result = result
                job.state = "succeeded"
            finally:
                job.finished = time.time()

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state not in ACTIVE]
        excess = len(self._jobs) - self._keep
        for job in sorted(finished, key=lambda j: j.created)[: max(excess, 0)]:
            del self._jobs[job.id]
