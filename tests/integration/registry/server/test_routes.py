"""The Models tab's routes on a real jupyter_server: list, show, card, and a promotion run as a
background job whose events carry each gate's result."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from integration.registry.seed import Seeded
from tornado.httpclient import HTTPClientError

from mlops_nb.server import schemas

pytestmark = pytest.mark.integration


async def _get(jp_fetch, *path, **params):
    response = await jp_fetch("mlops-nb", *path, params=params or None)
    return json.loads(response.body)


async def _post(jp_fetch, body):
    response = await jp_fetch("mlops-nb", "promote", method="POST", body=json.dumps(body))
    return response.code, json.loads(response.body)


async def _poll(jp_fetch, job_id, timeout=120.0):
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        job = await _get(jp_fetch, "jobs", job_id)
        if job["state"] not in ("queued", "running"):
            return job
        assert asyncio.get_running_loop().time() < deadline, f"job still {job['state']}"
        await asyncio.sleep(0.1)


async def test_promote_as_a_job_then_models_versions_history_and_card(
    jp_fetch, registry: Seeded, jp_root_dir: Path
):
    assert (await _get(jp_fetch, "models"))["models"] == []
    (jp_root_dir / "eval.csv").write_bytes(registry.eval_csv.read_bytes())
    code, job = await _post(
        jp_fetch,
        {
            "source": registry.runs["good"],
            "name": "cancer",
            "require": ["accuracy>=0.9"],
            "no_regression": True,
            "eval_data": "eval.csv",
            "target": "target",
        },
    )
    assert code == 202 and job["kind"] == "promote" and job["target"] == "cancer"
    job = await _poll(jp_fetch, job["id"])
    assert job["state"] == "succeeded", job["error"]
    result = job["result"]
    assert result["moved"] and result["version"] == "1"
    assert [g["gate"] for g in result["gates"]] == ["threshold", "no_regression"]
    assert result["verdict"] == "PROMOTED: @champion moved from no version to version 1"
    threshold = result["gates"][0]
    assert (threshold["metric"], threshold["threshold"], threshold["status"]) == (
        "accuracy",
        0.9,
        "passed",
    )
    assert threshold["value"] >= 0.9
    # every reply is its contract's model (what extension/src/schema.ts was generated from)
    assert schemas.Job.model_validate(job).result == schemas.PromotionResult.model_validate(result)
    gate_events = [e for e in job["events"] if e["step"] in ("threshold", "no_regression")]
    assert {(e["step"], e["status"]) for e in gate_events} >= {
        ("threshold", "passed"),
        ("no_regression", "passed"),
    }

    code, job = await _post(
        jp_fetch,
        {"source": registry.runs["weak"], "name": "cancer", "require": ["accuracy>=0.99"]},
    )
    job = await _poll(jp_fetch, job["id"])
    assert job["state"] == "succeeded" and job["result"]["moved"] is False

    models = (await _get(jp_fetch, "models"))["models"]
    assert [(m["name"], m["aliases"], m["latest_version"]) for m in models] == [
        ("cancer", {"champion": "1"}, "2")
    ]
    model = await _get(jp_fetch, "models", "cancer")
    assert [(v["version"], v["aliases"], v["gates_passed"]) for v in model["versions"]] == [
        ("2", [], False),
        ("1", ["champion"], True),
    ]
    assert [(h["to_version"], h["moved"]) for h in model["history"]] == [("1", True), ("2", False)]
    refused = model["versions"][0]["last_decision"]
    assert (refused["from_version"], refused["to_version"], refused["moved"]) == ("1", "2", False)
    assert [(g["gate"], g["status"], g["threshold"]) for g in refused["gates"]] == [
        ("threshold", "failed", 0.99)
    ]
    schemas.ModelResponse.model_validate(model)
    schemas.ModelsResponse.model_validate(await _get(jp_fetch, "models"))
    card = await _get(jp_fetch, "models", "cancer", "versions", "1", "card")
    assert "# Model card: cancer version 1" in card["markdown"]
    assert "<h1>Model card: cancer version 1</h1>" in card["html"]
    assert schemas.CardResponse.model_validate(card).aliases == ["champion"]


async def test_bad_requests_are_clear_errors(jp_fetch, registry: Seeded):
    for body, status, message in (
        ({"source": registry.runs["good"]}, 400, "'name'"),
        ({"source": "x", "name": "m", "eval_data": "../../etc/passwd"}, 403, "outside"),
        ({"source": "x", "name": "m", "require": "accuracy>=1"}, 400, "'require'"),
        ({"source": "x", "name": "m", "max_drift_share": "a lot"}, 400, "number"),
        ({"source": "x", "name": "m", "force": "yes"}, 400, "'force'"),
        ({"source": "x", "name": "m", "alais": "champion"}, 400, "'alais'"),
    ):
        with pytest.raises(HTTPClientError) as info:
            await _post(jp_fetch, body)
        assert info.value.code == status
        assert message in json.loads(info.value.response.body)["message"]
    with pytest.raises(HTTPClientError) as info:
        await _get(jp_fetch, "models", "missing")
    assert info.value.code == 404
    assert "no registered model 'missing'" in json.loads(info.value.response.body)["message"]
    # a failing promotion is a failed job with the message, not a server error
    code, job = await _post(jp_fetch, {"source": "not-a-run", "name": "m"})
    assert code == 202
    job = await _poll(jp_fetch, job["id"])
    assert job["state"] == "failed" and "give a run id" in job["error"]
