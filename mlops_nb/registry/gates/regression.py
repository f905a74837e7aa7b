"""No regression: the candidate and the current alias holder, both scored by mlops-nb on the same
held-out data with the same metric; the candidate must be at least as good."""

from __future__ import annotations

from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass
from typing import Any

from mlops_nb.registry.constants import Gate, GateStatus
from mlops_nb.registry.errors import PromotionUsageError, RegistryError
from mlops_nb.registry.gates.scorer import InPlace, ModelSource, score_model
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


def _source(model: ModelSource | str) -> ModelSource:
    return model if isinstance(model, ModelSource) else ModelSource(model)


def score(model: ModelSource | str, data: EvalData, primary: Primary) -> float:
    """``model`` (a ``models:/`` URI, or a :class:`ModelSource`) predicting ``data``, scored
    here."""
    return _result(submit(InPlace(), model, data, primary), _source(model), data, primary)


def submit(
    executor: Executor,
    model: ModelSource | str,
    data: EvalData,
    primary: Primary,
    tracking_uri: str | None = None,
) -> Future[float]:
    """Score ``model`` on ``data`` in ``executor`` (see :mod:`.scorer`); the result is read by
    :func:`check`."""
    if tracking_uri is None:
        import mlflow

        tracking_uri = mlflow.get_tracking_uri()
    features, target = data.split()
    return executor.submit(
        score_model, _source(model), features, target, primary.scorer.name, tracking_uri
    )


def _result(future: Future[float], model: ModelSource, data: EvalData, primary: Primary) -> float:
    try:
        return future.result()
    except BrokenExecutor:  # the worker process died (killed, out of memory): score here
        return _result(submit(InPlace(), model, data, primary), model, data, primary)
    except RegistryError as exc:
        raise RegistryError(f"{model.uri} could not predict {data.described}: {exc}") from exc


def check(
    candidate_model: ModelSource | str,
    holder_model: ModelSource | str | None,
    holder_version: str | None,
    data: EvalData,
    primary: Primary,
    tolerance: float = 0.0,
    *,
    scores: tuple[Future[float], Future[float] | None] | None = None,
) -> GateResult:
    """The gate's result; ``scores``: the candidate's and the holder's scores already submitted
    (:func:`submit`), else both are scored here."""
    candidate_src = _source(candidate_model)
    holder_src = _source(holder_model) if holder_model is not None else None
    if scores is None:
        here = InPlace()
        scores = (
            submit(here, candidate_src, data, primary),
            submit(here, holder_src, data, primary) if holder_src is not None else None,
        )
    metric = primary.scorer.name
    better = "higher" if primary.scorer.higher_is_better else "lower"
    stated = f"{metric} ({better} is better; {primary.why}) on {data.described}"
    try:
        candidate = _result(scores[0], candidate_src, data, primary)
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
    if holder_src is None:
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
        holder = _result(scores[1], holder_src, data, primary)
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
