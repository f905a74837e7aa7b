"""``mlops_nb.promote``: register a run's model, evaluate the gates, move the alias only when
every gate passes (or ``force`` with a ``reason``), record the decision and the model card.

The recipe (:func:`promote`): check the request → resolve the source → under the store's
promotion lock: register (once) → read the alias holder → gates → move the alias (checked again
just before) → record the decision → write the card.
"""

from __future__ import annotations

import functools
import getpass
import os
import re
import socket
from collections.abc import Callable, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from mlops_nb import _global_uri
from mlops_nb.registry import card as cards
from mlops_nb.registry import data, record
from mlops_nb.registry.constants import CARD_HTML, CARD_MD, DEFAULT_ALIAS, TAG_CARD, TAG_CARD_HTML
from mlops_nb.registry.errors import PromotionUsageError, RegistryError
from mlops_nb.registry.gates import drift as drift_gate
from mlops_nb.registry.gates import fidelity as fidelity_gate
from mlops_nb.registry.gates import regression, scorer, scoring, thresholds
from mlops_nb.registry.result import GateResult, PromotionResult
from mlops_nb.registry.source import Candidate, ModelRef, register, resolve_source

__all__ = ["PromotionEvent", "PromotionResult", "promote", "resolve_model_uri"]

_ALIAS = re.compile(r"^[A-Za-z_][\w-]{0,254}$")
MOVE_ATTEMPTS = 3


@dataclass(frozen=True)
class PromotionEvent:
    """Progress of a promotion: one per step (``register``, each gate, ``alias``, ``card``)."""

    step: str
    status: str  # "started" | "passed" | "failed" | "skipped" | "done"
    message: str


Progress = Callable[[PromotionEvent], None]


@dataclass(frozen=True)
class _Request:
    alias: str
    requirements: list[thresholds.Requirement]
    eval_data: Any
    target: str | None
    no_regression: bool
    metric: str | None
    tolerance: float
    max_drift_share: float | None
    reference: Any
    current: Any
    service: str | None
    service_dir: Any
    api_key: str | None
    force: bool
    reason: str | None


def _tracking_uri(tracking_uri: str | None) -> str:
    from mlops_nb.config import get_settings

    return tracking_uri or get_settings().tracking_uri


def client_for(tracking_uri: str | None = None) -> Any:
    from mlflow import MlflowClient

    uri = _tracking_uri(tracking_uri)
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def resolve_model_uri(uri: str, tracking_uri: str | None = None) -> ModelRef:
    """``models:/NAME@ALIAS`` (or ``/VERSION``) → name, version and alias; what a service built
    from a registered model reports in ``/metadata`` (``ModelRef.as_metadata()``)."""
    from mlops_nb.registry.source import resolve_model_uri as _resolve

    return _resolve(client_for(tracking_uri), uri)


def promote(
    source: str,
    name: str | None = None,
    *,
    alias: str = DEFAULT_ALIAS,
    require: Sequence[str] = (),
    eval_data: Any = None,
    target: str | None = None,
    no_regression: bool = False,
    metric: str | None = None,
    tolerance: float = 0.0,
    max_drift_share: float | None = None,
    reference: Any = None,
    current: Any = None,
    service: str | None = None,
    service_dir: Any = None,
    api_key: str | None = None,
    force: bool = False,
    reason: str | None = None,
    intended_use: str | None = None,
    limitations: str | None = None,
    tracking_uri: str | None = None,
    progress: Progress | None = None,
) -> PromotionResult:
    """Register ``source``'s model as a version of ``name`` and move ``@alias`` to it when every
    gate passes.

    Parameters
    ----------
    source
        A run id (a ``%%track`` run or a pipeline step's run), ``runs:/RUN/MODEL``,
        ``models:/NAME/VERSION``, ``models:/NAME@ALIAS`` or ``models:/<logged model id>``.
    name
        The registered model (default: NAME of a ``models:/NAME/...`` source).
    require
        Thresholds on the run's logged metrics: ``["accuracy>=0.9", "rmse<12"]``.
    eval_data, target, no_regression, metric, tolerance
        With ``no_regression=True``: the candidate and the alias holder are scored by mlops-nb
        on ``eval_data`` (a DataFrame or .csv/.parquet path; default: the evaluation dataset
        logged with the run) with ``metric`` (default: the run's primary metric); the candidate
        must be at least as good (within ``tolerance``).
    max_drift_share, reference, current, service
        The drift gate: the candidate's training data (``reference``, else the reference sample
        of a service made from the candidate) against ``current`` data or the recent traffic of
        the running ``service``; at most ``max_drift_share`` of the columns may drift.
    service, service_dir
        A productionized service (URL, or its directory): when it serves the candidate, its
        fidelity verdict is a gate.
    force, reason
        Move the alias even when a gate fails; ``reason`` is required and recorded.

    Returns
    -------
    PromotionResult
        ``version``, ``alias``, ``passed``, ``moved``, one :class:`GateResult` per gate.
    """
    emit = progress or (lambda event: None)
    req = _check_request(
        source,
        name,
        alias,
        require,
        eval_data,
        target,
        no_regression,
        metric,
        tolerance,
        max_drift_share,
        reference,
        current,
        service,
        service_dir,
        api_key,
        force,
        reason,
    )
    # the models' loaders import in a second process meanwhile (a cold CLI start; see scorer)
    uri = _tracking_uri(tracking_uri)
    executor = scorer.start(uri) if req.no_regression else scorer.InPlace()
    try:
        drift_files = _drift_of_files(req, executor)  # meanwhile: it needs no registry
        client = client_for(uri)
        with _global_uri.tracking_uri(client.tracking_uri):
            return _promote(
                client, source, name, req, intended_use, limitations, emit, executor, drift_files
            )
    finally:
        executor.shutdown(wait=False, cancel_futures=True)


def _promote(
    client: Any,
    source: str,
    name: str | None,
    req: _Request,
    intended_use: str | None,
    limitations: str | None,
    emit: Progress,
    executor: Executor,
    drift_files: Future[GateResult] | None = None,
) -> PromotionResult:
    target_name = name or _name_from_source(source)
    candidate = resolve_source(client, source, target_name)
    run = client.get_run(candidate.run_id) if candidate.run_id else None
    eval_set = _eval_data(req, run) if req.no_regression else None
    service_meta = _service(req)  # an unreachable service is a usage error, before any write

    from mlops_nb.registry.serialize import promotion_lock

    with promotion_lock(client, client.tracking_uri, target_name):
        emit(PromotionEvent("register", "started", f"registering {source} as {target_name}"))
        mv, created = register(client, candidate, target_name)
        _card_notes(client, mv, intended_use, limitations)
        emit(
            PromotionEvent(
                "register",
                "done",
                f"{'registered' if created else 'reusing'} {target_name} version {mv.version}",
            )
        )
        for attempt in range(MOVE_ATTEMPTS):
            holder = _holder(client, target_name, req.alias)
            gates = _gates(
                client,
                req,
                candidate,
                mv,
                holder,
                eval_set,
                run,
                service_meta,
                emit,
                executor,
                drift_files,
            )
            passed = all(g.passed for g in gates)
            moved = passed or req.force
            if not moved:
                break
            if _holder_version(_holder(client, target_name, req.alias)) != _holder_version(holder):
                if attempt + 1 < MOVE_ATTEMPTS:  # moved meanwhile: judge against the new holder
                    emit(
                        PromotionEvent(
                            "alias", "started", f"@{req.alias} moved meanwhile; re-checking"
                        )
                    )
                    continue
                raise RegistryError(
                    f"@{req.alias} of {target_name} kept moving while the gates ran; try again"
                )
            client.set_registered_model_alias(target_name, req.alias, str(mv.version))
            break
        result = PromotionResult(
            name=target_name,
            version=str(mv.version),
            alias=req.alias,
            passed=passed,
            moved=moved,
            gates=gates,
            previous_version=_holder_version(holder),
            source=source,
            run_id=candidate.run_id,
            model_uri=f"models:/{target_name}/{mv.version}",
            registered=created,
            forced=req.force and not passed,
            reason=req.reason,
            decided_by=_who(),
            decided_at=datetime.now(timezone.utc).isoformat(),
            tracking_uri=client.tracking_uri,
        )
        emit(PromotionEvent("alias", "done" if moved else "failed", result.verdict()))
        decision_uri = record.store(client, mv, result)
        card_uri = write_card(
            client, client.get_model_version(target_name, str(mv.version)), run, result
        )
        emit(PromotionEvent("card", "done", f"model card at {card_uri}"))
    from dataclasses import replace

    return replace(result, card_uri=card_uri, decision_uri=decision_uri)


def write_card(client: Any, mv: Any, run: Any, decision: PromotionResult | None) -> str:
    """Render the version's card (Markdown + HTML), log it on the version, tag where it is."""
    from mlops_nb.registry import artifacts

    card = cards.build(client, mv, run, decision)
    folder = artifacts.write(client, mv, {CARD_MD: card.markdown, CARD_HTML: card.html})
    client.set_model_version_tag(mv.name, str(mv.version), TAG_CARD, f"{folder}/{CARD_MD}")
    client.set_model_version_tag(mv.name, str(mv.version), TAG_CARD_HTML, f"{folder}/{CARD_HTML}")
    return f"{folder}/{CARD_MD}"


def _card_notes(client: Any, mv: Any, intended_use: str | None, limitations: str | None) -> None:
    for tag, text in ((cards.TAG_INTENDED_USE, intended_use), (cards.TAG_LIMITATIONS, limitations)):
        if text:
            client.set_model_version_tag(mv.name, str(mv.version), tag, text[:4900])


def _check_request(
    source: str,
    name: str | None,
    alias: str,
    require: Sequence[str],
    eval_data: Any,
    target: str | None,
    no_regression: bool,
    metric: str | None,
    tolerance: float,
    max_drift_share: float | None,
    reference: Any,
    current: Any,
    service: str | None,
    service_dir: Any,
    api_key: str | None,
    force: bool,
    reason: str | None,
) -> _Request:
    """Every usage error before anything is read or written (exit code 2)."""
    if not isinstance(source, str) or not source.strip():
        raise PromotionUsageError("give what to promote: a run id or models:/NAME/VERSION")
    if name is None and not source.startswith("models:/"):
        raise PromotionUsageError("give the registered model's name: --name NAME")
    if name is not None and not re.match(r"^[\w.\- ]{1,256}$", name):
        raise PromotionUsageError(f"--name {name!r}: use letters, digits, '_', '-', '.'")
    if not _ALIAS.match(alias) or alias.lower() == "latest" or re.match(r"^v\d+$", alias):
        raise PromotionUsageError(
            f"--alias {alias!r}: an alias is a word (letters, digits, '_', '-'), not 'latest' "
            "nor v<number> (MLflow reserves them)"
        )
    if isinstance(require, str):
        require = [require]
    requirements = [thresholds.parse_requirement(r) for r in require]
    if force and not (reason and reason.strip()):
        raise PromotionUsageError("--force needs --reason TEXT: the override is recorded with it")
    if eval_data is not None and not no_regression:
        raise PromotionUsageError(
            "--eval-data is the held-out data the no-regression gate scores; add --no-regression"
        )
    if no_regression and eval_data is not None and not target:
        raise PromotionUsageError("--eval-data needs --target COL (the label column)")
    if metric is not None:
        scoring.choose(metric, [], None)  # validates the name
    if tolerance < 0:
        raise PromotionUsageError("--tolerance must be >= 0")
    if max_drift_share is not None:
        if not 0.0 <= max_drift_share <= 1.0:
            raise PromotionUsageError("--max-drift-share is a share of columns, from 0 to 1")
        if current is None and service is None:
            raise PromotionUsageError(
                "the drift gate compares with current data: add --current PATH or --service URL"
            )
    elif current is not None or reference is not None:
        raise PromotionUsageError(
            "--current/--reference are for the drift gate: add --max-drift-share S"
        )
    for flag, value in (
        ("--eval-data", eval_data),
        ("--reference", reference),
        ("--current", current),
    ):
        if isinstance(value, (str, os.PathLike)) and not os.path.isfile(value):
            raise PromotionUsageError(f"{flag} {value}: no such file; give a .csv or .parquet file")
    if service is not None and not re.match(r"^https?://", service):
        raise PromotionUsageError(f"--service {service!r}: give the service's http(s) URL")
    return _Request(
        alias,
        requirements,
        eval_data,
        target,
        no_regression,
        metric,
        tolerance,
        max_drift_share,
        reference,
        current,
        service,
        service_dir,
        api_key,
        force,
        reason.strip() if reason else None,
    )


def _name_from_source(source: str) -> str:
    from mlops_nb.registry.source import parse_models_uri

    return parse_models_uri(source)[0]


def _who() -> str:
    user = os.environ.get("MLOPS_NB_USER")
    if not user:
        try:
            user = getpass.getuser()
        except Exception:
            user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _holder(client: Any, name: str, alias: str) -> Any:
    from mlflow.exceptions import MlflowException

    try:
        return client.get_model_version_by_alias(name, alias)
    except MlflowException:
        return None


def _holder_version(holder: Any) -> str | None:
    return None if holder is None else str(holder.version)


def _eval_data(req: _Request, run: Any) -> regression.EvalData:
    if req.eval_data is not None:
        frame, described = data.table(req.eval_data, "evaluation data")
        assert req.target is not None
        evaluation = regression.EvalData(frame, req.target, described)
        evaluation.split()  # the target must be a column: a usage error, before any write
        return evaluation
    logged = data.logged_eval_data(run) if run is not None else None
    if logged is None or not req.target:
        raise PromotionUsageError(
            "the no-regression gate needs held-out data: --eval-data PATH --target COL (the run "
            "logged no readable evaluation dataset)"
            if logged is None
            else "the run's logged evaluation dataset needs --target COL (the label column)"
        )
    return regression.EvalData(logged[0], req.target, logged[1])


def _gates(
    client: Any,
    req: _Request,
    candidate: Candidate,
    mv: Any,
    holder: Any,
    eval_set: regression.EvalData | None,
    run: Any,
    service: tuple[dict[str, Any] | None, str | None],
    emit: Progress,
    executor: Executor,
    drift_files: Future[GateResult] | None = None,
) -> list[GateResult]:
    gates: list[GateResult] = []

    def done(result: GateResult) -> None:
        gates.append(result)
        emit(PromotionEvent(result.gate, result.status.value, result.summary))

    if req.requirements:
        metrics = dict(run.data.metrics) if run is not None else {}
        for result in thresholds.check(req.requirements, metrics):
            done(result)
    regression_gate: Callable[[], GateResult] | None = None
    if eval_set is not None:  # scored meanwhile (in the worker): the result is read below
        emit(PromotionEvent("no_regression", "started", f"scoring on {eval_set.described}"))
        logged = list(run.data.metrics) if run is not None else []
        primary = scoring.choose(req.metric, logged, eval_set.frame[eval_set.target])
        candidate_model = _model_source(client, mv.name, str(mv.version))
        holder_model = (
            _model_source(client, mv.name, str(holder.version)) if holder is not None else None
        )
        scores = (
            regression.submit(executor, candidate_model, eval_set, primary, client.tracking_uri),
            regression.submit(executor, holder_model, eval_set, primary, client.tracking_uri)
            if holder_model is not None
            else None,
        )

        regression_gate = functools.partial(
            regression.check,
            candidate_model,
            holder_model,
            _holder_version(holder),
            eval_set,
            primary,
            req.tolerance,
            scores=scores,
        )

    drift_result: GateResult | None = None
    metadata, where = service
    if req.max_drift_share is not None:
        emit(PromotionEvent("drift", "started", "comparing training data with current data"))
    if drift_files is not None:
        try:
            drift_result = drift_files.result()
        except BrokenExecutor:  # the worker process died: compare here
            drift_result = drift_gate.compare(
                req.reference, req.current, req.max_drift_share or 0.0, req.target
            )
    elif req.max_drift_share is not None:
        reference = _reference(req, metadata, where, candidate, mv)
        if req.current is not None:
            current = drift_gate.Side(*data.table(req.current, "current data"))
        else:
            assert req.service is not None
            current = drift_gate.Side(*data.service_traffic(req.service, req.api_key))
        drift_result = drift_gate.check(reference, current, req.max_drift_share, req.target)
    if regression_gate is not None:
        done(regression_gate())
    if drift_result is not None:
        done(drift_result)
    if metadata is not None or req.service is not None or req.service_dir is not None:
        done(fidelity_gate.check(metadata, where, candidate.run_id, mv.name, str(mv.version)))
    return gates


def _model_source(client: Any, name: str, version: str) -> scorer.ModelSource:
    """``models:/NAME/VERSION`` and, when the version's files are on this machine, their folder
    (what that URI resolves to), so the scorer reads them without MLflow."""
    from mlflow.exceptions import MlflowException

    from mlops_nb.registry.gates.model_files import local_dir

    try:
        where = local_dir(client.get_model_version_download_uri(name, version))
    except MlflowException:
        where = None
    return scorer.ModelSource(f"models:/{name}/{version}", where)


def _drift_of_files(req: _Request, executor: Executor) -> Future[GateResult] | None:
    """The drift gate of ``--reference`` and ``--current`` (files or frames), submitted at once:
    nothing in it depends on the registry."""
    if req.max_drift_share is None or req.reference is None or req.current is None:
        return None
    return executor.submit(
        drift_gate.compare, req.reference, req.current, req.max_drift_share, req.target
    )


def _service(req: _Request) -> tuple[dict[str, Any] | None, str | None]:
    if req.service_dir is not None:
        return data.service_dir_metadata(req.service_dir), str(req.service_dir)
    if req.service is not None:
        return data.service_metadata(req.service, req.api_key), req.service
    return None, None


def _reference(
    req: _Request, metadata: dict[str, Any] | None, where: str | None, candidate: Candidate, mv: Any
) -> drift_gate.Side:
    if req.reference is not None:
        return drift_gate.Side(*data.table(req.reference, "reference data"))
    serves = metadata is not None and fidelity_gate.serves_candidate(
        metadata, candidate.run_id, mv.name, str(mv.version)
    )
    if serves and req.service_dir is not None:
        found = data.service_dir_reference(req.service_dir)
        if found is not None:
            return drift_gate.Side(*found)
    if serves and req.service is not None:
        return drift_gate.Side(*data.service_reference(req.service, req.api_key))
    raise PromotionUsageError(
        "the drift gate needs the candidate's training data: --reference PATH (its training "
        "sample), or --service/--service-dir of a service productionized from the candidate "
        f"(run {candidate.run_id}), whose reference sample is used"
        + (f"; {where} serves another model" if where else "")
    )
