"""``import mlops_nb`` stays light; a drift check imports neither Evidently nor MLflow."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _modules_after(code: str) -> set[str]:
    script = textwrap.dedent(code) + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    import json

    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_and_a_drift_check_do_not_load_evidently_or_mlflow() -> None:
    after_import = _modules_after("import mlops_nb")
    assert "evidently" not in after_import and "mlflow" not in after_import

    after_check = _modules_after(
        """
        import numpy as np, pandas as pd, mlops_nb
        rng = np.random.default_rng(0)
        ref = pd.DataFrame({"a": rng.normal(size=2000), "c": rng.choice(list("xyz"), 2000)})
        cur = ref.assign(a=ref.a + 1)
        r = mlops_nb.drift(ref, cur)
        assert r.drifted_columns == ["a"], r
        r.widget(); r._repr_mimebundle_()
        """
    )
    assert "evidently" not in after_check
    assert "mlflow" not in after_check
    assert "plotly" not in after_check
