"""``--seed N``: give every unseeded random estimator and split in the notebook ``random_state=N``,
in the notebook run and in train.py alike (the cell text is edited in memory, never on disk)."""

from __future__ import annotations

import ast

from mlops_nb.productionize.estimators import RANDOM_ESTIMATORS, called_name
from mlops_nb.productionize.notebook import _strip_ipython as strip_ipython

#: calls whose result is random unless seeded, and the keyword that seeds them: the estimators
#: of :data:`estimators.RANDOM_ESTIMATORS` and the splitters
SEEDED_CALLS: dict[str, str] = {
    **{name: info.keywords[0] for name, info in RANDOM_ESTIMATORS.items()},
    **{
        name: "random_state"
        for name in ("train_test_split", "KFold", "StratifiedKFold", "ShuffleSplit")
    },
    "StratifiedShuffleSplit": "random_state",
}
_SEED_KEYWORDS = {"random_state", "seed", "random_seed"}


def unseeded_calls(code: str) -> list[tuple[int, str]]:
    """(line, name) of the random calls without a seed in one cell's Python code."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and called_name(node) in SEEDED_CALLS:
            if node.keywords and any(k.arg is None for k in node.keywords):
                continue  # **kwargs may carry a seed
            if not any(k.arg in _SEED_KEYWORDS for k in node.keywords):
                found.append((node.lineno, str(called_name(node))))
    return found


def seed_cell(source: str, seed: int) -> tuple[str, list[str]]:
    """The cell with ``random_state=seed`` added to its unseeded random calls; what was seeded."""
    code, _, whole_magic = strip_ipython(source)
    if whole_magic:
        return source, []
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return source, []
    calls = [
        n
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and called_name(n) in SEEDED_CALLS
        and not any(k.arg in _SEED_KEYWORDS or k.arg is None for k in n.keywords)
        and n.end_lineno is not None
        and n.end_col_offset is not None
    ]
    lines = source.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line.encode("utf-8")))
    data = source.encode("utf-8")
    seeded = []
    for call in sorted(calls, key=lambda c: (c.end_lineno, c.end_col_offset), reverse=True):
        at = starts[call.end_lineno - 1] + call.end_col_offset - 1  # type: ignore[operator]
        if data[at : at + 1] != b")":
            continue
        before = data[:at].rstrip()
        glue = b"" if before.endswith((b"(", b",")) else b", "
        keyword = SEEDED_CALLS[str(called_name(call))]
        data = data[:at] + glue + f"{keyword}={seed}".encode() + data[at:]
        seeded.append(f"{called_name(call)} (line {call.lineno})")
    return data.decode("utf-8"), sorted(seeded)
