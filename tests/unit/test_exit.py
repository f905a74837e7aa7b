"""The console script's prompt exit (mlops_nb._exit): atexit hooks run, output flushed, the exit
code kept; main() called from Python never exits."""

from __future__ import annotations

import atexit
import subprocess
import sys
import textwrap


def test_atexit_still_has_the_hook_the_prompt_exit_runs() -> None:
    assert callable(atexit._run_exitfuncs)  # mlops_nb._exit relies on it


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
