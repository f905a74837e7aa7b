"""Which fitted models productionize serves, checked on the model object itself.

Supported: scikit-learn estimators and pipelines, and anything scikit-learn-compatible (a subclass
of ``sklearn.base.BaseEstimator``, which the scikit-learn APIs of XGBoost and LightGBM are), plus
CatBoost's ``CatBoostClassifier``/``CatBoostRegressor`` (their own scikit-learn-style API). Every
estimator inside a Pipeline, ColumnTransformer, search or ensemble is checked too. Anything else
with a ``predict`` (a statsmodels result, a Keras model, a native ``Booster``) is refused with a
message naming what is supported.

:func:`describe` runs where the model lives (in the notebook's kernel: its source is sent there, so
it uses nothing but the standard library); :func:`check` judges the description anywhere.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

from mlops_nb.exceptions import MlopsNbError

SUPPORTED = (
    "scikit-learn estimators and pipelines (and scikit-learn-compatible estimators: subclasses "
    "of sklearn.base.BaseEstimator), and XGBoost, LightGBM and CatBoost through their "
    "scikit-learn API (XGBClassifier/XGBRegressor, LGBMClassifier/LGBMRegressor, "
    "CatBoostClassifier/CatBoostRegressor), alone or inside a Pipeline"
)
_SKLEARN_BASE = "sklearn.base.BaseEstimator"
_CATBOOST = ("catboost.core.CatBoostClassifier", "catboost.core.CatBoostRegressor")
_NATIVE_HINTS = {
    "xgboost.core.Booster": "train with XGBClassifier/XGBRegressor instead of xgboost.train",
    "lightgbm.basic.Booster": "train with LGBMClassifier/LGBMRegressor instead of lightgbm.train",
    "catboost.core.CatBoost": "use CatBoostClassifier/CatBoostRegressor",
}


class UnsupportedModelError(MlopsNbError):
    """The fitted model is not one productionize can serve (the message names what is)."""

    exit_code = 2


def describe(model: Any) -> list[dict[str, Any]]:
    """The estimators in ``model`` (itself first): class, its bases, whether it predicts.

    Self-contained (sent to the kernel as source): standard library only, imports inside."""
    import contextlib

    def is_estimator(value: Any) -> bool:
        return hasattr(value, "fit") and not isinstance(value, type)

    found: list[dict[str, Any]] = []
    seen: set[int] = set()

    def visit(obj: Any, path: str, depth: int) -> None:
        if id(obj) in seen or depth > 8:
            return
        seen.add(id(obj))
        cls = type(obj)
        found.append(
            {
                "path": path,
                "class": f"{cls.__module__}.{cls.__qualname__}",
                "bases": [f"{c.__module__}.{c.__qualname__}" for c in cls.__mro__],
                "predict": callable(getattr(obj, "predict", None)),
            }
        )
        children: list[tuple[str, Any]] = []
        get_params = getattr(obj, "get_params", None)
        if callable(get_params):
            with contextlib.suppress(Exception):
                children += list(get_params(deep=False).items())
        if getattr(obj, "best_estimator_", None) is not None:
            children.append(("best_estimator_", obj.best_estimator_))
        for name, value in children:
            items = value if isinstance(value, list | tuple) else [value]
            for index, item in enumerate(items):
                if isinstance(item, tuple) and len(item) >= 2:
                    item = item[1]  # (name, estimator[, columns])
                if is_estimator(item):
                    where = f"{path}.{name}" if items is not value else f"{path}.{name}[{index}]"
                    visit(item, where, depth + 1)

    visit(model, "model", 0)
    return found


def describe_source() -> str:
    """:func:`describe`'s source, to define it in another interpreter."""
    return inspect.getsource(describe)


def problems(described: list[dict[str, Any]]) -> list[str]:
    """What makes this model unservable (empty when it is supported)."""
    if not described:
        return ["nothing to describe"]
    out = []
    root = described[0]
    if not root["predict"]:
        out.append(f"it is a {root['class']}, which has no predict()")
    for node in described:
        if _SKLEARN_BASE in node["bases"] or node["class"] in _CATBOOST:
            continue
        hint = next((h for c, h in _NATIVE_HINTS.items() if c in node["bases"]), None)
        where = "it" if node["path"] == "model" else f"`{node['path']}`"
        text = f"{where} is a {node['class']}, which is not scikit-learn-compatible"
        out.append(text + (f" ({hint})" if hint else ""))
    return out


def check(described: list[dict[str, Any]], model_var: str) -> None:
    """Raise :class:`UnsupportedModelError` unless the described model can be served."""
    found = problems(described)
    if found:
        raise UnsupportedModelError(
            f"productionize cannot serve `{model_var}`: {'; '.join(found)}. Supported: "
            f"{SUPPORTED}. Pass --model-var with a supported model"
        )


def check_class_definition(node: ast.ClassDef, model_var: str, cell: int) -> None:
    """Before anything runs: a model class defined in the notebook without scikit-learn's bases
    (``class MyModel:`` with fit/predict) cannot be served."""
    bases = {
        base.attr if isinstance(base, ast.Attribute) else getattr(base, "id", "")
        for base in node.bases
    }
    if bases - {"object"}:
        return  # derives from something: judged on the fitted object instead
    raise UnsupportedModelError(
        f"productionize cannot serve `{model_var}`: it is a {node.name} (defined in cell {cell}), "
        f"which is not scikit-learn-compatible. Supported: {SUPPORTED}. Derive {node.name} from "
        "sklearn.base.BaseEstimator (and ClassifierMixin/RegressorMixin), or pass --model-var "
        "with a supported model"
    )
