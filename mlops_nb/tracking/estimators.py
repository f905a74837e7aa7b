"""Estimator knowledge (scikit-learn and libraries with its API), apart from the capture rules.

Never imports scikit-learn itself: if the user has not imported it, no estimator can exist.
XGBoost's and LightGBM's scikit-learn classes derive from scikit-learn's ``BaseEstimator``;
CatBoost's do not, so they are recognised by their package and their ``fit``/``predict``.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

_SCALARS = (str, int, float, bool, type(None))
#: packages whose estimators follow scikit-learn's API without deriving from its BaseEstimator
_FOREIGN_API = ("catboost",)
#: fitted state kept under private names (the booster object a refit replaces)
_FITTED_PRIVATE = ("_Booster", "_n_features", "_tree_count", "_learning_rate")


def sklearn_loaded() -> bool:
    """Whether any estimator can exist: scikit-learn or a scikit-learn-API package imported."""
    return "sklearn.base" in sys.modules or any(p in sys.modules for p in _FOREIGN_API)


def is_estimator(value: Any) -> bool:
    if isinstance(value, type):
        return False
    base = sys.modules.get("sklearn.base")
    if base is not None and isinstance(value, base.BaseEstimator):
        return True
    package = type(value).__module__.split(".")[0]
    return (
        package in _FOREIGN_API
        and callable(getattr(value, "fit", None))
        and callable(getattr(value, "predict", None))
    )


def _fitted_attrs(value: Any) -> list[str]:
    try:
        attrs = vars(value)
    except TypeError:
        return []
    return [
        k for k in attrs if (k.endswith("_") and not k.startswith("__")) or k in _FITTED_PRIVATE
    ]


def is_fitted(value: Any) -> bool:
    """scikit-learn's own convention: a fitted estimator has attributes ending in ``_``."""
    for method in ("__sklearn_is_fitted__", "is_fitted"):  # is_fitted: CatBoost
        if callable(getattr(value, method, None)):
            try:
                return bool(getattr(value, method)())
            except Exception:
                return False
    return bool(_fitted_attrs(value))


def fitted_fingerprint(value: Any) -> Any:
    """Changes when an estimator is (re)fitted: ids of its fitted attributes' values."""
    try:
        attrs = vars(value)
    except TypeError:
        return None
    state = tuple(sorted((k, id(attrs[k])) for k in _fitted_attrs(value)))
    steps = getattr(value, "steps", None)
    if isinstance(steps, list):
        state += tuple(fitted_fingerprint(step) for _, step in steps if step is not None)
    return state


def children(value: Any) -> Iterator[Any]:
    """Estimators contained in ``value``: pipeline steps, a search's best estimator, params."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        for child in _direct_children(current):
            if id(child) not in seen and child is not value:
                seen.add(id(child))
                yield child
                stack.append(child)


def _direct_children(value: Any) -> Iterator[Any]:
    # what a user's variable can point into: pipeline steps, column transformers, a search's
    # best estimator, estimators given as params. Fitted ensemble members (estimators_) are
    # clones nobody holds a variable to, and walking 100 trees costs ~25 ms.
    for name in ("best_estimator_", "steps", "transformers_", "transformers"):
        attr = getattr(value, name, None)
        items = attr if isinstance(attr, list | tuple) else [attr]
        for item in items:
            if isinstance(item, tuple):  # (name, estimator[, columns])
                item = item[1] if len(item) > 1 else None
            if is_estimator(item):
                yield item
    try:
        params = value.get_params(deep=False)
    except Exception:
        return
    for item in params.values():
        if is_estimator(item):
            yield item


def flat_params(model: Any) -> dict[str, Any]:
    """``get_params(deep=True)`` limited to scalar values, with nested estimators as class names.

    Grid searches report their base estimator's params (``estimator__max_depth`` becomes
    ``max_depth``) plus ``best_params.*`` (see :func:`search_results`).
    """
    try:
        params = model.get_params(deep=True)
    except Exception:
        return {}
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, _SCALARS):
            out[key] = value
        elif is_estimator(value):
            out[key] = type(value).__name__
        elif isinstance(value, list | tuple) and all(isinstance(v, _SCALARS) for v in value):
            out[key] = value
    if "steps" in params or "estimator" in params:
        out = {k: v for k, v in out.items() if k not in ("memory", "verbose")}
    return out


def search_results(model: Any) -> dict[str, Any]:
    """A fitted search's ``best_params_`` (as ``best_params.<name>``) and ``best_score``."""
    out: dict[str, Any] = {}
    best = getattr(model, "best_params_", None)
    if isinstance(best, dict):
        for key, value in best.items():
            out[f"best_params.{key}"] = value
    score = getattr(model, "best_score_", None)
    if score is not None:
        out["best_cv_score"] = score
    return out


def packages_of(model: Any) -> frozenset[str]:
    """Top-level packages of the model and every estimator inside it (a Pipeline's steps), so
    the requirements name xgboost for a Pipeline ending in an XGBClassifier."""
    found = {type(model).__module__.split(".")[0]}
    found.update(type(child).__module__.split(".")[0] for child in children(model))
    return frozenset(found)


def predict_method(model: Any) -> str:
    return "predict" if hasattr(model, "predict") else "transform"
