"""What an engineer checks before accepting the service: it answers, it predicts what the
notebook's model predicted, and it rejects bad input with clear 4xx errors."""

from __future__ import annotations

from typing import Any


def _close(got: list[Any], expected: list[Any], tolerance: float = 1e-9) -> bool:
    """Labels equal; values within ``tolerance * max(1, |expected|)`` (the engine's parity
    tolerance: 1e-9 for scikit-learn, what productionize checked for onnxruntime)."""
    if len(got) != len(expected):
        return False
    for a, b in zip(got, expected, strict=True):
        if isinstance(a, float) or isinstance(b, float):
            if abs(float(a) - float(b)) > tolerance * max(1.0, abs(float(b))):
                return False
        elif a != b:
            return False
    return True


def test_probes(client: Any) -> None:
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").status_code == 200


def test_predict_matches_the_notebook(
    client: Any, example: dict[str, Any], tolerance: float
) -> None:
    response = client.post("/predict", json=example["records"])
    assert response.status_code == 200, response.text
    assert _close(response.json()["predictions"], example["predictions"], tolerance)


def test_predict_one_record(client: Any, example: dict[str, Any], tolerance: float) -> None:
    response = client.post("/predict", json=example["records"][0])
    assert response.status_code == 200, response.text
    assert _close(response.json()["predictions"], example["predictions"][:1], tolerance)


def test_mlflow_payloads(client: Any, example: dict[str, Any], tolerance: float) -> None:
    records = example["records"]
    columns = list(records[0])
    payloads = [
        {"dataframe_records": records},
        {
            "dataframe_split": {
                "columns": columns,
                "data": [[r[c] for c in columns] for r in records],
            }
        },
        {"instances": records},
        {"inputs": {c: [r[c] for r in records] for c in columns}},
    ]
    for payload in payloads:
        response = client.post("/invocations", json=payload)
        assert response.status_code == 200, (payload.keys(), response.text)
        assert _close(response.json()["predictions"], example["predictions"], tolerance)


def test_validation_errors_name_the_field(client: Any, example: dict[str, Any]) -> None:
    record = dict(example["records"][0])
    missing = next(iter(record))
    del record[missing]
    response = client.post("/predict", json=record)
    assert response.status_code == 422
    assert any(missing in map(str, err["loc"]) for err in response.json()["detail"])


def test_malformed_bodies_are_4xx(client: Any) -> None:
    for body in (b"", b"{", b"[]", b"null", b"42", b'"text"', b'{"dataframe_split": 3}'):
        for path in ("/predict", "/invocations"):
            response = client.post(path, content=body, headers={"content-type": "application/json"})
            assert 400 <= response.status_code < 500, (path, body, response.status_code)


def test_metadata_and_metrics(client: Any) -> None:
    metadata = client.get("/metadata").json()
    assert len(metadata["model_sha256"]) == 64
    text = client.get("/metrics").text
    assert "http_requests_total" in text and "http_request_duration_seconds_bucket" in text


def test_monitoring_endpoints(client: Any) -> None:
    sample = client.get("/monitoring/sample", params={"n": 5}).json()
    assert sample["total_seen"] >= 1 and len(sample["records"]) <= 5
    reference = client.get("/monitoring/reference", params={"n": 3}).json()
    assert reference["total"] >= len(reference["records"]) > 0
    assert client.get("/monitoring/drift").status_code in (200, 409)
