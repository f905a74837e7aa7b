"""requirements.txt (what the service imports, at the notebook environment's versions) and the
wheelhouse (wheels prepared on the host so the image builds with ``pip install --no-index``).

Gradient-boosting libraries are pinned from the modules the model's pickle refers to (XGBoost,
LightGBM, CatBoost) with what their scikit-learn API imports; a system library one of them links
(LightGBM: OpenMP's ``libgomp.so.1``) is installed by the Dockerfile, or, for an offline build,
copied from this machine into ``wheels/native``."""

from __future__ import annotations

import importlib.metadata
import json
import os
import pickletools
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import MlopsNbError

#: what the service template imports itself (uvloop/httptools: uvicorn's fast loop and parser)
SERVICE_DISTS = [
    "fastapi",
    "uvicorn",
    "pydantic",
    "numpy",
    "uvloop",
    "httptools",
    "prometheus-client",
]
#: modules every Python has, or the service already pins: never a requirement of their own
_PROVIDED = {"numpy", "pandas", "feature_runtime", "features", "__future__", "builtins"}
TEST_DISTS = ["pytest", "httpx"]
_NAMES = {"sklearn": "scikit-learn"}


#: what a served library needs besides itself: its scikit-learn API imports scikit-learn
COMPANIONS = {
    "xgboost": ["scikit-learn"],
    "xgboost-cpu": ["scikit-learn"],
    "lightgbm": ["scikit-learn"],
}
#: shared libraries a wheel expects from the system (distribution -> (Debian package, soname));
#: LightGBM's wheel links the system's OpenMP runtime, which slim images lack
SYSTEM_LIBRARIES = {"lightgbm": ("libgomp1", "libgomp.so.1")}


def system_packages(reqs: list[tuple[str, str]]) -> list[str]:
    """Debian packages the image needs for these requirements (e.g. ``libgomp1`` for LightGBM)."""
    return sorted({SYSTEM_LIBRARIES[name][0] for name, _ in reqs if name in SYSTEM_LIBRARIES})


def _loaded_path(soname: str) -> Path | None:
    """Where this machine's dynamic loader finds ``soname`` (Linux; None elsewhere)."""
    import ctypes

    try:
        ctypes.CDLL(soname)
        maps = Path("/proc/self/maps").read_text().splitlines()
    except OSError:
        return None
    for line in maps:
        path = line.split()[-1] if line.split() else ""
        if Path(path).name.startswith(soname):
            return Path(path)
    return None


def copy_system_libraries(reqs: list[str], native: Path) -> list[str]:
    """Copy the system libraries these requirement names need into ``native`` (for an offline
    build, whose image cannot install them). Returns the sonames copied."""
    copied = []
    for name in reqs:
        if name not in SYSTEM_LIBRARIES:
            continue
        package, soname = SYSTEM_LIBRARIES[name]
        found = _loaded_path(soname)
        if found is None:
            raise WheelhouseError(
                f"{name} needs {soname} (Debian package {package}), which this machine does not "
                f"have; install {package}, or build without --wheelhouse"
            )
        native.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(found, native / soname)
        copied.append(soname)
    return copied


def _requirement_names(files: list[Path]) -> list[str]:
    names = []
    for file in files:
        for line in file.read_text().splitlines():
            line = line.split("#")[0].strip()
            if line:
                names.append(line.split("==")[0].split(">=")[0].strip().lower())
    return names


class WheelhouseError(MlopsNbError):
    """Wheels for the service could not be prepared."""


def _version(dist: str, known: dict[str, str]) -> str | None:
    if dist in known:
        return known[dist]
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def engine_of(service: Path) -> str:
    """The engine productionize chose for a service directory (``model/engine.json``)."""
    path = service / "model" / "engine.json"
    return str(json.loads(path.read_text())["engine"]) if path.is_file() else "sklearn"


def feature_distributions(service: Path) -> list[str]:
    """Distributions the feature code needs beyond numpy and pandas: what ``features.py`` (and
    the runtime beside it) imports, and the modules its pickled state ``model/features.pkl``
    refers to."""
    from mlops_nb.productionize.fidelity_probe import imports_of

    modules: set[str] = set()
    for name in ("features.py", "feature_runtime.py"):
        path = service / name
        if path.is_file():
            modules |= imports_of(path)  # module level only; helper modules beside it shipped
    state = service / "model" / "features.pkl"
    if state.is_file():
        modules.update(_pickle_modules(state.read_bytes()))
    mapping = importlib.metadata.packages_distributions()
    dists = set()
    for module in modules - _PROVIDED:
        if module in sys.stdlib_module_names:
            continue
        dists.update(mapping.get(module, [module]))
    return sorted(dists)


_STRING_OPS = {
    "SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE",
    "SHORT_BINSTRING", "BINSTRING", "STRING",
}  # fmt: skip
_NO_PUSH = {"MEMOIZE", "PUT", "BINPUT", "LONG_BINPUT", "FRAME", "PROTO", "STOP"}


def _pickle_modules(data: bytes) -> set[str]:
    """Top-level modules a pickle imports when loaded (its GLOBAL / STACK_GLOBAL opcodes), read
    without loading it: the strings pushed (directly or from the memo) before STACK_GLOBAL."""
    modules: set[str] = set()
    pushed: list[Any] = []
    memo: dict[int, Any] = {}
    for opcode, arg, _ in pickletools.genops(data):
        name = opcode.name
        if name == "GLOBAL" and isinstance(arg, str):
            modules.add(arg.split(" ")[0].split(".")[0])
            pushed.append(None)
        elif name == "STACK_GLOBAL":
            if len(pushed) >= 2 and isinstance(pushed[-2], str):
                modules.add(pushed[-2].split(".")[0])
            pushed.append(None)
        elif name in _STRING_OPS:
            pushed.append(arg)
        elif name == "MEMOIZE":
            memo[len(memo)] = pushed[-1] if pushed else None
        elif name in ("PUT", "BINPUT", "LONG_BINPUT"):
            memo[arg if isinstance(arg, int) else -1] = pushed[-1] if pushed else None
        elif name in ("GET", "BINGET", "LONG_BINGET"):
            pushed.append(memo.get(arg if isinstance(arg, int) else -1))
        elif name not in _NO_PUSH:
            pushed.append(None)
    return modules


def requirements(
    probe: dict[str, Any],
    needs_pandas: bool,
    engine: str = "sklearn",
    feature_dists: list[str] | None = None,
) -> list[tuple[str, str]]:
    """(distribution, version) pairs, sorted by name.

    With the ONNX engine the model's own libraries (scikit-learn, XGBoost, ...) are left out:
    onnxruntime runs the model, and only what the feature code needs is added."""
    known = {**probe.get("versions", {}), **probe.get("serving_distributions", {})}
    if engine == "onnx":
        wanted = [*SERVICE_DISTS, "onnxruntime", *(feature_dists or [])]
    else:
        wanted = [*SERVICE_DISTS, *probe.get("serving_distributions", {}), *(feature_dists or [])]
    wanted += [c for d in list(wanted) for c in COMPANIONS.get(d.lower(), [])]
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
    copy_system_libraries(_requirement_names(requirement_files), wheels / "native")
    return len(list(wheels.glob("*.whl")))
