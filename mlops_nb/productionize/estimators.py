"""What we know about common estimator classes, by the name a notebook calls them by (plain data).

Used statically (from the constructor call in the notebook's code, before anything runs): is a
fit of this class random unless seeded, and under which keyword does it take the seed; which
library provides it (for the "supported models" check).
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Randomness:
    """How an estimator's fit depends on a seed.

    ``when`` decides from the constructor's literal keywords whether the default configuration is
    random (``None``: always random when unseeded)."""

    keywords: tuple[str, ...] = ("random_state",)
    when: Callable[[dict[str, object]], bool] | None = None


def _kw(name: str, *values: object) -> Callable[[dict[str, object]], bool]:
    return lambda kwargs: kwargs.get(name, _MISSING) in values


_MISSING = object()
_ALWAYS = Randomness()

#: estimators (and searches) whose fit is random when ``random_state`` is absent or ``None``.
#: XGBoost, LightGBM and CatBoost seed themselves with a fixed default: they are deterministic.
RANDOM_ESTIMATORS: dict[str, Randomness] = {
    **{
        name: _ALWAYS
        for name in (
            "RandomForestClassifier",
            "RandomForestRegressor",
            "ExtraTreesClassifier",
            "ExtraTreesRegressor",
            "RandomTreesEmbedding",
            "GradientBoostingClassifier",
            "GradientBoostingRegressor",
            "DecisionTreeClassifier",
            "DecisionTreeRegressor",
            "ExtraTreeClassifier",
            "ExtraTreeRegressor",
            "BaggingClassifier",
            "BaggingRegressor",
            "AdaBoostClassifier",
            "AdaBoostRegressor",
            "IsolationForest",
            "MLPClassifier",
            "MLPRegressor",
            "SGDClassifier",
            "SGDRegressor",
            "SGDOneClassSVM",
            "Perceptron",
            "PassiveAggressiveClassifier",
            "PassiveAggressiveRegressor",
            "RandomizedSearchCV",
            "HalvingRandomSearchCV",
            "KMeans",
            "MiniBatchKMeans",
            "GaussianMixture",
            "BayesianGaussianMixture",
            "RANSACRegressor",
        )
    },
    # random only in some configurations
    "LogisticRegression": Randomness(when=_kw("solver", "sag", "saga", "liblinear")),
    "LinearSVC": Randomness(when=lambda kwargs: kwargs.get("dual", "auto") is not False),
    "LinearSVR": Randomness(when=lambda kwargs: kwargs.get("dual", "auto") is not False),
    "SVC": Randomness(when=_kw("probability", True)),
    "NuSVC": Randomness(when=_kw("probability", True)),
    "Ridge": Randomness(when=_kw("solver", "sag", "saga")),
    "RidgeClassifier": Randomness(when=_kw("solver", "sag", "saga")),
    "Lasso": Randomness(when=_kw("selection", "random")),
    "ElasticNet": Randomness(when=_kw("selection", "random")),
    "HistGradientBoostingClassifier": Randomness(when=_kw("early_stopping", True)),
    "HistGradientBoostingRegressor": Randomness(when=_kw("early_stopping", True)),
}

#: searches: the estimator they hold is what gets served (``best_estimator_``)
SEARCHES = {
    "GridSearchCV",
    "RandomizedSearchCV",
    "HalvingGridSearchCV",
    "HalvingRandomSearchCV",
}

#: gradient-boosting libraries served through their scikit-learn API (class name -> library)
BOOSTING = {
    "XGBClassifier": "xgboost",
    "XGBRegressor": "xgboost",
    "XGBRanker": "xgboost",
    "XGBRFClassifier": "xgboost",
    "XGBRFRegressor": "xgboost",
    "LGBMClassifier": "lightgbm",
    "LGBMRegressor": "lightgbm",
    "LGBMRanker": "lightgbm",
    "CatBoostClassifier": "catboost",
    "CatBoostRegressor": "catboost",
    "CatBoostRanker": "catboost",
}


def called_name(call: ast.Call) -> str | None:
    """``RandomForestClassifier`` for ``RandomForestClassifier(...)`` or ``ensemble.RandomF...``."""
    func = call.func
    if isinstance(func, ast.Attribute):
        return func.attr
    if isinstance(func, ast.Name):
        return func.id
    return None


def literal_keywords(call: ast.Call) -> dict[str, object]:
    out: dict[str, object] = {}
    for keyword in call.keywords:
        if keyword.arg is None:
            continue
        try:
            out[keyword.arg] = ast.literal_eval(keyword.value)
        except ValueError:
            out[keyword.arg] = keyword.value  # an expression: known to be given, value unknown
    return out


def unseeded(call: ast.Call) -> bool:
    """True when this constructor call makes an estimator whose fit is random (no seed given)."""
    name = called_name(call) or ""
    if name in BOOSTING:
        return False  # XGBoost, LightGBM and CatBoost use a fixed seed unless told otherwise
    rule = RANDOM_ESTIMATORS.get(name)
    if rule is None:
        return False
    if any(k.arg is None for k in call.keywords):
        return False  # **params may carry a seed: we cannot tell
    kwargs = literal_keywords(call)
    seeded = any(key in kwargs and kwargs[key] is not None for key in rule.keywords)
    if seeded:
        return False
    return rule.when is None or rule.when(kwargs)
