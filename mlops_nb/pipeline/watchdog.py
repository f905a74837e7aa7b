"""No pool worker outlives its runner.

A ``kill -9`` of ``mlops-nb pipeline run`` gives its process pool no chance to stop its workers:
they (and the kernels they started) would live on under PID 1. Each worker runs
:func:`watch_runner` as it starts: a daemon thread that checks twice a second that the runner is
still the same live process, and when it is gone stops the worker's own children (its kernel)
and exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time

INTERVAL = 0.5


def watch_runner(runner_pid: int) -> None:
    """Start watching ``runner_pid`` from this (worker) process."""
    identity = _start_time(runner_pid)
    thread = threading.Thread(
        target=_watch, args=(runner_pid, identity), name="mlops-nb-runner-watchdog", daemon=True
    )
    thread.start()


def _watch(pid: int, identity: str | None) -> None:
    while alive(pid, identity):
        time.sleep(INTERVAL)
    stop_children(os.getpid())
    os._exit(1)


def alive(pid: int, identity: str | None = None) -> bool:
    """Whether ``pid`` is a live (not zombie) process started at ``identity`` (pids are reused)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = _stat(pid)
    if stat is None:
        return os.name != "posix" or not os.path.isdir("/proc")
    if stat[0] in ("Z", "X"):
        return False
    return identity is None or stat[1] == identity


def _stat(pid: int) -> tuple[str, str] | None:
    """(state, start time) from /proc/PID/stat."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            text = fh.read()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return fields[0], fields[19]


def _start_time(pid: int) -> str | None:
    stat = _stat(pid)
    return stat[1] if stat else None


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children first), from /proc."""
    parents: dict[int, list[int]] = {}
    with contextlib.suppress(OSError):
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    text = fh.read()
            except OSError:
                continue
            ppid = int(text[text.rindex(")") + 2 :].split()[1])
            parents.setdefault(ppid, []).append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def stop_children(pid: int, grace: float = 2.0) -> None:
    """SIGTERM every descendant of ``pid``, then SIGKILL those still there after ``grace``."""
    victims = descendants(pid)
    for child in victims:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(alive(c) for c in victims):
        time.sleep(0.05)
    for child in victims:
        with contextlib.suppress(OSError):
            os.kill(child, signal.SIGKILL)
