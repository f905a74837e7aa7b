"""same_fit: the engine chosen early for train.py's model is kept only for an identical fit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from mlops_nb.productionize.same_fit import same_fit

RNG = np.random.default_rng(0)
X = RNG.normal(size=(200, 3))
X[::7, 1] = np.nan  # NaN in the data: imputers learn it, trees route it
Y = (X[:, 0] > 0).astype(int)


def forest(seed: int) -> RandomForestClassifier:
    return RandomForestClassifier(n_estimators=10, random_state=seed).fit(X, Y)


def imputed(c: float) -> object:
    return make_pipeline(SimpleImputer(), StandardScaler(), LogisticRegression(C=c)).fit(X, Y)


@pytest.mark.parametrize("make", [forest, imputed], ids=["forest", "pipeline"])
def test_the_same_fit_twice_is_the_same_and_survives_a_pickle_round_trip(make) -> None:
    a, b = make(1), make(1)
    assert same_fit(a, b)
    assert same_fit(a, pickle.loads(pickle.dumps(b)))


@pytest.mark.parametrize("make", [forest, imputed], ids=["forest", "pipeline"])
def test_a_different_fit_is_different(make) -> None:
    assert not same_fit(make(1), make(2))


def test_one_changed_threshold_in_one_tree_is_found() -> None:
    a, b = forest(3), pickle.loads(pickle.dumps(forest(3)))
    nodes = b.estimators_[4].tree_.threshold
    nodes[0] = np.nextafter(nodes[0], np.inf)  # the tree's arrays are views: edit in place
    assert not same_fit(a, b)


def test_categories_learned_by_an_encoder_are_compared() -> None:
    frame_a = np.array([["red"], ["blue"]], dtype=object)
    frame_b = np.array([["red"], ["green"]], dtype=object)
    a = ColumnTransformer([("c", OneHotEncoder(), [0])]).fit(frame_a)
    b = ColumnTransformer([("c", OneHotEncoder(), [0])]).fit(frame_b)
    assert not same_fit(a, b)
    assert same_fit(a, ColumnTransformer([("c", OneHotEncoder(), [0])]).fit(frame_a))


def test_what_cannot_be_walked_counts_as_different() -> None:
    class Opaque:
        def __reduce_ex__(self, protocol: object) -> object:
            raise TypeError("no")

    assert not same_fit(Opaque(), Opaque())
    assert not same_fit(forest(1), imputed(1))
