"""A prompt end for CLI commands that opt in: skip tearing the interpreter down.

After ``mlops-nb promote`` has printed its decision, Python's own finalization (freeing every
module and object of MLflow, SQLAlchemy, pandas, scikit-learn: ~0.5-1 s of CPU) is the last
thing left. A command that opts in (:func:`allow`, once its work is stored and closed) ends with
:func:`now` instead: the non-daemon threads joined, every ``atexit`` hook run (logging's flush,
temporary folders' cleanup, ...), stdout and stderr flushed, then ``os._exit``. Only the console
script does this (``mlops_nb.cli.run``); ``main()`` called from Python never exits.

``atexit._run_exitfuncs`` is not a documented function; tests/unit/test_exit.py fails if it
goes, and :func:`now` then falls back to a normal exit.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading

_allowed = False


def allow() -> None:
    """The running command has nothing left for the interpreter's teardown to do."""
    global _allowed
    _allowed = True


def allowed() -> bool:
    return _allowed


def now(code: int) -> None:
    """Exit with ``code`` after the atexit hooks, without the interpreter's teardown."""
    run_hooks = getattr(atexit, "_run_exitfuncs", None)
    if run_hooks is None:  # pragma: no cover - a Python without it: the normal way
        sys.exit(code)
    for thread in threading.enumerate():
        if thread is not threading.main_thread() and not thread.daemon:
            thread.join()
    run_hooks()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
