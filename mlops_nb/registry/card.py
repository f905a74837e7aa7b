"""The model card of a registered version: gathered from the registry, the run and the latest
promotion decision, rendered to Markdown and HTML from one list of sections.

Sections the author must write (intended use, limitations) are marked in both renderings
(``<!-- mlops-nb: author -->`` and a visible "to be written by the author" line) unless their
text was given (``intended_use=``/``limitations=``, stored as version tags).
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from mlops_nb._version import __version__
from mlops_nb.registry.result import PromotionResult
from mlops_nb.registry.source import model_id_of

AUTHOR_MARK = "<!-- mlops-nb: author fills in this section -->"
TAG_INTENDED_USE = "mlops_nb.card.intended_use"
TAG_LIMITATIONS = "mlops_nb.card.limitations"


@dataclass
class Block:
    kind: str  # "p" | "table" | "author"
    text: str = ""
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass
class Section:
    title: str
    blocks: list[Block]


@dataclass
class Card:
    name: str
    version: str
    title: str
    sections: list[Section]

    @property
    def markdown(self) -> str:
        return render_markdown(self)

    @property
    def html(self) -> str:
        return render_html(self)


def _ms(ts: Any) -> str:
    if not ts:
        return "unknown"
    return datetime.fromtimestamp(int(ts) / 1000, tz=timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def _num(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _datasets(run: Any) -> list[list[str]]:
    rows = []
    inputs = getattr(getattr(run, "inputs", None), "dataset_inputs", None) or []
    for item in inputs:
        ds = item.dataset
        context = {t.key: t.value for t in item.tags}.get("mlflow.data.context", "")
        try:
            profile = json.loads(ds.profile or "{}")
        except ValueError:
            profile = {}
        shape = profile.get("shape")
        rows.append(
            [
                ds.name,
                context or "-",
                ds.digest,
                " x ".join(str(s) for s in shape) if shape else str(profile.get("num_rows", "-")),
            ]
        )
    return rows


def _environment(client: Any, run: Any) -> list[list[str]]:
    tags = run.data.tags
    rows = []
    for label, key in (
        ("notebook", "mlops_nb.notebook"),
        ("cell", "mlops_nb.cell_id"),
        ("git commit", "mlflow.source.git.commit"),
        ("git branch", "mlflow.source.git.branch"),
        ("uncommitted changes", "mlops_nb.git.dirty"),
        ("tracked by", "mlops_nb.version"),
    ):
        if tags.get(key):
            rows.append([label, tags[key]])
    rows.append(["run", f"{run.info.run_id} (experiment {run.info.experiment_id})"])
    try:
        import mlflow.artifacts

        text = mlflow.artifacts.load_text(f"{run.info.artifact_uri}/environment/python.json")
        env = json.loads(text)
        for key in ("python", "platform"):
            if env.get(key):
                rows.append([key, str(env[key])])
        rows.append(["requirements", "environment/requirements.txt (run artifact)"])
    except Exception:
        pass
    return rows


def _model_rows(client: Any, mv: Any) -> list[list[str]]:
    rows = [
        ["registered model", f"{mv.name} version {mv.version}"],
        ["aliases", ", ".join(f"@{a}" for a in (mv.aliases or [])) or "none"],
        ["registered", _ms(mv.creation_timestamp)],
    ]
    model_id = model_id_of(mv)
    if model_id:
        rows.append(["logged model", f"models:/{model_id}"])
        try:
            from mlflow.models import get_model_info

            info = get_model_info(f"models:/{model_id}")
            flavors = info.flavors
            sk = flavors.get("sklearn", {})
            rows.append(["flavors", ", ".join(sorted(flavors))])
            if sk.get("sklearn_version"):
                rows.append(["scikit-learn", sk["sklearn_version"]])
            if info.signature is not None:
                inputs = info.signature.inputs.input_names() if info.signature.inputs else []
                outputs = info.signature.outputs.to_dict() if info.signature.outputs else []
                rows.append(["inputs", ", ".join(map(str, inputs)) or "unnamed tensor"])
                rows.append(["outputs", json.dumps(outputs)[:200]])
        except Exception:
            pass
    return rows


def build(client: Any, mv: Any, run: Any | None, decision: PromotionResult | None) -> Card:
    """Gather a card for version ``mv`` (``run`` is the run that logged its model, if any)."""
    sections = [Section("Model", [Block("table", header=["", ""], rows=_model_rows(client, mv))])]
    tags = mv.tags or {}
    sections.append(
        _author(
            "Intended use",
            tags.get(TAG_INTENDED_USE),
            "who should use this model, for which decisions, on which population",
        )
    )
    sections.append(
        _author(
            "Limitations",
            tags.get(TAG_LIMITATIONS),
            "where it must not be used, known failure modes, fairness concerns",
        )
    )
    if run is not None:
        data = _datasets(run)
        sections.append(
            Section(
                "Training data",
                [Block("table", header=["dataset", "context", "digest", "shape"], rows=data)]
                if data
                else [Block("p", "No dataset was logged with the run.")],
            )
        )
        params = [[k, v] for k, v in sorted(run.data.params.items())]
        sections.append(
            Section(
                "Parameters",
                [Block("table", header=["param", "value"], rows=params)]
                if params
                else [Block("p", "No parameters were logged.")],
            )
        )
        metrics = [[k, _num(v)] for k, v in sorted(run.data.metrics.items())]
        sections.append(
            Section(
                "Metrics logged by the run",
                [Block("table", header=["metric", "value"], rows=metrics)]
                if metrics
                else [Block("p", "No metrics were logged.")],
            )
        )
    else:
        sections.append(Section("Training data", [Block("p", "The version has no source run.")]))
    sections.extend(_decision_sections(decision))
    if run is not None:
        sections.append(
            Section("Lineage", [Block("table", header=["", ""], rows=_environment(client, run))])
        )
    return Card(mv.name, str(mv.version), f"Model card: {mv.name} version {mv.version}", sections)


def _author(title: str, text: str | None, prompt: str) -> Section:
    if text:
        return Section(title, [Block("p", text)])
    return Section(title, [Block("author", prompt)])


def _gate_rows(decision: PromotionResult) -> list[list[str]]:
    return [
        [
            g.gate,
            g.status.value,
            "-" if g.value is None else _num(g.value),
            "-" if g.threshold is None else _num(g.threshold),
            g.summary,
        ]
        for g in decision.gates
    ]


def _decision_sections(decision: PromotionResult | None) -> list[Section]:
    if decision is None:
        return [
            Section(
                "Promotion gates",
                [Block("p", "This version has not been through `mlops-nb promote` yet.")],
            )
        ]
    by_gate = {g.gate: g for g in decision.gates}
    out = [
        Section(
            "Promotion gates",
            [
                Block(
                    "p",
                    f"{decision.verdict()} — decided by {decision.decided_by} at "
                    f"{decision.decided_at}.",
                ),
                Block(
                    "table",
                    header=["gate", "status", "value", "threshold / holder", "detail"],
                    rows=_gate_rows(decision),
                )
                if decision.gates
                else Block("p", "No gate was asked for."),
            ],
        )
    ]
    regression = by_gate.get("no_regression")
    if regression is not None and regression.value is not None:
        d = regression.details
        rows = [[regression.metric or "", _num(regression.value), d.get("data", "")]]
        if d.get("holder_score") is not None:
            rows.append(
                [
                    f"{regression.metric} of version {d.get('holder_version')}",
                    _num(d["holder_score"]),
                    d.get("data", ""),
                ]
            )
        out.append(
            Section(
                "Held-out evaluation (scored by mlops-nb)",
                [Block("table", header=["metric", "value", "data"], rows=rows)],
            )
        )
    fidelity = by_gate.get("fidelity")
    out.append(
        Section(
            "Fidelity",
            [Block("p", fidelity.summary if fidelity else "Not checked at promotion.")],
        )
    )
    drift = by_gate.get("drift")
    if drift is not None and drift.details:
        d = drift.details
        text = (
            f"Reference: {d.get('reference')}; compared with {d.get('current')}: drift share "
            f"{_num(drift.value)} (allowed <= {_num(drift.threshold)})."
        )
    else:
        text = (
            drift.summary if drift else "No drift check at promotion; the training data is above."
        )
    out.append(Section("Drift baseline", [Block("p", text)]))
    return out


def render_markdown(card: Card) -> str:
    lines = [f"# {card.title}", "", f"_Written by mlops-nb {__version__}._", ""]
    for section in card.sections:
        lines += [f"## {section.title}", ""]
        for block in section.blocks:
            if block.kind == "p":
                lines += [block.text, ""]
            elif block.kind == "author":
                lines += [
                    AUTHOR_MARK,
                    f"> ✎ **To be written by the model's author:** {block.text}",
                    "",
                ]
            else:
                lines += _md_table(block)
    return "\n".join(lines).rstrip() + "\n"


def _cell(text: str) -> str:
    # a value is text, never markup: pipes would split the cell, "<" would open raw HTML
    return str(text).replace("|", "\\|").replace("<", "&lt;").replace("\n", " ")


def _md_table(block: Block) -> list[str]:
    if not block.rows:
        return ["(none)", ""]
    header = [h or " " for h in block.header]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in block.rows]
    return [*lines, ""]


def render_html(card: Card) -> str:
    e = html.escape
    parts = [
        f'<article class="mlops-nb-card"><h1>{e(card.title)}</h1>',
        f"<p><em>Written by mlops-nb {e(__version__)}.</em></p>",
    ]
    for section in card.sections:
        parts.append(f"<section><h2>{e(section.title)}</h2>")
        for block in section.blocks:
            if block.kind == "p":
                parts.append(f"<p>{e(block.text)}</p>")
            elif block.kind == "author":
                parts.append(
                    f'{AUTHOR_MARK}<p class="mlops-nb-card-author" data-author-fill="true">'
                    f"✎ <strong>To be written by the model's author:</strong> "
                    f"{e(block.text)}</p>"
                )
            elif block.rows:
                head = "".join(f"<th>{e(h)}</th>" for h in block.header)
                body = "".join(
                    "<tr>" + "".join(f"<td>{e(str(c))}</td>" for c in row) + "</tr>"
                    for row in block.rows
                )
                parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        parts.append("</section>")
    parts.append("</article>")
    return "\n".join(parts)
