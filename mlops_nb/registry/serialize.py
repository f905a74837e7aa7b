"""Two promotions of the same model never interleave (no lost alias update).

- A local sqlite store: a ``filelock`` next to the database file (one per store), held for the
  whole promotion (register, gates, alias move, record).
- Any other store (an ``mlflow server``): MLflow has no compare-and-set, so a *lease* on the
  registered model: a tag holding ``token|expiry|owner``, written only when no live lease is
  there and kept only if it still reads back as ours after a settle delay (two writers that
  raced both read the last writer's token, so only one goes on). The alias holder is also
  checked again just before the move (see ``api``), which catches moves made outside mlops-nb.
"""

from __future__ import annotations

import contextlib
import os
import random
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from mlops_nb.registry.constants import TAG_LEASE
from mlops_nb.registry.errors import LeaseTimeout, RegistryError

LEASE_SECONDS = 600.0
SETTLE_SECONDS = 0.25
WAIT_SECONDS = 600.0


def sqlite_path(tracking_uri: str) -> Path | None:
    """The database file of a ``sqlite:///`` URI (None for any other store)."""
    if not tracking_uri.startswith("sqlite:"):
        return None
    path = urlparse(tracking_uri).path
    if not path or path == "/:memory:":
        return None
    return Path(path)


@contextlib.contextmanager
def promotion_lock(
    client: Any, tracking_uri: str, name: str, *, wait: float = WAIT_SECONDS
) -> Iterator[None]:
    """Hold the store's promotion lock for ``name`` while the block runs."""
    db = sqlite_path(tracking_uri)
    if db is not None:
        with _file_lock(db, wait):
            yield
        return
    with _lease(client, name, wait):
        yield


@contextlib.contextmanager
def _file_lock(db: Path, wait: float) -> Iterator[None]:
    from filelock import FileLock, Timeout

    lock = FileLock(str(db) + ".mlops-nb-promote.lock")
    try:
        lock.acquire(timeout=wait)
    except Timeout:
        raise LeaseTimeout(
            f"another promotion held {lock.lock_file} for {wait:.0f}s; try again when it is done"
        ) from None
    try:
        yield
    finally:
        lock.release()


def _owner() -> str:
    return f"{os.environ.get('USER', 'unknown')}@{socket.gethostname()}:{os.getpid()}"


def _read(client: Any, name: str) -> str | None:
    value: str | None = client.get_registered_model(name).tags.get(TAG_LEASE)
    return value


def _live(value: str | None, now: float) -> bool:
    if not value:
        return False
    try:
        return float(value.split("|")[1]) > now
    except (IndexError, ValueError):
        return False


@contextlib.contextmanager
def _lease(client: Any, name: str, wait: float) -> Iterator[None]:
    _ensure_model(client, name)
    token = uuid.uuid4().hex
    deadline = time.monotonic() + wait
    value = ""
    while True:
        current = _read(client, name)
        if not _live(current, time.time()):
            value = f"{token}|{time.time() + LEASE_SECONDS:.3f}|{_owner()}"
            client.set_registered_model_tag(name, TAG_LEASE, value)
            time.sleep(SETTLE_SECONDS)
            if _read(client, name) == value:
                break
            current = _read(client, name)
        if time.monotonic() > deadline:
            holder = (current or "").split("|")[-1]
            raise LeaseTimeout(
                f"another promotion of {name!r} ({holder}) held its lease for {wait:.0f}s; if "
                f"that process is gone, delete the registered model tag {TAG_LEASE}"
            )
        time.sleep(0.1 + random.random() * 0.3)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            if _read(client, name) == value:
                client.delete_registered_model_tag(name, TAG_LEASE)


def _ensure_model(client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        client.create_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise RegistryError(f"cannot create registered model {name!r}: {exc.message}") from None
