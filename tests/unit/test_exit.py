"""The console script's prompt exit (mlops_nb._exit): atexit hooks run, output flushed, the exit
code kept; main() called from Python never exits."""

from __future__ import annotations

import atexit
import subprocess
import sys
import textwrap
import threading


def test_atexit_still_has_the_hook_the_prompt_exit_runs() -> None:
    assert callable(atexit._run_exitfuncs)  # mlops_nb._exit relies on them
    assert callable(threading._shutdown)  # type: ignore[attr-defined]


def test_prompt_exit_runs_hooks_flushes_and_keeps_the_code() -> None:
    code = textwrap.dedent(
        """
        import atexit, sys, threading, time
        from mlops_nb import _exit
        atexit.register(lambda: print("hook ran", flush=False))
        threading.Thread(target=lambda: (time.sleep(0.2), print("thread done"))).start()
        sys.stdout.write("buffered")
        _exit.allow()
        assert _exit.allowed()
        _exit.now(3)
        print("never")
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout.split() == ["bufferedthread", "done", "hook", "ran"]


def test_prompt_exit_does_not_wait_for_an_idle_thread_pool() -> None:
    """MLflow keeps a ThreadPoolExecutor per artifact repository (downloads from a tracking
    server): its idle workers are told to stop, as at a normal exit, not joined forever."""
    code = textwrap.dedent(
        """
        from concurrent.futures import ThreadPoolExecutor
        from mlops_nb import _exit
        pool = ThreadPoolExecutor(2)
        assert pool.submit(lambda: 41 + 1).result() == 42  # its workers stay, idle
        _exit.now(0)
        """
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
