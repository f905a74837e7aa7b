"""The one place the service reaches into onnxruntime.

``InferenceSession.run`` (the Python wrapper) checks, on every call, that the feeds name every
input of the model, that no WebGPU graph capture is on and that no ``OrtValue`` belongs to another
session, then calls the C++ session's ``run``. The checks cost about 4 µs per call with one input
(more with one input per column): more than half of what onnxruntime spends predicting one row of
a small model. The service's feeds are numpy arrays built under the model's own input names, and
the session runs on the CPU provider, so the names are checked once here, when the model is loaded
(every required input fed, nothing the model does not take), and each prediction calls the C++
session's ``run`` (``_sess.run(output_names, feeds, run_options)``) directly.

``tests/unit/productionize/test_onnx_session.py`` fails if onnxruntime moves it; the service
itself falls back to the public ``run`` then, so it keeps answering, only slower.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

Run = Callable[[list[str], dict[str, Any]], Sequence[Any]]


def direct_run(session: Any, input_names: Sequence[str]) -> Run:
    """``run(output_names, feeds)`` for feeds named ``input_names``, without the wrapper's checks
    (``session.run`` itself when onnxruntime has no such inner session)."""
    inputs = session.get_inputs()
    every = {i.name for i in inputs}
    required = {i.name for i in inputs if not str(i.type).startswith("optional")}
    if not required <= set(input_names) <= every:
        raise ValueError(
            f"engine.json names the inputs {sorted(input_names)}, the ONNX model has "
            f"{sorted(every)} ({sorted(required)} required)"
        )
    inner = getattr(session, "_sess", None)
    run = getattr(inner, "run", None)
    if run is None or not callable(run):
        return session.run
    return lambda output_names, feeds: run(output_names, feeds, None)
