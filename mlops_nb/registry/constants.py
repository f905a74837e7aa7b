"""Tag names, artifact paths and statuses of the registry: one place, no scattered literals."""

from __future__ import annotations

import enum

PREFIX = "mlops_nb"

#: model version tags written by a promotion
TAG_SOURCE_RUN = f"{PREFIX}.source_run_id"  # the run whose model this version is
TAG_CARD = f"{PREFIX}.card"  # artifact URI of the Markdown card
TAG_CARD_HTML = f"{PREFIX}.card_html"  # artifact URI of the HTML card
TAG_DECISION_PREFIX = f"{PREFIX}.decision."  # + <utc timestamp ms>: one compact decision
TAG_LAST_DECISION = f"{PREFIX}.decision"  # the latest decision, compact JSON
TAG_GATES_PASSED = f"{PREFIX}.gates_passed"  # "true" | "false" (latest decision)
TAG_PRIMARY_METRIC = f"{PREFIX}.primary_metric"
#: registered model tag: the lease a promotion holds on a tracking server
TAG_LEASE = f"{PREFIX}.promotion_lease"

#: artifacts, under the version's logged model: registry/<name>/v<version>/...
ARTIFACT_ROOT = "registry"
CARD_MD = "model_card.md"
CARD_HTML = "model_card.html"
DECISIONS_DIR = "decisions"

DEFAULT_ALIAS = "champion"
MAX_TAG_VALUE = 4900  # MLflow's model version tag values hold 5000 characters


class GateStatus(str, enum.Enum):
    """The outcome of one gate. Only ``failed`` blocks the alias."""

    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  # not applicable (no alias holder yet, no service for the candidate)


class Gate(str, enum.Enum):
    THRESHOLD = "threshold"
    NO_REGRESSION = "no_regression"
    DRIFT = "drift"
    FIDELITY = "fidelity"
