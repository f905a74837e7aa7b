"""requirements.txt (what the service imports, at the notebook environment's versions) and the
wheelhouse (wheels prepared on the host so the image builds with ``pip install --no-index``)."""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import MlopsNbError

#: what the service template imports itself (uvloop/httptools: uvicorn's fast loop and parser)
SERVICE_DISTS = ["fastapi", "uvicorn", "pydantic", "numpy", "scipy", "uvloop", "httptools"]
TEST_DISTS = ["pytest", "httpx"]
_NAMES = {"sklearn": "scikit-learn"}


class WheelhouseError(MlopsNbError):
    """Wheels for the service could not be prepared."""


def _version(dist: str, known: dict[str, str]) -> str | None:
    if dist in known:
        return known[dist]
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def requirements(probe: dict[str, Any], needs_pandas: bool) -> list[tuple[str, str]]:
    """(distribution, version) pairs, sorted by name."""
    known = {**probe.get("versions", {}), **probe.get("serving_distributions", {})}
    wanted = [*SERVICE_DISTS, *probe.get("serving_distributions", {})]
    if needs_pandas:
        wanted.append("pandas")
    pins: dict[str, str] = {}
    for dist in wanted:
        dist = _NAMES.get(dist, dist)
        version = _version(dist, known)
        if version is None:
            if dist in ("uvloop", "httptools"):
                continue
            raise MlopsNbError(
                f"the service needs '{dist}', which is not installed; pip install {dist}"
            )
        pins[dist.lower()] = version
    return sorted(pins.items())


def test_requirements(probe: dict[str, Any]) -> list[tuple[str, str]]:
    known = probe.get("versions", {})
    return [(d, v) for d in TEST_DISTS if (v := _version(d, known))]


def wheel_cache() -> Path:
    from mlops_nb.config import get_settings

    return get_settings().home / "wheels"


def _pip_download(args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
    return subprocess.run(
        [sys.executable, "-m", "pip", "download", "--only-binary=:all:", "-q", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=1800,
    )


def build_wheelhouse(service: Path, requirement_files: list[Path]) -> int:
    """Fill ``service/wheels`` for the requirement files; reuses a local wheel cache, and reaches
    the package index only for wheels it does not hold yet. Returns the number of wheels."""
    cache = wheel_cache()
    cache.mkdir(parents=True, exist_ok=True)
    wheels = service / "wheels"
    wheels.mkdir(exist_ok=True)
    reqs = [arg for f in requirement_files for arg in ("-r", str(f))]
    offline = _pip_download(["--no-index", "--find-links", str(cache), "-d", str(wheels), *reqs])
    if offline.returncode != 0:
        online = _pip_download(["-d", str(cache), *reqs])
        if online.returncode != 0:
            raise WheelhouseError(
                "could not download wheels for the service (pip download failed):\n"
                + online.stderr.strip()[-1500:]
                + "\nWithout network, fill the wheel cache at "
                + str(cache)
                + " first"
            )
        shutil.rmtree(wheels)
        wheels.mkdir()
        again = _pip_download(["--no-index", "--find-links", str(cache), "-d", str(wheels), *reqs])
        if again.returncode != 0:
            raise WheelhouseError("wheel cache incomplete:\n" + again.stderr.strip()[-1500:])
    return len(list(wheels.glob("*.whl")))
