"""No regression: the candidate and the current alias holder, both scored by mlops-nb on the same
held-out data with the same metric; the candidate must be at least as good."""

from __future__ import annotations

from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass
from typing import Any

from mlops_nb.registry.constants import Gate, GateStatus
from mlops_nb.registry.errors import PromotionUsageError, RegistryError
from mlops_nb.registry.gates.scorer import InPlace, score_uri
from mlops_nb.registry.gates.scoring import Primary
from mlops_nb.registry.result import GateResult


@dataclass(frozen=True)
class EvalData:
    frame: Any  # pandas DataFrame with the features and the target
    target: str
    described: str  # "eval.csv (10,000 rows)" — stated in the result

    def split(self) -> tuple[Any, Any]:
        if self.target not in self.frame.columns:
            raise PromotionUsageError(
                f"--target {self.target!r} is not a column of {self.described} (columns: "
                f"{', '.join(map(str, self.frame.columns[:20]))})"
            )
        return self.frame.drop(columns=[self.target]), self.frame[self.target]


def score(model_uri: str, data: EvalData, primary: Primary) -> float:
    """``model_uri`` loaded with MLflow's pyfunc flavor, predicting ``data``, scored (here)."""
    return _result(submit(InPlace(), model_uri, data, primary), model_uri, data, primary)


def submit(
    executor: Executor,
    model_uri: str,
    data: EvalData,
    primary: Primary,
    tracking_uri: str | None = None,
) -> Future[float]:
    """Score ``model_uri`` on ``data`` in ``executor`` (see :mod:`.scorer`); the result is
    read by :func:`check`."""
    import mlflow

    features, target = data.split()
    uri = tracking_uri or mlflow.get_tracking_uri()
    return executor.submit(score_uri, model_uri, features, target, primary.scorer.name, uri)


def _result(future: Future[float], model_uri: str, data: EvalData, primary: Primary) -> float:
    try:
        return future.result()
    except BrokenExecutor:  # the worker process died (killed, out of memory): score here
        return _result(submit(InPlace(), model_uri, data, primary), model_uri, data, primary)
    except RegistryError as exc:
        raise RegistryError(f"{model_uri} could not predict {data.described}: {exc}") from exc


def check(
    candidate_uri: str,
    holder_uri: str | None,
    holder_version: str | None,
    data: EvalData,
    primary: Primary,
    tolerance: float = 0.0,
    *,
    scores: tuple[Future[float], Future[float] | None] | None = None,
) -> GateResult:
    """The gate's result; ``scores``: the candidate's and the holder's scores already submitted
    (:func:`submit`), else both are scored here."""
    if scores is None:
        here = InPlace()
        scores = (
            submit(here, candidate_uri, data, primary),
            submit(here, holder_uri, data, primary) if holder_uri is not None else None,
        )
    metric = primary.scorer.name
    better = "higher" if primary.scorer.higher_is_better else "lower"
    stated = f"{metric} ({better} is better; {primary.why}) on {data.described}"
    try:
        candidate = _result(scores[0], candidate_uri, data, primary)
    except RegistryError as exc:
        return GateResult(
            Gate.NO_REGRESSION.value,
            GateStatus.FAILED,
            str(exc),
            metric=metric,
            details={"data": data.described},
        )
    details: dict[str, Any] = {
        "data": data.described,
        "rows": len(data.frame),
        "higher_is_better": primary.scorer.higher_is_better,
        "why": primary.why,
        "candidate_score": candidate,
        "holder_version": holder_version,
        "tolerance": tolerance,
    }
    if holder_uri is None:
        return GateResult(
            Gate.NO_REGRESSION.value,
            GateStatus.PASSED,
            f"candidate {metric} {candidate:.6g} on {data.described}; no current alias holder "
            "to compare with",
            metric=metric,
            value=candidate,
            details=details,
        )
    try:
        assert scores[1] is not None
        holder = _result(scores[1], holder_uri, data, primary)
    except RegistryError as exc:
        return GateResult(
            Gate.NO_REGRESSION.value,
            GateStatus.FAILED,
            f"the alias holder (version {holder_version}) could not be scored: {exc}",
            metric=metric,
            value=candidate,
            details=details,
        )
    details["holder_score"] = holder
    if primary.scorer.higher_is_better:
        ok = candidate >= holder - tolerance
    else:
        ok = candidate <= holder + tolerance
    relation = ">=" if primary.scorer.higher_is_better else "<="
    verdict = "no regression" if ok else "REGRESSION"
    return GateResult(
        Gate.NO_REGRESSION.value,
        GateStatus.PASSED if ok else GateStatus.FAILED,
        f"{verdict}: candidate {candidate:.6g} vs version {holder_version} {holder:.6g} "
        f"(required candidate {relation} holder{f' ± {tolerance:g}' if tolerance else ''}); "
        f"{stated}",
        metric=metric,
        value=candidate,
        threshold=holder,
        details=details,
    )
