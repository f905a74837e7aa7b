"""Errors of the pipeline capability (all derive from :class:`mlops_nb.exceptions.MlopsNbError`)."""

from __future__ import annotations

from mlops_nb.exceptions import ConfigError, ExecutionError


class PipelineError(ConfigError):
    """``pipeline.yaml`` (or a step selection) is invalid; the message names the step and the fix.

    Exit code 2, like every validation error.
    """

    def __init__(self, message: str, *, path: str | None = None, step: str | None = None) -> None:
        self.path = path
        self.step = step
        where = f"{path}: " if path else ""
        if step:
            where += f"step '{step}': "
        super().__init__(where + message)


class PipelineFailed(ExecutionError):
    """One or more steps failed; carries the :class:`~mlops_nb.pipeline.runner.PipelineResult`."""

    def __init__(self, message: str, *, result: object = None, failed_step: str | None = None):
        self.result = result
        self.failed_step = failed_step
        super().__init__(message)
