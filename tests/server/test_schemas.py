"""The typed contract: every route has a request and a response model, and the panel's
TypeScript types are exactly what those models generate (no hand-kept copy to drift)."""

from __future__ import annotations

import subprocess
import sys
import typing

from support import REPO

from mlops_nb.server import schemas
from mlops_nb.server.routes import ROUTES
from mlops_nb.server.typescript import render

GENERATED = REPO / "extension" / "src" / "schema.ts"


#: the routes whose path has a parameter, as the contract names them
PATTERNS = {
    r"jobs/([0-9a-f]{1,64})": "jobs/<id>",
    r"models/([^/]+)": "models/<name>",
    r"models/([^/]+)/versions/([^/]+)/card": "models/<name>/versions/<version>/card",
}


def test_every_panel_route_has_a_contract_entry():
    paths = {PATTERNS.get(path, path) for path, _ in ROUTES}
    assert paths - {"runs/artifact"} == set(schemas.CONTRACT)  # the artifact route answers files


def test_the_typescript_types_are_generated_from_the_models():
    expected = render(schemas.json_schema())
    assert GENERATED.read_text() == expected, (
        "extension/src/schema.ts is stale: run "
        "python -m mlops_nb.server.schemas --typescript > extension/src/schema.ts"
    )


def test_the_generator_writes_optional_defaults_unions_and_maps():
    ts = GENERATED.read_text()
    assert "  page_size?: number;\n" in ts  # a request field with a default
    assert "  notebook: string;\n" in ts
    assert '  state: "queued" | "running" | "succeeded" | "failed";' in ts
    events = "ProductionizeEvent | PipelineEvent | ServiceEvent | PromotionEvent"
    assert f"  events: ({events})[];" in ts
    assert "  result: ProductionizeResult | PipelineResult | ServiceInfo | " in ts
    assert "  params: { [key: string]: string };" in ts


def test_the_cli_prints_the_schema_and_the_types():
    out = subprocess.run(
        [sys.executable, "-m", "mlops_nb.server.schemas", "--typescript"],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert out.stdout == GENERATED.read_text()


def test_the_productionize_result_model_has_the_librarys_fields():
    from dataclasses import fields

    from mlops_nb.productionize.result import ProductionizeResult

    library = {f.name for f in fields(ProductionizeResult)} | {"ok"}
    assert set(schemas.ProductionizeResult.model_fields) == library


def test_the_registry_models_have_the_librarys_fields():
    """The registry's results cross to TypeScript through these models: a field the library
    adds or renames fails here, not in the browser."""
    from dataclasses import fields

    from mlops_nb.registry import query, record, result
    from mlops_nb.registry.api import PromotionEvent
    from mlops_nb.registry.constants import GateStatus

    def names(cls: type) -> set[str]:
        return {f.name for f in fields(cls)}

    assert set(schemas.PromotionResult.model_fields) == names(result.PromotionResult) | {"verdict"}
    assert set(schemas.GateResult.model_fields) == names(result.GateResult)
    assert set(schemas.PromotionEvent.model_fields) == names(PromotionEvent) | {"event"}
    assert set(schemas.ModelSummary.model_fields) == names(query.ModelSummary)
    assert set(schemas.VersionSummary.model_fields) == names(query.VersionSummary)
    assert set(schemas.CardResponse.model_fields) == names(query.CardText)
    assert set(schemas.HistoryEntry.model_fields) == names(record.HistoryEntry)
    assert set(typing.get_args(schemas.GateStatus)) == {s.value for s in GateStatus}


def test_a_recorded_decision_tag_reads_as_the_typed_decision():
    from mlops_nb.server.registry import decision

    tag = {
        "alias": "champion",
        "from": "1",
        "to": "2",
        "passed": False,
        "moved": False,
        "forced": False,
        "reason": None,
        "by": "ana@host",
        "at": "2026-12-03T10:00:00+00:00",
        "gates": [["threshold", "failed", 0.88, 0.95], ["drift", "passed"]],
    }
    found = decision(tag)
    assert found is not None
    assert (found.from_version, found.to_version, found.moved) == ("1", "2", False)
    assert [(g.gate, g.status, g.value, g.threshold) for g in found.gates] == [
        ("threshold", "failed", 0.88, 0.95),
        ("drift", "passed", None, None),  # a long decision's tag keeps only name and verdict
    ]
    # a tag is free text: an unreadable one is no decision rather than a 500
    assert decision({"alias": "champion"}) is None
    assert decision({"alias": "a", "to": "1", "gates": [["x", "maybe"]]}) is None
    assert decision(None) is None


def test_a_promote_body_is_checked_field_by_field():
    from pydantic import ValidationError

    ok = schemas.PromoteRequest.model_validate(
        {"source": "abc", "name": "cancer", "require": ["accuracy>=0.9"], "max_drift_share": 0}
    )
    assert (ok.alias, ok.force, ok.max_drift_share) == ("champion", False, 0.0)
    for body, field in (
        ({"source": "abc"}, "name"),
        ({"source": "abc", "name": "m", "require": "accuracy>=1"}, "require"),
        ({"source": "abc", "name": "m", "force": "yes"}, "force"),
        ({"source": "abc", "name": "m", "max_drift_share": 2}, "max_drift_share"),
        ({"source": "abc", "name": "m", "aliass": "x"}, "aliass"),
        ({"source": "abc", "name": "m", "eval_data": "x" * 5000}, "eval_data"),
    ):
        try:
            schemas.PromoteRequest.model_validate(body)
        except ValidationError as exc:
            assert exc.errors()[0]["loc"][0] == field
        else:
            raise AssertionError(f"{body} was accepted")
