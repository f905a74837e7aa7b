"""``pipeline.yaml`` → the same DAG for the orchestrator a team already runs.

- :mod:`.airflow`: one DAG file for Airflow 3, a task per step running it as
  ``mlops-nb pipeline run --only STEP`` does (cache honoured, one MLflow pipeline run per DAG run);
- :mod:`.kfp`: a Kubeflow Pipelines v2 pipeline (a container component per step): its IR YAML
  (written by mlops-nb, equal to what the ``kfp`` SDK compiles) and its source in the KFP DSL.

Each export returns :class:`Export`: the files written and the notes on what the target cannot
express (said, never silently dropped).
"""

from __future__ import annotations

from mlops_nb.pipeline.orchestrators.api import TARGETS, Export, export

__all__ = ["TARGETS", "Export", "export"]
