"""The typed contract: every route has a request and a response model, and the panel's
TypeScript types are exactly what those models generate (no hand-kept copy to drift)."""

from __future__ import annotations

import subprocess
import sys

from support import REPO

from mlops_nb.server import schemas
from mlops_nb.server.routes import ROUTES
from mlops_nb.server.typescript import render

GENERATED = REPO / "extension" / "src" / "schema.ts"


def test_every_panel_route_has_a_contract_entry():
    from mlops_nb.server import registry

    untyped = {path for path, _ in registry.ROUTES}  # the registry's routes: no schema yet
    paths = {path if "(" not in path else "jobs/<id>" for path, _ in ROUTES if path not in untyped}
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
