"""The public drift API: :func:`drift` (``mlops_nb.drift``) and :func:`reference_profile`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mlops_nb.monitoring.errors import DriftDataError
from mlops_nb.monitoring.profile import ReferenceProfile
from mlops_nb.monitoring.result import DriftResult
from mlops_nb.monitoring.sampling import DEFAULT_SEED, resolve_cap

__all__ = ["DriftResult", "ReferenceProfile", "drift", "reference_profile"]


def drift(
    reference: Any = None,
    current: Any = None,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    sample: int | bool | None = None,
    log_to: Any = None,
    service: str | None = None,
    api_key: str | None = None,
    seed: int = DEFAULT_SEED,
) -> DriftResult:
    """Data drift between a reference and current data, or on a running service's live traffic.

    Parameters
    ----------
    reference, current
        DataFrames (or records, or ``.csv``/``.parquet`` paths); ``reference`` may also be a
        :class:`ReferenceProfile` prepared once with :func:`reference_profile`.
    columns
        Columns to compare (default: every column of the reference).
    target, prediction
        The label and model-output columns: compared too, and marked as such.
    sample
        Row cap per side: ``None`` → 100,000 rows, an int → that many, ``False`` → every row.
        Larger inputs are replaced by a seeded uniform sample (``seed``), and the widget says so.
    log_to
        An MLflow run (or run id) to log the report, summary and ``drift_share`` metric to;
        ``None`` logs to the active run if there is one; ``False`` never logs.
    service
        A service URL made by ``mlops-nb productionize``: use its recorded traffic instead.
    api_key
        The service's API key, if it has one (default: ``$MLOPS_NB_SERVICE_API_KEY``).

    Returns
    -------
    DriftResult
        Displays as a widget; ``.summary``, ``.drifted_columns``, ``.to_html()``, ``.save()``.
    """
    if service is not None:
        if reference is not None or current is not None:
            raise DriftDataError("pass either service=URL or reference and current data, not both")
        from mlops_nb.monitoring.live import compare_service

        fetch = sample if isinstance(sample, int) and not isinstance(sample, bool) else None
        result = compare_service(service, sample=fetch, api_key=api_key)
    else:
        if reference is None or current is None:
            raise DriftDataError(
                "drift() needs reference and current data (frames or .csv/.parquet paths), "
                "or service=URL for a running service"
            )
        from mlops_nb.monitoring.drift import compare_frames

        result = compare_frames(
            reference,
            current,
            columns=columns,
            target=target,
            prediction=prediction,
            sample=sample,
            seed=seed,
        )
    _maybe_log(result, log_to)
    return result


def reference_profile(
    reference: Any,
    *,
    columns: Sequence[str] | None = None,
    target: str | None = None,
    prediction: str | None = None,
    sample: int | bool | None = None,
    seed: int = DEFAULT_SEED,
) -> ReferenceProfile:
    """Prepare a reference once (validated, sampled, per-column statistics) for repeated checks."""
    from mlops_nb.monitoring.frames import as_frame
    from mlops_nb.monitoring.profile import build_profile

    frame = as_frame(reference, "reference")
    return build_profile(
        frame,
        columns=columns,
        target=target,
        prediction=prediction,
        cap=resolve_cap(sample),
        seed=seed,
    )


def _maybe_log(result: DriftResult, log_to: Any) -> None:
    if log_to is False:
        return
    from mlops_nb.monitoring.mlflow_log import active_run_id, log_result

    if log_to is not None:
        log_result(result, log_to)
    elif active_run_id() is not None:
        log_result(result, None)
