"""A hand-written table of malformed requests against the live service: each one gets a 4xx with a
JSON ``detail`` (field-level where there is a field), never a 5xx, and in bounded time."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

pytestmark = pytest.mark.integration

RECORD = {
    "alcohol": 13.0,
    "malic_acid": 2.0,
    "ash": 2.4,
    "alcalinity_of_ash": 19.0,
    "magnesium": 100.0,
    "total_phenols": 2.3,
    "flavanoids": 2.0,
    "nonflavanoid_phenols": 0.36,
    "proanthocyanins": 1.6,
    "color_intensity": 5.0,
    "hue": 0.96,
    "od280/od315_of_diluted_wines": 2.6,
    "proline": 750.0,
    "region": "north",
}
COLUMNS = list(RECORD)
ROW = list(RECORD.values())
JSON = {"content-type": "application/json"}


def _j(value: Any) -> bytes:
    return json.dumps(value).encode()


def _with(**changes: Any) -> dict[str, Any]:
    return {**RECORD, **changes}


def _without(column: str) -> dict[str, Any]:
    return {k: v for k, v in RECORD.items() if k != column}


# (id, method, path, headers, body, expected status or None for "any 4xx", a field the detail names)
CASES: list[tuple[str, str, str, dict[str, str], bytes, int | None, str | None]] = [
    ("empty body", "POST", "/predict", JSON, b"", 422, None),
    ("truncated object", "POST", "/predict", JSON, b"{", 422, None),
    ("truncated array", "POST", "/predict", JSON, b"[{", 422, None),
    ("empty list", "POST", "/predict", JSON, b"[]", 422, None),
    ("null", "POST", "/predict", JSON, b"null", 422, None),
    ("number", "POST", "/predict", JSON, b"42", 422, None),
    ("string", "POST", "/predict", JSON, b'"text"', 422, None),
    ("true", "POST", "/predict", JSON, b"true", 422, None),
    ("overflowing number literal", "POST", "/predict", JSON, b"1e999", 422, None),
    ("NaN literal", "POST", "/predict", JSON, _j(RECORD).replace(b"13.0", b"NaN"), 422, "alcohol"),
    (
        "Infinity literal",
        "POST",
        "/predict",
        JSON,
        _j(RECORD).replace(b"13.0", b"Infinity"),
        422,
        "alcohol",
    ),
    (
        "1e999 in a field",
        "POST",
        "/predict",
        JSON,
        _j(RECORD).replace(b"13.0", b"1e999"),
        422,
        "alcohol",
    ),
    ("missing field", "POST", "/predict", JSON, _j(_without("proline")), 422, "proline"),
    ("missing categorical", "POST", "/predict", JSON, _j(_without("region")), 422, "region"),
    ("string for number", "POST", "/predict", JSON, _j(_with(hue="high")), 422, "hue"),
    ("numeric string for number", "POST", "/predict", JSON, _j(_with(hue="0.9")), 422, "hue"),
    ("bool for number", "POST", "/predict", JSON, _j(_with(hue=True)), 422, "hue"),
    ("null for number", "POST", "/predict", JSON, _j(_with(hue=None)), 422, "hue"),
    ("list for number", "POST", "/predict", JSON, _j(_with(hue=[1.0])), 422, "hue"),
    ("object for number", "POST", "/predict", JSON, _j(_with(hue={"v": 1})), 422, "hue"),
    ("number for string", "POST", "/predict", JSON, _j(_with(region=3)), 422, "region"),
    ("null for string", "POST", "/predict", JSON, _j(_with(region=None)), 422, "region"),
    ("list for string", "POST", "/predict", JSON, _j(_with(region=["north"])), 422, "region"),
    ("list of numbers", "POST", "/predict", JSON, b"[1, 2, 3]", 422, None),
    ("list of lists", "POST", "/predict", JSON, _j([ROW]), 422, None),
    ("list with a null", "POST", "/predict", JSON, _j([RECORD, None]), 422, None),
    ("list with a bad record", "POST", "/predict", JSON, _j([RECORD, _with(ash="x")]), 422, "ash"),
    ("nested list", "POST", "/predict", JSON, _j([[RECORD]]), 422, None),
    ("too many records", "POST", "/predict", JSON, _j([RECORD] * 51), 422, None),
    ("invalid UTF-8", "POST", "/predict", JSON, b"\xff\xfe\xfa", 422, None),
    ("UTF-16 BOM", "POST", "/predict", JSON, "\ufeff{}".encode("utf-16"), 422, None),
    ("NUL bytes", "POST", "/predict", JSON, b"\x00" * 32, 422, None),
    ("trailing garbage", "POST", "/predict", JSON, _j(RECORD) + b"xyz", 422, None),
    ("two objects", "POST", "/predict", JSON, _j(RECORD) + _j(RECORD), 422, None),
    ("deep nesting", "POST", "/predict", JSON, b"[" * 5000 + b"]" * 5000, 422, None),
    ("invocations: empty object", "POST", "/invocations", JSON, b"{}", 422, None),
    (
        "invocations: unknown key",
        "POST",
        "/invocations",
        JSON,
        _j({"records": [RECORD]}),
        422,
        None,
    ),
    (
        "invocations: two keys",
        "POST",
        "/invocations",
        JSON,
        _j({"instances": [RECORD], "dataframe_records": [RECORD]}),
        422,
        None,
    ),
    ("invocations: a list", "POST", "/invocations", JSON, _j([RECORD]), 422, None),
    ("split: a number", "POST", "/invocations", JSON, _j({"dataframe_split": 3}), 422, None),
    (
        "split: no data",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": COLUMNS}}),
        422,
        None,
    ),
    (
        "split: data a string",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"data": "x"}}),
        422,
        None,
    ),
    (
        "split: columns 5",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": 5, "data": [ROW]}}),
        422,
        "columns",
    ),
    (
        "split: columns true",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": True, "data": [ROW]}}),
        422,
        "columns",
    ),
    (
        "split: columns [[1]]",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": [[1]], "data": [ROW]}}),
        422,
        "columns",
    ),
    (
        "split: columns [{}]",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": [{}], "data": [ROW]}}),
        422,
        "columns",
    ),
    (
        "split: duplicate columns",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": [*COLUMNS[:-1], COLUMNS[0]], "data": [ROW]}}),
        422,
        "columns",
    ),
    (
        "split: short row",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": COLUMNS, "data": [ROW[:-1]]}}),
        422,
        None,
    ),
    (
        "split: row a string",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": COLUMNS, "data": ["row"]}}),
        422,
        None,
    ),
    (
        "split: empty data",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_split": {"columns": COLUMNS, "data": []}}),
        422,
        None,
    ),
    (
        "split: NaN value",
        "POST",
        "/invocations",
        JSON,
        json.dumps(
            {"dataframe_split": {"columns": COLUMNS, "data": [[float("nan"), *ROW[1:]]]}}
        ).encode(),
        422,
        None,
    ),
    (
        "records: not a list",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_records": RECORD}),
        422,
        None,
    ),
    (
        "records: bad value",
        "POST",
        "/invocations",
        JSON,
        _j({"dataframe_records": [_with(proline="many")]}),
        422,
        "proline",
    ),
    ("instances: numbers", "POST", "/invocations", JSON, _j({"instances": [1]}), 422, None),
    (
        "inputs: object of scalars",
        "POST",
        "/invocations",
        JSON,
        _j({"inputs": {"alcohol": 1}}),
        422,
        None,
    ),
    (
        "inputs: ragged columns",
        "POST",
        "/invocations",
        JSON,
        _j({"inputs": {"alcohol": [1.0, 2.0], "hue": [1.0]}}),
        422,
        None,
    ),
    ("inputs: empty object", "POST", "/invocations", JSON, _j({"inputs": {}}), 422, None),
    (
        "csv: header only",
        "POST",
        "/invocations",
        {"content-type": "text/csv"},
        ",".join(COLUMNS).encode(),
        422,
        None,
    ),
    (
        "csv: text in a number column",
        "POST",
        "/invocations",
        {"content-type": "text/csv"},
        (",".join(COLUMNS) + "\n" + ",".join(["x"] * len(COLUMNS))).encode(),
        422,
        None,
    ),
    (
        "csv: invalid UTF-8",
        "POST",
        "/invocations",
        {"content-type": "text/csv"},
        b"\xff\xfe",
        422,
        None,
    ),
    (
        "csv: missing columns",
        "POST",
        "/invocations",
        {"content-type": "text/csv"},
        b"a,b\n1,2",
        422,
        None,
    ),
    ("body over MAX_BODY_BYTES", "POST", "/predict", JSON, b" " * 10_000_001, 413, None),
    ("no API key", "POST", "/predict", {"x-api-key": ""}, _j(RECORD), 401, None),
    ("wrong API key", "POST", "/predict", {"x-api-key": "nope"}, _j(RECORD), 401, None),
    ("GET /predict", "GET", "/predict", {}, b"", 405, None),
    ("PUT /invocations", "PUT", "/invocations", JSON, _j({"instances": [RECORD]}), 405, None),
    ("unknown path", "GET", "/nope", {}, b"", 404, None),
    ("sample n=0", "GET", "/monitoring/sample?n=0", {}, b"", 422, "n"),
    ("sample n=-5", "GET", "/monitoring/sample?n=-5", {}, b"", 422, "n"),
    ("sample n=abc", "GET", "/monitoring/sample?n=abc", {}, b"", 422, "n"),
    ("sample n huge", "GET", "/monitoring/sample?n=99999999999999999999", {}, b"", 422, "n"),
    ("reference n=1.5", "GET", "/monitoring/reference?n=1.5", {}, b"", 422, "n"),
    ("drift n=0", "GET", "/monitoring/drift?n=0", {}, b"", 422, "n"),
]


def test_the_table_is_large_enough() -> None:
    assert len(CASES) >= 60
    assert len({c[0] for c in CASES}) == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_request_is_a_clear_4xx(live: dict[str, Any], case: tuple[Any, ...]) -> None:
    _, method, path, headers, body, expected, field = case
    sent = {"x-api-key": live["api_key"], **headers}
    if sent["x-api-key"] == "":
        del sent["x-api-key"]
    with httpx.Client(base_url=live["url"], timeout=10) as client:
        response = client.request(method, path, content=body or None, headers=sent)
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:500])
    if expected is not None:
        assert response.status_code == expected, response.text[:500]
    detail = response.json()["detail"]
    assert detail
    if field is not None:
        assert isinstance(detail, list), detail
        assert any(field in map(str, d["loc"]) for d in detail), detail


def test_bad_content_length_is_400(live: dict[str, Any]) -> None:
    """Sent over a raw socket (HTTP clients refuse to send it); the server answers 400."""
    import socket

    with socket.create_connection(("127.0.0.1", live["port"]), timeout=10) as sock:
        sock.sendall(
            b"POST /predict HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"X-API-Key: " + live["api_key"].encode() + b"\r\nContent-Length: abc\r\n\r\n{}"
        )
        status_line = sock.recv(4096).split(b"\r\n", 1)[0]
    assert status_line.startswith(b"HTTP/1.1 400"), status_line


def test_still_serving_after_the_table(live: dict[str, Any]) -> None:
    headers = {"x-api-key": live["api_key"]}
    with httpx.Client(base_url=live["url"], timeout=10) as client:
        assert client.get("/readyz").status_code == 200
        response = client.post("/predict", json=RECORD, headers=headers)
        assert response.status_code == 200 and len(response.json()["predictions"]) == 1
