"""The primary metric of a model and how mlops-nb scores predictions with it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mlops_nb.registry.errors import PromotionUsageError


@dataclass(frozen=True)
class Scorer:
    name: str
    higher_is_better: bool
    task: str  # "classification" | "regression"
    fn: Callable[[Any, Any], float]


def _sk(name: str) -> Any:
    from mlops_nb.exceptions import require

    require("sklearn", "sklearn", "Scoring models for the no-regression gate")
    import sklearn.metrics

    return getattr(sklearn.metrics, name)


def _rmse(y: Any, p: Any) -> float:
    return float(_sk("mean_squared_error")(y, p)) ** 0.5


SCORERS: dict[str, Scorer] = {
    s.name: s
    for s in (
        Scorer("accuracy", True, "classification", lambda y, p: _sk("accuracy_score")(y, p)),
        Scorer(
            "balanced_accuracy",
            True,
            "classification",
            lambda y, p: _sk("balanced_accuracy_score")(y, p),
        ),
        Scorer("f1", True, "classification", lambda y, p: _sk("f1_score")(y, p, average="macro")),
        Scorer("r2", True, "regression", lambda y, p: _sk("r2_score")(y, p)),
        Scorer("rmse", False, "regression", _rmse),
        Scorer("mae", False, "regression", lambda y, p: _sk("mean_absolute_error")(y, p)),
        Scorer("mse", False, "regression", lambda y, p: _sk("mean_squared_error")(y, p)),
    )
}
_AFFIXES = re.compile(r"^(test|val|valid|validation|eval|holdout|heldout)[_.]|_score$")


def _canonical(metric: str) -> str:
    name = metric.lower()
    previous = None
    while previous != name:
        previous, name = name, _AFFIXES.sub("", name)
    return {"f1_macro": "f1", "macro_f1": "f1", "r2": "r2"}.get(name, name)


@dataclass(frozen=True)
class Primary:
    scorer: Scorer
    why: str  # how it was chosen, stated in the output


def choose(requested: str | None, logged: Iterable[str], target: Any) -> Primary:
    """``--metric`` when given; else the first scorer the run logged a metric for (accuracy,
    balanced_accuracy, f1, r2, rmse, mae, mse); else accuracy for a classification target and r2
    for a regression one."""
    if requested:
        scorer = SCORERS.get(_canonical(requested))
        if scorer is None:
            raise PromotionUsageError(
                f"--metric {requested!r}: mlops-nb scores {', '.join(SCORERS)}"
            )
        return Primary(scorer, "chosen with --metric")
    logged = list(logged)
    for name in SCORERS:
        for metric in logged:
            if _canonical(metric) == name:
                return Primary(SCORERS[name], f"the run logged {metric}")
    task = infer_task(target)
    name = "accuracy" if task == "classification" else "r2"
    return Primary(SCORERS[name], f"{task} target, no scorable metric logged by the run")


def infer_task(target: Any) -> str:
    import pandas as pd

    series = pd.Series(target)
    if series.dtype == object or str(series.dtype) in ("bool", "category", "string"):
        return "classification"
    if pd.api.types.is_integer_dtype(series) and series.nunique() <= 20:
        return "classification"
    return "regression"
