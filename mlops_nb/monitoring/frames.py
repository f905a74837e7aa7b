"""Check and prepare the two frames: which columns are compared, and as what kind.

Column kinds follow Evidently 0.7's own inference (``evidently.core.datasets.infer_column_type``)
applied to the reference: floats are numerical; integers are categorical up to 10 distinct values,
numerical above; booleans, ``category`` and string columns are categorical, except string columns
whose values are mostly distinct (free text or ids; only judged from 20 values on, where
Evidently would also call a 1-row column text). The kinds are then handed to Evidently
explicitly, so the summary and the full report always agree. Everything else (dates, free text,
lists, numbers stored as objects, mixed types, duplicate column names) is refused,
saying what to do.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from mlops_nb.monitoring.errors import DriftDataError
from mlops_nb.monitoring.stats import integer_kind

Kind = Literal["num", "cat"]
Role = Literal["feature", "target", "prediction"]

TEXT_UNIQUE_SHARE = 0.5  # Evidently 0.7: string columns with more distinct values are free text
TEXT_MIN_VALUES = 20  # below this many values, distinct strings are categories, not free text
MIN_REFERENCE_ROWS = 2


@dataclass(frozen=True)
class ColumnSpec:
    """One compared column: its name, kind and role."""

    name: str
    kind: Kind
    role: Role = "feature"


def read_frame(path: str | Path) -> pd.DataFrame:
    """Read a ``.csv`` or ``.parquet`` file (what the CLI and ``%drift`` accept as paths)."""
    p = Path(path)
    if not p.is_file():
        raise DriftDataError(f"{p}: no such file; give a .csv or .parquet file")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            return pd.read_csv(p)
        if suffix in (".parquet", ".pq"):
            return pd.read_parquet(p)
    except Exception as exc:  # a parser error is bad input, not a bug
        raise DriftDataError(f"{p}: cannot be read as {suffix[1:]}: {exc}") from exc
    raise DriftDataError(f"{p}: unsupported file type {suffix!r}; give a .csv or .parquet file")


def as_frame(data: Any, side: str) -> pd.DataFrame:
    """A DataFrame, a path, or anything ``pd.DataFrame`` takes (records, dict of lists), as a
    frame with unique string column names."""
    if isinstance(data, pd.DataFrame):
        frame = data
    elif isinstance(data, (str, Path)):
        frame = read_frame(data)
    else:
        try:
            frame = pd.DataFrame(data)
        except Exception as exc:
            raise DriftDataError(
                f"the {side} data is a {type(data).__name__} that pandas cannot make a table of "
                f"({str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__});"
                " pass a pandas DataFrame, a list of records, or a .csv/.parquet path"
            ) from exc
    return _named_columns(frame, side)


def _named_columns(frame: pd.DataFrame, side: str) -> pd.DataFrame:
    if isinstance(frame.columns, pd.MultiIndex):
        raise DriftDataError(
            f"the {side} data has multi-level column names; flatten them first "
            "(e.g. frame.columns = ['_'.join(map(str, c)) for c in frame.columns])"
        )
    if not all(isinstance(c, str) for c in frame.columns):
        frame = frame.rename(columns=str)
    repeated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if repeated:
        raise DriftDataError(
            f"the {side} data has more than one column named {', '.join(map(repr, repeated))}; "
            "give each column a unique name (e.g. frame.columns = [...]) or drop the copies "
            "(frame.loc[:, ~frame.columns.duplicated()])"
        )
    return frame


def infer_kind(series: pd.Series) -> Kind | str:
    """``"num"`` or ``"cat"``, or a reason why the column cannot be compared."""
    dtype = series.dtype
    name = dtype.name
    if name == "bool" or name == "boolean" or isinstance(dtype, pd.CategoricalDtype):
        return "cat"
    if pd.api.types.is_float_dtype(dtype):
        return "num"
    if pd.api.types.is_integer_dtype(dtype):
        return integer_kind(series.nunique())
    if pd.api.types.is_datetime64_any_dtype(dtype) or pd.api.types.is_timedelta64_dtype(dtype):
        return f"is a date/time column ({name})"
    if pd.api.types.is_complex_dtype(dtype):
        return f"has complex numbers ({name})"
    if pd.api.types.is_string_dtype(dtype):  # object or string
        values = series.dropna()
        inferred = pd.api.types.infer_dtype(values, skipna=True)
        if inferred != "string":
            return _object_problem(values, inferred)
        distinct, count = values.nunique(), len(values)
        if count >= TEXT_MIN_VALUES and distinct > count * TEXT_UNIQUE_SHARE:
            return f"looks like free text or an id ({distinct} distinct values in {count} rows)"
        return "cat"
    return f"has an unsupported type ({name})"


_CONVERSIONS = {
    "integer": "numbers stored as Python objects; convert them with .astype('int64')",
    "floating": "numbers stored as Python objects; convert them with .astype('float64')",
    "decimal": "Decimal numbers; convert them with .astype('float64')",
    "boolean": "booleans stored as Python objects; convert them with .astype(bool)",
    "bytes": "bytes; decode them to strings (e.g. .str.decode('utf-8'))",
}


def _object_problem(values: pd.Series, inferred: str) -> str:
    """Why an object column of non-strings cannot be compared, and the conversion that fixes it."""
    if inferred in _CONVERSIONS:
        return "holds " + _CONVERSIONS[inferred]
    if inferred in ("date", "datetime", "datetime64", "time", "period", "timedelta"):
        return f"holds {inferred} values; convert them to numbers or categories"
    types = values.map(lambda v: type(v).__name__).value_counts()
    if len(types) == 1:
        return f"holds {types.index[0]} objects, which drift cannot compare"
    mixed = ", ".join(f"{count} {kind}" for kind, count in types.items())
    return (
        f"mixes value types ({mixed}); make it one type, e.g. .astype(str) for a category "
        "or pd.to_numeric(...) for a number"
    )


def select_columns(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    *,
    columns: Sequence[str] | None,
    target: str | None,
    prediction: str | None,
) -> list[ColumnSpec]:
    """Validate both frames and return the columns to compare, features first."""
    specs = infer_specs(reference, columns=columns, target=target, prediction=prediction)
    check_current(current, specs, explicit=columns is not None)
    return specs


def infer_specs(
    reference: pd.DataFrame,
    *,
    columns: Sequence[str] | None,
    target: str | None,
    prediction: str | None,
) -> list[ColumnSpec]:
    """The columns to compare and their kinds, from the reference alone."""
    _check_not_empty(reference, "reference")
    if len(reference) < MIN_REFERENCE_ROWS:
        raise DriftDataError(
            f"the reference data has only {len(reference)} row; drift compares each column's "
            "distribution, which takes many rows (hundreds are typical): pass more reference rows"
        )
    if isinstance(columns, str):
        columns = [columns]
    if columns is None:
        wanted = [str(c) for c in reference.columns]
    else:
        wanted = list(dict.fromkeys(columns))
        if not wanted:
            raise DriftDataError("columns=[] selects nothing; pass None to compare every column")
    roles: dict[str, Role] = {}
    for name, role in ((target, "target"), (prediction, "prediction")):
        if name is not None:
            roles[name] = role  # type: ignore[assignment]
            if name not in wanted:
                wanted.append(name)
    missing = [c for c in wanted if c not in reference.columns]
    if missing:
        raise DriftDataError(
            f"the frames' columns do not match (missing from the reference: {', '.join(missing)}); "
            "fix the names in columns=/target=/prediction="
        )
    specs: list[ColumnSpec] = []
    problems: list[str] = []
    for name in wanted:
        col = reference[name]
        if col.isna().all():
            problems.append(_all_null(name, "reference"))
            continue
        kind = infer_kind(col)
        if kind in ("num", "cat"):
            specs.append(ColumnSpec(name, kind, roles.get(name, "feature")))  # type: ignore[arg-type]
        else:
            fix = "" if "; " in kind else "; convert it (e.g. to a category or a number)"
            problems.append(f"'{name}' {kind}{fix}, or leave it out with columns=[...]")
    _raise_problems(problems)
    specs.sort(key=lambda s: s.role != "feature")
    return specs


def check_current(current: pd.DataFrame, specs: Sequence[ColumnSpec], *, explicit: bool) -> None:
    """The current data has every compared column, with values, of a comparable type."""
    _check_not_empty(current, "current")
    missing = [s.name for s in specs if s.name not in current.columns]
    if missing:
        hint = (
            "fix the names in columns=/target=/prediction="
            if explicit
            else "the current data must have the reference's columns; pass columns=[...] to "
            "compare only the shared ones"
        )
        raise DriftDataError(
            "the frames' columns do not match (missing from the current data: "
            f"{', '.join(missing)}); {hint}"
        )
    problems = []
    for spec in specs:
        col = current[spec.name]
        if col.isna().all():
            problems.append(_all_null(spec.name, "current"))
        elif spec.kind == "num" and not _numeric_like(col):
            problems.append(
                f"'{spec.name}' is numeric in the reference but {col.dtype} in the current "
                "data; make both sides the same type"
            )
    _raise_problems(problems)


def _check_not_empty(frame: pd.DataFrame, side: str) -> None:
    if frame.shape[0] == 0:
        raise DriftDataError(f"the {side} data has no rows; drift needs rows on both sides")
    if frame.shape[1] == 0:
        raise DriftDataError(f"the {side} data has no columns")


def _all_null(name: str, side: str) -> str:
    return (
        f"'{name}' is entirely null in the {side} data; fill it, or leave it out with columns=[...]"
    )


def _raise_problems(problems: list[str]) -> None:
    if problems:
        raise DriftDataError("cannot compare these columns:\n  - " + "\n  - ".join(problems))


def _numeric_like(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and series.dtype.name != "bool"


def normalize(frame: pd.DataFrame, specs: Sequence[ColumnSpec]) -> pd.DataFrame:
    """The compared columns only, with numerical ones as float64 and categorical ones as objects."""
    out: dict[str, Any] = {}
    for spec in specs:
        col = frame[spec.name]
        if spec.kind == "num":
            out[spec.name] = pd.to_numeric(col, errors="coerce").astype("float64")
        elif isinstance(col.dtype, pd.CategoricalDtype) or col.dtype.name in ("string", "boolean"):
            out[spec.name] = col.astype(object).where(col.notna(), None)
        else:
            out[spec.name] = col
    return pd.DataFrame(out, index=frame.index)
