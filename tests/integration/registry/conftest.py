"""Fixtures: a registry store seeded once per session, copied for each test."""

from __future__ import annotations

from pathlib import Path

import pytest
from integration.registry.seed import Seeded, copy_store, seed


@pytest.fixture(scope="session")
def seeded_registry(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    return seed(tmp_path_factory.mktemp("registry-seed"))


@pytest.fixture
def registry(isolated: Path, seeded_registry: Seeded, monkeypatch: pytest.MonkeyPatch) -> Seeded:
    """A private copy of the seeded store; MLFLOW_TRACKING_URI points at it."""
    store = copy_store(seeded_registry, isolated / "store")
    # copies share run and model ids: MLflow caches artifact repositories by id per process
    from mlflow.tracking._tracking_service import utils

    utils._artifact_repos_cache.clear()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store.uri)
    return store
