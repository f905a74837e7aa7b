"""One KFP step inside its pod: ``python -m mlops_nb.pipeline.orchestrators.kfp_task ARGS``.

Copies the input artifacts to the paths the notebook reads, runs the step as ``mlops-nb pipeline
run --only STEP --force`` does (its parameters as the pipeline run gave them, typed), then copies
the declared outputs and the executed notebook to the output artifacts. Exit code 1 when the
step failed (KFP retries it as set), 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any


def _bool(text: str) -> bool:
    return text.strip().lower() in ("true", "1", "yes")


_CONVERT: dict[str, Callable[[str], Any]] = {
    "int": int,
    "float": float,
    "str": str,
    "bool": _bool,
    "list": json.loads,
    "dict": json.loads,
    "json": json.loads,
}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mlops_nb.pipeline.orchestrators.kfp_task")
    p.add_argument("--pipeline", required=True)
    p.add_argument("--step", required=True)
    p.add_argument("--tracking-uri", default="")
    p.add_argument("--orchestrator-run", default=None)
    p.add_argument("--param", nargs=3, action="append", default=[], metavar=("NAME", "TYPE", "V"))
    p.add_argument("--input", nargs=2, action="append", default=[], metavar=("REL", "PATH"))
    p.add_argument("--output", nargs=2, action="append", default=[], metavar=("REL", "PATH"))
    p.add_argument("--notebook-out", default=None)
    return p


def typed(kind: str, text: str) -> Any:
    """A parameter as KFP passed it (text) → the value the notebook expects."""
    if kind not in _CONVERT:
        raise ValueError(f"unknown parameter type {kind!r}")
    return _CONVERT[kind](text)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.tracking_uri:
        os.environ["MLFLOW_TRACKING_URI"] = args.tracking_uri
    from mlops_nb.pipeline import runner, spec

    pipeline = spec.load(args.pipeline)
    pipeline.require_step(args.step, "--step")
    params = dict(pipeline.steps[args.step].parameters)
    for name, kind, text in args.param:
        params[name] = typed(kind, text)
    step = dataclasses.replace(pipeline.steps[args.step], parameters=params)
    pipeline = dataclasses.replace(pipeline, steps={**pipeline.steps, args.step: step})
    for rel, path in args.input:
        target = pipeline.file(rel)
        target.parent.mkdir(parents=True, exist_ok=True)
        _copy(Path(path), target)
    result = runner.run(
        pipeline, only=args.step, force=True, orchestrator_run=args.orchestrator_run
    )
    outcome = result.steps[args.step]
    print(f"step {args.step}: {outcome.status.lower()} {outcome.message}", flush=True)
    for rel, path in args.output:
        if pipeline.file(rel).exists():
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            _copy(pipeline.file(rel), Path(path))
    if args.notebook_out and outcome.output_path and outcome.output_path.exists():
        Path(args.notebook_out).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(outcome.output_path, args.notebook_out)
    return 0 if result.ok else 1


def _copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True)
    else:
        shutil.copyfile(source, target)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
