"""Import-time savings for processes that execute notebooks (CLI, pool and Dask workers).

``jsonschema`` (imported by nbformat and MLflow) loads its optional ``iri`` format checker from
``rfc3987_syntax`` when installed, which compiles a grammar at import: ~0.9 s of every process
start here, for a format that neither the notebook schema nor MLflow uses. Marking the module as
absent makes jsonschema skip that checker (unknown formats are not validated, as by default).
It is a no-op when the module was already imported.
"""

from __future__ import annotations

import sys


def skip_slow_optional_imports() -> None:
    sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
