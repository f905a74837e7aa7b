"""``mlops_nb.productionize``: a notebook (or a tracked run, or a registered model) to a FastAPI
service directory, optionally a Docker image, checked along the way.

Stable interface for the CLI and the JupyterLab panel::

    productionize(notebook=None, *, out=None, model_var=None, name=None, run_id=None,
                  model_uri=None, build=False, tag=None, base_image=None, wheelhouse=False,
                  smoke=False, force=False, fidelity=True, engineered_input=False,
                  seed=None, progress=None) -> ProductionizeResult

``progress`` receives a :class:`ProductionizeEvent` per step (start/done/fail/info). Errors are
:class:`~mlops_nb.exceptions.MlopsNbError` subclasses raised before anything is written when the
input is unsupported; a failed fidelity check raises :class:`FidelityError` (exit code 1).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlops_nb.exceptions import ConfigError
from mlops_nb.productionize import codegen, steps
from mlops_nb.productionize.dataflow import DataFlowError, plan
from mlops_nb.productionize.extract import ExtractionError, extract
from mlops_nb.productionize.fidelity import FidelityError, collect_probe, judge, start_probe
from mlops_nb.productionize.render import render_template
from mlops_nb.productionize.result import Check, ProductionizeEvent, ProductionizeResult, Status

__all__ = ["FidelityError", "ProductionizeEvent", "ProductionizeResult", "productionize"]

Progress = Callable[[ProductionizeEvent], None]


class _Reporter:
    def __init__(self, progress: Progress | None) -> None:
        self.progress = progress
        self.started = time.monotonic()

    def __call__(self, step: str, status: Status, message: str) -> None:
        if self.progress is not None:
            elapsed = round(time.monotonic() - self.started, 3)
            self.progress(ProductionizeEvent(step, status, message, elapsed))

    @contextmanager
    def step(self, step: str, message: str) -> Iterator[list[str]]:
        """Report start; report done with the message the block appends, or fail."""
        self(step, "start", message)
        done: list[str] = []
        try:
            yield done
        except BaseException as exc:
            self(step, "fail", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
            raise
        self(step, "done", done[0] if done else message)


@dataclass(frozen=True)
class _Options:
    notebook: Path | None
    out: Path | None
    model_var: str | None
    name: str | None
    run_id: str | None
    model_uri: str | None
    build: bool
    tag: str | None
    base_image: str | None
    wheelhouse: bool
    smoke: bool
    force: bool
    fidelity: bool
    engineered_input: bool
    seed: int | None
    engine: str = "auto"


def _seeder(seed: int | None) -> Callable[[str], str] | None:
    if seed is None:
        return None
    from mlops_nb.productionize.seeding import seed_cell

    return lambda source: seed_cell(source, seed)[0]


def _registered(model_uri: str | None) -> dict[str, Any]:
    """Name, version and alias of a registered model (``models:/NAME@ALIAS``) for /metadata."""
    if model_uri is None:
        return {}
    from mlops_nb.registry.api import resolve_model_uri

    return dict(resolve_model_uri(model_uri).as_metadata())


def _seeded(nb: Path, seed: int) -> str:
    from mlops_nb.productionize.notebook import read_cells
    from mlops_nb.productionize.seeding import seed_cell

    seeded = [
        f"cell {cell.number}: {what}"
        for cell in read_cells(nb)
        for what in seed_cell(cell.source, seed)[1]
    ]
    if not seeded:
        return f"--seed {seed}: every random estimator and split already has a seed"
    return f"--seed {seed}: random_state={seed} given to " + "; ".join(seeded)


def productionize(
    notebook: str | Path | None = None,
    *,
    out: str | Path | None = None,
    model_var: str | None = None,
    name: str | None = None,
    run_id: str | None = None,
    model_uri: str | None = None,
    build: bool = False,
    tag: str | None = None,
    base_image: str | None = None,
    wheelhouse: bool = False,
    smoke: bool = False,
    force: bool = False,
    fidelity: bool = True,
    engineered_input: bool = False,
    seed: int | None = None,
    progress: Progress | None = None,
    engine: str = "auto",
) -> ProductionizeResult:
    """Turn the model-building code of a notebook into ``train.py`` and a service directory."""
    report = _Reporter(progress)
    sources = sum(x is not None for x in (notebook, run_id, model_uri))
    if sources != 1:
        raise ConfigError("give exactly one of: a notebook path, --run RUN_ID, --model models:/...")
    if engine not in ("auto", "onnx", "sklearn"):
        raise ConfigError(f"--engine {engine!r}: choose auto, onnx or sklearn")
    if smoke and not build:
        build = True
    scratch = Path(tempfile.mkdtemp(prefix="mlops-nb-productionize-"))
    try:
        options = _Options(
            notebook=Path(notebook) if notebook is not None else None,
            out=Path(out) if out is not None else None,
            model_var=model_var,
            name=name,
            run_id=run_id,
            model_uri=model_uri,
            build=build,
            tag=tag,
            base_image=base_image,
            wheelhouse=wheelhouse,
            smoke=smoke,
            force=force,
            fidelity=fidelity,
            engine=engine,
            engineered_input=engineered_input,
            seed=seed,
        )
        return _run(report, scratch, options)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _run(report: _Reporter, scratch: Path, o: _Options) -> ProductionizeResult:
    from mlops_nb.productionize.source import Source, from_run

    if o.notebook is not None:
        return _from_source(report, scratch, o, Source(o.notebook.resolve(), o.model_var))
    with report.step("source", "fetching the run's notebook and model from MLflow") as done:
        source = from_run(o.run_id, o.model_uri, scratch, o.model_var)
        done.append(f"run {source.run_id}: model `{source.model_var}`, notebook snapshot")
    try:
        return _from_source(report, scratch, o, source)
    finally:
        if source.temporary_copy:
            source.notebook.unlink(missing_ok=True)


def _from_source(report: _Reporter, scratch: Path, o: _Options, source: Any) -> ProductionizeResult:
    nb = source.notebook
    with report.step("extract", f"reading {nb.name}") as done:
        ex = extract(nb, source.model_var, rewrite=_seeder(o.seed))
        done.append(
            f"model `{ex.model_var}` ({ex.mode}): keeping cells {', '.join(map(str, ex.cells))}, "
            f"dropping {len(ex.dropped)} statement(s)/line(s)"
        )
    if o.seed is not None:
        report("extract", "info", _seeded(nb, o.seed))
    for dropped in ex.dropped:
        report(
            "extract",
            "info",
            f"dropped from cell {dropped.cell}: {dropped.what} — {dropped.reason}",
        )
    for model_note in ex.notes:
        report("extract", "info", f"model choice: {model_note}")
    with report.step("features", "tracing the model's data back to where it is loaded") as done:
        try:
            flow = plan(ex)
        except DataFlowError as exc:
            raise ExtractionError(str(exc), path=str(nb)) from None
        fp = flow.features
        if fp is None and not o.engineered_input:
            raise ExtractionError(
                "cannot move the data code to the service: "
                + "; ".join(flow.notes or ["no data source found"])
                + ". Load the data in the notebook (pd.read_csv, load_*(...)), or pass "
                "--engineered-input to serve the model's own input columns (clients then compute "
                "them as the notebook does)",
                path=str(nb),
            )
        if o.engineered_input:
            done.append(
                "--engineered-input: the API takes the model's own columns; clients must compute "
                "them as the notebook does"
            )
        else:
            assert fp is not None
            done.append(
                f"features.py from cells {', '.join(map(str, fp.cells))}: the API takes the raw "
                f"columns of the data the notebook loads (cell {fp.primary.cell.number})"
            )
    for note in flow.notes:
        report("features", "info", note)
    named_after = nb if source.run_id is None else Path(str(source.model_var))
    name = steps.service_name(named_after, o.name)
    out = o.out if o.out else Path.cwd() / f"{name}-service"
    out = steps.check_out_dir(out, o.force)  # refuses links; resolves only after that
    code = codegen.generate(ex, flow, render_template, out, engineered=o.engineered_input)
    stage = steps.staging_dir(out)
    keep_stage = False
    try:
        steps.write_code(stage, code)
        from mlops_nb.productionize.execute import kernel_python, neutralised, run_notebook_model

        notebook_model = source.notebook_model or scratch / "notebook_model.pkl"
        # train.py retrains while the kernel runs the notebook; the probe then compares
        probe_proc = start_probe(
            kernel_python(),
            stage,
            notebook_model,
            stage / "train-output",
            steps.train_args(code, stage, out),
            cwd=nb.parent,
            engine=o.engine,
        )
        try:
            if source.notebook_model is None:
                with report.step("notebook", f"running {nb.name} in a fresh kernel") as done:
                    run_notebook_model(
                        nb,
                        ex.model_var,
                        scratch,
                        rewrite=_seeder(o.seed),
                        until_cell=ex.capture_cell,
                    )
                    done.append(
                        f"the notebook ran up to cell {ex.capture_cell}, where `{ex.model_var}` "
                        "is fitted; its model is kept"
                    )
                for stopped in neutralised(scratch):
                    report(
                        "notebook",
                        "info",
                        f"neutralised {stopped['kind']} {stopped['text']} — {stopped['outcome']}",
                    )
        except BaseException:
            probe_proc.kill()
            probe_proc.communicate()
            raise
        with report.step("fidelity", "train.py in a fresh process vs the notebook's model") as done:
            try:
                probe = collect_probe(probe_proc, stage, nb.parent, kernel_python())
            except FidelityError:
                keep_stage = True
                raise
            verdict = judge(ex, probe)
            if o.fidelity and not verdict.passed:
                keep_stage = True
                raise FidelityError(
                    f"fidelity check failed: {verdict.detail}. The generated code is kept in "
                    f"{stage}"
                )
            done.append(verdict.detail if o.fidelity else "fidelity check skipped (--no-fidelity)")
        checks = [Check("fidelity", verdict.passed or not o.fidelity, verdict.detail)]
        base_image = o.base_image or steps.default_base_image(probe["python"])
        tag = o.tag or f"{name}:latest"
        with report.step("render", "writing the service directory") as done:
            meta = {
                "service": name,
                "model_var": ex.model_var,
                "notebook": str(nb),
                "run_id": source.run_id,
                "model_uri": source.model_uri,
                **_registered(source.model_uri),
                "extraction": ex.mode,
                "engineered_input": o.engineered_input,
                "fidelity": {"passed": verdict.passed, "detail": verdict.detail},
            }
            example = steps.write_model_dir(stage, notebook_model, probe, meta)
            steps.render_service(
                stage,
                ex=ex,
                flow=flow,
                code=code,
                probe=probe,
                example=example,
                name=name,
                tag=tag,
                base_image=base_image,
                wheelhouse=o.wheelhouse,
                run_id=source.run_id,
            )
            served = json.loads((stage / "model" / "engine.json").read_text())
            route = (
                "; requests go straight to the model, without pandas: " + served["feature_code"]
                if served.get("passthrough") and served["engine"] == "onnx"
                else ""
            )
            done.append(
                f"service for {len(probe['columns'])} input column(s); engine {served['engine']}: "
                f"{served['reason']}{route}"
            )
        if o.wheelhouse:
            from mlops_nb.productionize.packaging import build_wheelhouse

            with report.step("wheelhouse", "preparing wheels for an offline image build") as done:
                count = build_wheelhouse(
                    stage, [stage / "requirements.txt", stage / "requirements-test.txt"]
                )
                done.append(f"{count} wheels in wheels/")
        steps.publish(stage, out)
    except BaseException:
        if not keep_stage:
            shutil.rmtree(stage, ignore_errors=True)
        raise
    image = None
    if o.build:
        image = _build(report, out, tag, base_image, offline=o.wheelhouse)
    if o.smoke:
        from mlops_nb.productionize import docker

        with report.step("smoke", f"starting {tag} and posting the input example") as done:
            passed, detail = docker.smoke(tag, example)
            checks.append(Check("smoke", passed, detail))
            done.append(detail)
    columns = [c["name"] for c in probe["columns"]]
    return ProductionizeResult(
        service_dir=out,
        train_py=out / "train.py",
        features_py=out / "features.py",
        image=image,
        checks=checks,
        start_command=f"mlops-nb serve {out}",
        input_columns=columns,
        model_var=ex.model_var,
        takes_raw_columns=not o.engineered_input,
        dropped=[{"cell": d.cell, "what": d.what, "reason": d.reason} for d in ex.dropped],
        notes=[*(str(n) for n in ex.notes), *flow.notes],
        next_commands=_next_commands(out, tag, image is not None),
        seconds=round(time.monotonic() - report.started, 3),
    )


def _build(report: _Reporter, out: Path, tag: str, base_image: str, offline: bool) -> str:
    from mlops_nb.productionize import docker

    where = "no network" if offline else "network allowed"
    with report.step("build", f"docker build -t {tag} (base {base_image}, {where})") as done:
        docker.build(
            out, tag, base_image, lambda line: report("build", "info", line), offline=offline
        )
        size = docker.image_size(tag)
        done.append(f"image {tag}, {size / 1e6:.0f} MB")
    return tag


def _next_commands(out: Path, tag: str, built: bool) -> list[str]:
    commands = [f"mlops-nb serve {out}", f"cd {out} && python -m pytest tests"]
    if built:
        commands.append(f"docker run --rm -p 8080:8080 {tag}")
    else:
        commands.append(f"docker build -t {tag} {out}")
    commands.append(f"kubectl apply -f {out / 'k8s'}")
    return commands
