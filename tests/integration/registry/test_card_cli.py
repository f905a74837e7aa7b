"""The model card's content, ``mlops-nb promote`` / ``mlops-nb models`` exit codes and output,
and ``%mlops promote`` / ``%mlops card`` in IPython's test shell."""

from __future__ import annotations

import json

import pytest
from integration.registry.seed import TARGET, Seeded

from mlops_nb.cli import main
from mlops_nb.registry.api import client_for, promote
from mlops_nb.registry.card import AUTHOR_MARK
from mlops_nb.registry.query import card

pytestmark = pytest.mark.integration


def test_every_promoted_version_gets_a_card_with_what_a_reviewer_needs(registry: Seeded) -> None:
    result = promote(
        registry.runs["good"],
        "cancer",
        require=["accuracy>=0.9"],
        no_regression=True,
        eval_data=registry.eval_csv,
        target=TARGET,
        max_drift_share=0.5,
        reference=registry.train_csv,
        current=registry.eval_csv,
        limitations="Trained on one hospital's data.",
    )
    found = card(client_for(), "cancer@champion")
    md, html = found.markdown, found.html
    assert found.version == result.version == "1" and found.aliases == ["champion"]
    assert "# Model card: cancer version 1" in md
    # training data: datasets with digest and shape
    assert "| X_train | training | d1g35tx | 398 x 30 |" in md
    # parameters and metrics logged by the run
    assert "| max_iter |" not in md  # a pipeline's own params, not its steps'
    assert "| steps |" in md and "| accuracy |" in md
    # gates with their values; held-out score computed by mlops-nb
    gate = result.gates[1]
    assert gate.gate == "no_regression"
    assert f"| accuracy | {gate.value:.6g} | eval.csv (171 rows) |" in md
    assert "| threshold | passed |" in md and "| drift | passed |" in md
    assert "Reference: train.csv (398 rows); compared with eval.csv (171 rows)" in md
    assert "## Fidelity" in md and "Not checked at promotion." in md
    # lineage
    assert "/work/notebooks/cancer.ipynb" in md and "0123456789abcdef" in md
    assert "cell-good" in md
    # author sections: intended use is marked for the author, limitations was given
    assert md.count(AUTHOR_MARK) == 1
    assert "To be written by the model's author" in md.split("## Intended use")[1][:300]
    assert "Trained on one hospital's data." in md.split("## Limitations")[1][:200]
    assert 'data-author-fill="true"' in html and "<h2>Held-out evaluation" in html
    assert "<td>X_train</td>" in html
    # the card is logged on the version
    tags = client_for().get_model_version("cancer", "1").tags
    assert tags["mlops_nb.card"].endswith("registry/cancer/v1/model_card.md")


def test_a_version_registered_outside_mlops_nb_gets_its_card_when_asked(registry: Seeded) -> None:
    import mlflow

    mlflow.set_tracking_uri(registry.uri)
    mlflow.register_model(f"runs:/{registry.runs['weak']}/clf", "plain")
    found = card(client_for(), "plain/1")
    assert "has not been through `mlops-nb promote` yet" in found.markdown
    assert "mlops_nb.card" in client_for().get_model_version("plain", "1").tags


def test_cli_exit_codes_and_output(registry: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    run = registry.runs
    assert main(["promote", run["good"], "--name", "cancer", "--require", "accuracy>=0.9"]) == 0
    out = capsys.readouterr().out
    assert (
        "✓ threshold: accuracy = 0.9" in out and "PROMOTED: @champion moved from no version" in out
    )

    code = main(
        ["promote", run["weak"], "--name", "cancer", "--require", "accuracy>=0.99", "--json"]
    )
    decision = json.loads(capsys.readouterr().out)
    assert code == 1 and decision["moved"] is False and decision["version"] == "2"
    assert decision["gates"][0]["status"] == "failed" and decision["gates"][0]["threshold"] == 0.99

    assert main(["promote", run["weak"], "--name", "cancer", "--force"]) == 2
    assert "--force needs --reason" in capsys.readouterr().err
    assert main(["promote", "nope", "--name", "cancer"]) == 2
    assert main(["promote", run["good"], "--name", "cancer", "--max-drift-share", "0.5"]) == 2
    assert "--current PATH or --service URL" in capsys.readouterr().err
    assert (
        main(
            [
                "promote",
                run["weak"],
                "--name",
                "cancer",
                "--require",
                "accuracy>=0.99",
                "--force",
                "--reason",
                "hotfix",
            ]
        )
        == 0
    )
    assert "FORCED: @champion moved from version 1 to version 2" in capsys.readouterr().out

    assert main(["models", "list"]) == 0
    assert "cancer       2" in capsys.readouterr().out.replace("  ", " ", 0)
    assert main(["models", "show", "cancer"]) == 0
    shown = capsys.readouterr().out
    assert "2 version(s)" in shown and "@champion" in shown
    assert main(["models", "history", "cancer", "--all"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 3
    assert "@champion: none -> v1  gates passed" in lines[0]
    assert "v2 refused (threshold failed), stayed on v1" in lines[1]
    assert "@champion: v1 -> v2  FORCED (hotfix)" in lines[2]
    assert main(["models", "show", "missing"]) == 2
    assert "no registered model 'missing'" in capsys.readouterr().err
    assert main(["models", "card", "cancer@champion"]) == 0
    assert "# Model card: cancer version 2" in capsys.readouterr().out


def test_magics_promote_and_card(registry: Seeded, capsys: pytest.CaptureFixture[str]) -> None:
    import pandas as pd
    from IPython.testing.globalipapp import get_ipython

    from mlops_nb.registry.magics import run_line
    from mlops_nb.tracking.magics import TrackMagics

    ip = get_ipython()
    ip.register_magics(TrackMagics(ip))  # the %mlops magic, without starting a delivery worker
    ip.user_ns["holdout"] = pd.read_csv(registry.eval_csv)
    result = ip.run_line_magic(
        "mlops",
        f"promote {registry.runs['good']} --name cancer --require 'accuracy >= 0.9' "
        "--no-regression --eval-data holdout --target target",
    )
    assert result.moved and result.version == "1"
    assert "the evaluation data DataFrame (171 rows)" in result.gates[1].summary
    assert "PROMOTED" in result._repr_markdown_()
    shown = ip.run_line_magic("mlops", "card cancer@champion")
    assert "Model card: cancer version 1" in shown._repr_html_()
    from mlops_nb.exceptions import ConfigError

    with pytest.raises(ConfigError, match="unknown option"):
        run_line("promote", "abc --bogus", {})
