"""A trained model's README.md as a model card: the sentence-transformers card that `save` writes,
with its metadata filled in (base model, datasets, tags) and a rankdistill section: the teacher
and its fingerprint, the training queries and where they came from, the loss, steps, seed, the
index the student expects and, once a run has evaluated it, the evaluation table.

    from huggingface_hub import ModelCard
    card = ModelCard.load("runs/default/stages/train/student/README.md")
    card.data.base_model, card.data.rankdistill["teacher"], card.data.rankdistill["loss"]

The section opens the card, between two markers, so writing the card again (the run's report adds the
evaluation) replaces it and keeps the rest of the card.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from rankdistill.core.atomic import atomic_write_text

CARD = "README.md"
START, END = "<!-- rankdistill:start -->", "<!-- rankdistill:end -->"
TAGS = ("rankdistill", "knowledge-distillation")
TEACHER_INDEX = "none: a reranker, it scores (query, document) pairs"


def hub_id(model: str) -> str | None:
    """The hub id of a base model named by catalogue alias or hub id (None for a local path)."""
    from rankdistill.encoders.models import catalogue_entry

    entry = catalogue_entry(model)
    if entry is not None:
        return entry.hub_id
    return model if model.count("/") == 1 and not Path(model).expanduser().exists() else None


def training_facts(record: dict[str, Any]) -> dict[str, Any]:
    """What the card says about training, from a trained model's record (rankdistill_train.json)
    and the meta file of its training set, where there is one."""
    config = record.get("config") or {}
    if (
        "base_model" in config
    ):  # a cross-encoder teacher trained on judgements (training/teacher.py)
        return teacher_facts(record)
    student, data, trainer = (config.get(k) or {} for k in ("student", "data", "trainer"))
    facts: dict[str, Any] = {
        "base_model": student.get("model"),
        "kind": student.get("kind"),
        "mode": record.get("mode", "full fine-tuning"),
        "dataset": data.get("dataset"),
        "loss": config.get("loss"),
        "steps": record.get("global_step"),
        "epochs": record.get("epochs", trainer.get("epochs")),
        "seed": record.get("seed"),
        "training_rows": (record.get("data") or {}).get("rows"),
    }
    from rankdistill.mining.records import meta_path

    sidecar = meta_path(record["training_set"]) if record.get("training_set") else None
    if sidecar is not None and sidecar.is_file():  # checked when training read the set
        meta = json.loads(sidecar.read_text(encoding="utf-8")).get("config", {})
        facts.update(
            queries=meta.get("queries", meta.get("split")),
            judgements=meta.get("judgements", "judged positives of the split"),
            teacher_fingerprint=meta.get("teacher_fingerprint"),
            first_stages=meta.get("retrievers"),
        )
    if isinstance(record.get("frozen_documents"), dict):
        facts["index"] = (
            f"the corpus encoded by the starting model {student.get('model')} "
            "(query-side student: only the query encoder was trained)"
        )
    return {k: v for k, v in facts.items() if v is not None}


def teacher_facts(record: dict[str, Any]) -> dict[str, Any]:
    """What the card says about a trained cross-encoder teacher (its rankdistill-teacher.json)."""
    config = record["config"]
    facts = {
        "base_model": config.get("base_model"),
        "kind": "cross-encoder",
        "mode": "a cross-encoder teacher fine-tuned on judged lists (ListNet over judged "
        f"positives and {config.get('negatives')} mined negatives a list, from "
        f"{', '.join(config.get('retrievers') or ())})",
        "dataset": record.get("dataset"),
        "queries": f"{len(record.get('query_ids') or ())} judged queries of {record.get('split')}",
        "judgements": "judged positives of the split",
        "loss": {"listnet": {}},
        "steps": record.get("global_step"),
        "epochs": config.get("epochs"),
        "seed": config.get("seed"),
        "training_rows": record.get("lists"),
        "index": TEACHER_INDEX,
    }
    return {k: v for k, v in facts.items() if v is not None}


def _section(facts: dict[str, Any], teacher: list[str] | None, evaluation: list[str] | None) -> str:
    lines = [START, "", "## rankdistill", ""]
    lines.append(
        f"Distilled with rankdistill from the teacher below into `{facts.get('base_model', '?')}`; "
        f"training: {facts.get('mode')}."
        if facts.get("index") != TEACHER_INDEX
        else f"Trained with rankdistill from `{facts.get('base_model', '?')}`: {facts.get('mode')}."
    )
    lines.append("")
    rows = {
        "base model": facts.get("base_model"),
        "teacher": ", ".join(teacher) if teacher else None,
        "teacher fingerprint": facts.get("teacher_fingerprint"),
        "training dataset": facts.get("dataset"),
        "training queries": facts.get("queries"),
        "judgements": facts.get("judgements"),
        "first stages mined": ", ".join(facts["first_stages"])
        if facts.get("first_stages")
        else None,
        "loss": json.dumps(facts.get("loss")) if facts.get("loss") is not None else None,
        "steps / epochs": f"{facts.get('steps')} / {facts.get('epochs')}",
        "seed": facts.get("seed"),
        "index it expects": facts.get("index"),
    }
    lines += ["| | |", "|---|---|"]
    lines += [f"| {name} | {value} |" for name, value in rows.items() if value not in (None, "")]
    if evaluation:
        lines += ["", "### Evaluation", "", *evaluation]
    lines += [
        "",
        "The full training config is in `rankdistill_train.json` beside this card.",
        "",
        END,
    ]
    return "\n".join(lines)


def write_model_card(
    folder: str | Path,
    record: dict[str, Any],
    teacher: list[str] | None = None,
    evaluation: list[str] | None = None,
) -> Path:
    """Fill `folder`/README.md (the card `save` wrote, or a new one) from the model's `record`;
    `teacher`: the teacher's member specs, `evaluation`: markdown lines of its evaluation."""
    from huggingface_hub import ModelCard

    path = Path(folder) / CARD
    card = (
        ModelCard(path.read_text(encoding="utf-8")) if path.is_file() else ModelCard("---\n---\n")
    )
    facts = training_facts(record)
    base = hub_id(facts["base_model"]) if facts.get("base_model") else None
    if base:
        card.data.base_model = base
    card.data.tags = sorted(set(card.data.tags or []) | set(TAGS))
    if facts.get("dataset"):
        card.data.datasets = [Path(str(facts["dataset"])).name]
    card.data.rankdistill = {
        "base_model": facts.get("base_model"),
        "training_dataset": facts.get("dataset"),
        "teacher": teacher or [],
        "teacher_fingerprint": facts.get("teacher_fingerprint"),
        "training_queries": facts.get("queries"),
        "loss": facts.get("loss"),
        "steps": facts.get("steps"),
        "seed": facts.get("seed"),
    }
    text = card.text
    if START in text and END in text:
        text = (
            text[: text.index(START)].rstrip()
            + "\n\n"
            + text[text.index(END) + len(END) :].lstrip()
        )
    card.text = (
        "\n" + _section(facts, teacher, evaluation) + "\n\n" + text.strip() + "\n"
    )  # first: what a reader needs
    # the front matter through yaml, so nested values stay readable
    content = (
        "---\n"
        + yaml.safe_dump(card.data.to_dict(), sort_keys=False).rstrip()
        + "\n---\n"
        + card.text
    )
    return atomic_write_text(path, content)
