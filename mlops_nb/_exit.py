"""A prompt end for CLI commands that opt in: skip tearing the interpreter down.

After ``mlops-nb promote`` has printed its decision, Python's own finalization (freeing every
module and object of MLflow, SQLAlchemy, pandas, scikit-learn: ~0.5-1 s of CPU) is the last
thing left. A command that opts in (:func:`allow`, once its work is stored and closed) ends with
:func:`now` instead: what the interpreter's exit does first (``threading._shutdown``: idle
``concurrent.futures`` workers, such as MLflow's artifact download pool, told to stop, then the
non-daemon threads joined), every ``atexit`` hook run (logging's flush, temporary folders'
cleanup, ...), stdout and stderr flushed, then ``os._exit``. Only the console script and the
registry's scoring worker do this; ``main()`` called from Python never exits.

``threading._shutdown`` and ``atexit._run_exitfuncs`` are not documented functions;
tests/unit/test_exit.py fails if either goes, and :func:`now` then falls back to a normal exit.
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
    stop_threads = getattr(threading, "_shutdown", None)
    if run_hooks is None or stop_threads is None:  # pragma: no cover - a Python without them
        sys.exit(code)
    # joining the non-daemon threads alone would wait forever for an idle executor's workers
    stop_threads()
    run_hooks()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)
