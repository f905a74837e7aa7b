"""Request bodies to validated rows: our own /predict records, and MLflow's scoring payloads
(``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs``, or CSV) for /invocations."""

from __future__ import annotations

import csv
import io
import re
from operator import itemgetter
from typing import Any

import numpy as np
from pydantic import ValidationError
from pydantic_core import from_json

from app.schema import (
    COLUMN_TYPES,
    INPUT_COLUMNS,
    MANY,
    NUMERIC_MATRIX,
    NUMERIC_ONLY,
    NUMERIC_RECORD,
    NUMERIC_RECORDS,
    ONE,
    row_of,
)

_COLUMNS = tuple(INPUT_COLUMNS)
_pick = itemgetter(*INPUT_COLUMNS)
#: every column takes any number: the fast paths below validate every value as a strict float,
#: which an integer column must not take (1.5 is refused there, as the Record path refuses it)
_FLOATS_ONLY = NUMERIC_ONLY and all(COLUMN_TYPES.get(c) == "number" for c in INPUT_COLUMNS)

#: validated rows: tuples of values in INPUT_COLUMNS order, or (all-number batches) one matrix
Rows = list[Any] | np.ndarray

MLFLOW_KEYS = ("dataframe_split", "dataframe_records", "instances", "inputs")


class PayloadError(ValueError):
    """The body is not a payload we understand; ``errors`` are FastAPI-style details."""

    def __init__(self, errors: list[dict[str, Any]], status: int = 422) -> None:
        super().__init__(errors[0]["msg"] if errors else "invalid payload")
        self.errors = errors
        self.status = status


def _error(msg: str, loc: tuple[Any, ...] = ("body",), kind: str = "value_error") -> PayloadError:
    return PayloadError([{"loc": list(loc), "msg": msg, "type": kind}])


def _details(exc: ValidationError, prefix: tuple[Any, ...]) -> list[dict[str, Any]]:
    return [
        {"loc": [*prefix, *err["loc"]], "msg": err["msg"], "type": err["type"]}
        for err in exc.errors(include_url=False, include_input=False)[:50]
    ]


def _check_rows(count: int, max_rows: int) -> None:
    if count == 0:
        raise _error("no records: send at least one")
    if count > max_rows:
        raise PayloadError(
            [
                {
                    "loc": ["body"],
                    "msg": f"{count} records; at most {max_rows} per request (MAX_BATCH_ROWS)",
                    "type": "too_many_records",
                }
            ]
        )


def _fast_records(body: bytes, max_rows: int, many: bool) -> list[Any] | None:
    """All-number records (a list, or one record) without building model objects; None: take
    the full path (which says what is wrong)."""
    try:
        if many:
            records = NUMERIC_RECORDS.validate_json(body)
        else:
            records = [NUMERIC_RECORD.validate_json(body)]
        if not 0 < len(records) <= max_rows:
            return None
        if len(_COLUMNS) == 1:
            return [(r[_COLUMNS[0]],) for r in records]
        return [_pick(r) for r in records]
    except (ValidationError, KeyError):
        return None


_NUMBER_TEXT = b"0123456789.-+eE,[]:} \t\r\n"


def _only_numbers_after_data(body: bytes) -> bool:
    at = body.rfind(b'"data"')
    return at >= 0 and not body[at + 6 :].translate(None, _NUMBER_TEXT)


def _fast_split(payload: dict[str, Any], max_rows: int, body: bytes) -> Rows | None:
    """``dataframe_split`` with the service's own columns, all numbers; None: take the full path.

    Two rows or more come back as one float64 matrix, converted in C: numpy's inference is the
    validation (a string, null or nested value makes another dtype, a ragged row an error, NaN or
    an infinity is refused by the finiteness check). The one value it would take for a number, a
    JSON boolean, is ruled out first: after the last ``"data"`` key the body holds nothing but
    number characters, brackets and commas (else the strict path below answers). Where a column
    takes only integers, only a matrix of whole numbers is taken (a fraction anywhere makes it a
    float matrix, and it can no longer say in which column)."""
    split = payload.get("dataframe_split")
    if not isinstance(split, dict) or len(payload) != 1:
        return None
    columns = split.get("columns")
    data = split.get("data")
    if not isinstance(data, list) or not 0 < len(data) <= max_rows:
        return None
    if columns is not None and (not isinstance(columns, list) or tuple(columns) != _COLUMNS):
        return None
    if len(data) > 1 and _only_numbers_after_data(body):
        try:
            matrix = np.array(data)
        except (ValueError, TypeError, OverflowError):
            return None
        if (
            matrix.ndim == 2
            and matrix.shape[1] == len(_COLUMNS)
            # whole numbers suit every column; a fraction, only columns that take any number
            and (matrix.dtype.kind == "i" or (matrix.dtype.kind == "f" and _FLOATS_ONLY))
            and np.isfinite(matrix).all()
        ):
            return matrix.astype(np.float64, copy=False)
        return None
    if not _FLOATS_ONLY:
        return None
    try:
        rows = NUMERIC_MATRIX.validate_python(data, strict=True)
    except ValidationError:
        return None
    if set(map(len, rows)) != {len(_COLUMNS)}:
        return None
    return rows


def predict_rows(body: bytes, max_rows: int) -> list[Any]:
    """/predict: one record object, or a list of them."""
    start = body.lstrip()[:1]
    if _FLOATS_ONLY:
        fast = _fast_records(body, max_rows, start == b"[")
        if fast is not None:
            return fast
    try:
        records = MANY.validate_json(body) if start == b"[" else [ONE.validate_json(body)]
    except ValidationError as exc:
        raise PayloadError(_details(exc, ("body",))) from None
    _check_rows(len(records), max_rows)
    return [row_of(r) for r in records]


def _records_from_lists(rows: Any, columns: list[Any], where: str) -> list[Any]:
    if not isinstance(rows, list):
        raise _error(f"'{where}' must be a list of rows", ("body", where))
    out = []
    for i, row in enumerate(rows):
        if isinstance(row, dict):
            out.append(row)
        elif isinstance(row, list):
            if len(row) != len(columns):
                raise _error(
                    f"row has {len(row)} values, expected {len(columns)} "
                    f"({', '.join(map(str, columns))})",
                    ("body", where, i),
                )
            out.append(dict(zip(columns, row, strict=True)))
        else:
            raise _error("each row must be an object or a list", ("body", where, i))
    return out


def _mlflow_records(payload: Any) -> tuple[list[Any], str]:
    if not isinstance(payload, dict):
        raise _error("expected a JSON object with one of: " + ", ".join(MLFLOW_KEYS))
    keys = [k for k in MLFLOW_KEYS if k in payload]
    if len(keys) != 1:
        raise _error("expected exactly one of: " + ", ".join(MLFLOW_KEYS))
    unexpected = sorted(str(k) for k in payload if k not in MLFLOW_KEYS)
    if unexpected:
        raise _error(
            f"unexpected key(s) {', '.join(unexpected)}: send only {keys[0]}",
            ("body", unexpected[0]),
        )
    key = keys[0]
    value = payload[key]
    if key == "dataframe_split":
        if not isinstance(value, dict) or "data" not in value:
            raise _error("dataframe_split needs 'columns' and 'data'", ("body", key))
        columns = value.get("columns")
        if columns is None:
            columns = INPUT_COLUMNS
        if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
            raise _error(
                "'columns' must be a list of column names (strings)", ("body", key, "columns")
            )
        if len(set(columns)) != len(columns):
            raise _error("'columns' names a column twice", ("body", key, "columns"))
        return _records_from_lists(value["data"], columns, key), key
    if key == "inputs" and isinstance(value, dict):
        columns = list(value)
        if not columns:
            raise _error("'inputs' as an object needs one list per column", ("body", key))
        lengths = {len(v) if isinstance(v, list) else -1 for v in value.values()}
        if -1 in lengths or len(lengths) > 1:
            raise _error("'inputs' as an object needs equal-length lists per column", ("body", key))
        n = lengths.pop() if lengths else 0
        return [{c: value[c][i] for c in columns} for i in range(n)], key
    return _records_from_lists(value, INPUT_COLUMNS, key), key


#: what a CSV cell may hold, by column type (the OpenAPI document shows the same patterns)
CSV_CELLS = {
    "number": r"-?[0-9]{1,15}(\.[0-9]{1,15})?([eE][-+]?[0-9]{1,3})?",
    "integer": r"-?[0-9]{1,15}",
    "boolean": r"(true|false)",
    "string": r"[^,\r\n\"]+",
}
_CELL_RE = {kind: re.compile(pattern) for kind, pattern in CSV_CELLS.items()}


def _csv_value(value: str | None, kind: str) -> Any:
    if value is None or value == "":
        return None
    if kind in ("number", "integer", "boolean") and not _CELL_RE[kind].fullmatch(value):
        return value  # validation reports it, with the column
    if kind == "number":
        return float(value)
    if kind == "integer":
        return int(value)
    if kind == "boolean":
        return value == "true"
    return value


def _csv_records(body: bytes) -> list[Any]:
    try:
        reader = csv.DictReader(io.StringIO(body.decode("utf-8")))
        return [
            {
                name: _csv_value(value, COLUMN_TYPES.get(name, "string"))
                for name, value in row.items()
            }
            for row in reader
        ]
    except (UnicodeDecodeError, csv.Error) as exc:
        raise _error(f"unreadable CSV: {exc}") from None


def invocation_rows(body: bytes, content_type: str, max_rows: int) -> Rows:
    """/invocations: MLflow's JSON payloads, or CSV with a header row."""
    if content_type.startswith("text/csv"):
        records = _csv_records(body)
        prefix: tuple[Any, ...] = ("body",)
    else:
        try:
            payload = from_json(body)
        except ValueError as exc:
            raise _error(f"invalid JSON: {exc}", kind="json_invalid") from None
        if NUMERIC_ONLY and isinstance(payload, dict):
            fast = _fast_split(payload, max_rows, body)
            if fast is not None:
                return fast
        records, key = _mlflow_records(payload)
        prefix = ("body", key)
    _check_rows(len(records), max_rows)
    try:
        validated = MANY.validate_python(records)
    except ValidationError as exc:
        raise PayloadError(_details(exc, prefix)) from None
    return [row_of(r) for r in validated]
