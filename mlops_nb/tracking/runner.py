"""Run a block of code as IPython would, and capture around it.

:func:`execute` is the ``%%time`` pattern: transform, parse, compile with a cached filename (so
tracebacks show the cell's lines), exec in the user namespace, eval a trailing expression. An
exception propagates unchanged. :class:`Observation` gathers what the block displayed (inline
matplotlib PNGs, plotly figures) and which matplotlib figures it left open.
"""

from __future__ import annotations

import ast
import base64
import contextlib
import inspect
import sys
from collections.abc import Callable
from typing import Any

from mlops_nb.tracking.capture import HOOK, instrument_shown_metrics

MAX_FIGURES = 20


def execute(
    shell: Any,
    cell: str,
    transformed: str | None = None,
    observe: Callable[[str, Any], Any] | None = None,
) -> Any:
    """Execute ``cell`` in ``shell.user_ns``; return the value of a trailing expression.

    With ``observe``, the metric-like values the cell prints or shows are passed to it as they
    are computed (see :func:`capture.instrument_shown_metrics`); nothing else changes.
    """
    __tracebackhide__ = True  # IPython shows the user's frames, not ours
    if transformed is None:
        transformed = shell.transform_cell(cell)
    filename = shell.compile.cache(transformed, shell.execution_count, raw_code=cell)
    tree = shell.compile.ast_parse(transformed, filename=filename)
    tree = shell.transform_ast(tree)
    glob = shell.user_ns
    if observe is not None:
        try:
            tree = instrument_shown_metrics(tree)
        except Exception:  # capture never stops a cell from running as written
            observe = None
        else:
            glob[HOOK] = observe
    try:
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        if tree.body:
            _run(shell, compile(tree, filename, "exec", flags=_flags(shell)), glob)
        if last is not None:
            return _run(shell, compile(last, filename, "eval", flags=_flags(shell)), glob)
        return None
    finally:
        if observe is not None:
            glob.pop(HOOK, None)


def _flags(shell: Any) -> int:
    """The shell's ``__future__`` flags, plus top-level ``await`` as IPython allows it."""
    return int(getattr(shell.compile, "flags", 0)) | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT


def _run(shell: Any, code: Any, glob: dict[str, Any]) -> Any:
    __tracebackhide__ = True
    if code.co_flags & inspect.CO_COROUTINE:  # the cell awaits: run it on IPython's loop
        return shell.loop_runner(eval(code, glob))
    return eval(code, glob)


def open_figure_numbers() -> set[int]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


def new_open_figures(before: set[int]) -> list[Any]:
    pyplot = sys.modules.get("matplotlib.pyplot")
    if pyplot is None:
        return []
    return [pyplot.figure(num) for num in sorted(set(pyplot.get_fignums()) - before)][:MAX_FIGURES]


class Observation:
    """Context manager recording what the block publishes to the notebook."""

    def __init__(self, shell: Any) -> None:
        self.shell = shell
        self.images: list[bytes] = []
        self.plotly: list[dict[str, Any]] = []
        self.figures_before: set[int] = set()
        self._pub: Any = None
        self._had_attr = False
        self._original: Any = None

    def __enter__(self) -> Observation:
        self.figures_before = open_figure_numbers()
        pub = getattr(self.shell, "display_pub", None)
        if pub is None:
            return self
        self._pub = pub
        self._had_attr = "publish" in vars(pub)
        original = self._original = pub.publish

        def publish(data: Any, *args: Any, **kwargs: Any) -> Any:
            with contextlib.suppress(Exception):  # never let capture break display
                self._grab(data)
            return original(data, *args, **kwargs)

        pub.publish = publish
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._pub is None:
            return
        if self._had_attr:
            self._pub.publish = self._original
        else:
            vars(self._pub).pop("publish", None)

    def _grab(self, data: Any) -> None:
        if not isinstance(data, dict) or len(self.images) + len(self.plotly) >= MAX_FIGURES:
            return
        if "application/vnd.plotly.v1+json" in data:
            self.plotly.append(data["application/vnd.plotly.v1+json"])
        elif "image/png" in data:
            png = data["image/png"]
            self.images.append(base64.b64decode(png) if isinstance(png, str) else bytes(png))
