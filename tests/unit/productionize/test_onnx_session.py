"""The service calls onnxruntime's C++ session directly (``templates/service/app/onnx_session.py``,
the one place it reaches into onnxruntime): these tests fail when onnxruntime moves what that
relies on, and show the direct call answers exactly what the public ``run`` answers."""

from __future__ import annotations

import numpy as np
import pytest
from support import template_module

ONNX_SESSION = template_module("service", "app", "onnx_session.py")


@pytest.fixture(scope="module")
def session() -> object:
    ort = pytest.importorskip("onnxruntime")
    from skl2onnx import to_onnx
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 4))
    model = make_pipeline(StandardScaler(), LogisticRegression()).fit(x, x[:, 0] + x[:, 1] > 0)
    onnx = to_onnx(model, x[:1], options={"zipmap": False})
    return ort.InferenceSession(onnx.SerializeToString(), providers=["CPUExecutionProvider"])


def test_the_direct_run_skips_the_wrapper_and_answers_as_run(
    session: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [i.name for i in session.get_inputs()]  # type: ignore[attr-defined]
    outputs = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
    rows = np.random.default_rng(1).normal(size=(9, 4))
    public = [session.run(outputs, {names[0]: f}) for f in (rows[:1], rows)]  # type: ignore[attr-defined]

    def wrapper_called(*args: object, **kwargs: object) -> None:
        raise AssertionError("the public run was used: onnxruntime moved its inner session")

    with monkeypatch.context() as patch:  # the direct path, not the fallback to the public run
        patch.setattr(type(session), "run", wrapper_called)
        run = ONNX_SESSION.direct_run(session, names)
        direct = [run(outputs, {names[0]: f}) for f in (rows[:1], rows)]
    for got_outputs, want_outputs in zip(direct, public, strict=True):
        for got, want in zip(got_outputs, want_outputs, strict=True):
            np.testing.assert_array_equal(got, want)


def test_inputs_that_do_not_match_the_model_are_refused_at_load(session: object) -> None:
    with pytest.raises(ValueError, match=r"engine\.json names the inputs"):
        ONNX_SESSION.direct_run(session, ["not_an_input"])


def test_a_failing_run_still_raises_for_the_engine_to_report(session: object) -> None:
    names = [i.name for i in session.get_inputs()]  # type: ignore[attr-defined]
    run = ONNX_SESSION.direct_run(session, names)
    outputs = [o.name for o in session.get_outputs()]  # type: ignore[attr-defined]
    with pytest.raises(Exception, match=r"(?i)dimension|shape|invalid"):
        run(outputs, {names[0]: np.zeros((1, 7))})  # the model takes 4 columns
