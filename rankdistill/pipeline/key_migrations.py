"""Versioned stage keys. A stage's key is the sha256 of its full settings, the key version and its
inputs' keys (rankdistill/pipeline/cache.py::stage_key). When what a key is made of changes, the
version goes up and one function here says how settings looked under the version before, so a run
folder made then is still read with nothing recomputed: a stage whose `done.json` holds the key its
settings had under an older version is cached.

    version 0   runs made before key versions: an option added after runs existed entered the
                key only when set off its default (the lists below); `precision` was written as
                `bf16: true|false` and `backend: torch|auto` was left out (LATER_DEFAULTS,
                `v0_precision`); a label-free mine stage, a cosine teacher's train stage and an
                index over several datasets wrote what set them apart only when it applied
    version 1   every setting, as it is
    version 2   `evaluate.fusion_weights` (a reranker fused with BM25); version 1 had no such
                field, so a run without fusion reads as it did (`v1_settings`)
"""

from __future__ import annotations

import copy
from typing import Any

KEY_VERSION = 2

# version 0: per stage, the options left out of a key while at their default, by where they sit
LATER_DEFAULTS: dict[str, dict[tuple[str, ...], dict[str, Any]]] = {
    "teacher_train": {("train",): {"retrieved_positives": False, "folds": 1}},
    "mine": {
        ("mine",): {
            "fn_reference": "lowest",
            "queries": "split",
            "accept_rank": None,
            "teacher_positives": 1,
            "judged_queries": None,
        }
    },
    "train": {
        ("data",): {
            "positives": None,
            "queries": None,
            "keep_split_queries": False,
            "judged": True,
            "teacher_scale": None,
        },
        ("student",): {
            "frozen_documents": False,
            "interpolate": 1.0,
            "anchor": 0.0,
            "layers": None,
            "distill": "scores",
            "teacher": None,
            "projection": "auto",
            "serve": "student",
            "texts": ["documents", "queries"],
            "max_texts": None,
            "teacher_max_length": None,
            "document_kl": 0.0,
            "corpus_negatives": None,
        },
        ("trainer",): {"scheduler": "linear", "gradient_checkpointing": False, "select": "last"},
        ("dev",): {"rerank_depth": None, "teacher_top": 3, "track_judged": None, "resample": False},
    },
    "evaluate": {("evaluate",): {"query_half": None}},
}


def v0_settings(stage: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A stage's settings (version 1) as version 0 wrote them."""
    old = copy.deepcopy(settings)
    for path, defaults in LATER_DEFAULTS.get(stage, {}).items():
        node = old
        for part in path:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict):
            for key, default in defaults.items():
                if node.get(key, default) == default:
                    node.pop(key, None)
    if stage == "mine" and isinstance(old.get("mine"), dict):
        mine = old["mine"]
        if _label_free(
            mine
        ):  # what decides the held-out queries, and the positives, always written
            mine["teacher_positives"] = settings["mine"]["teacher_positives"]
        else:
            mine.pop("evaluated", None)
    if (
        stage == "train"
        and isinstance(old.get("data"), dict)
        and not old["data"].get("cosine_teacher")
    ):
        old["data"].pop("cosine_teacher", None)
    if stage == "index" and len(old.get("datasets", [])) <= 1:
        old.pop("datasets", None)
    return v0_precision(old)


def _label_free(mine: dict[str, Any]) -> bool:
    from rankdistill.data.query_sources import is_label_free

    return is_label_free(str(mine.get("queries", "split")))


def v0_precision(settings: Any) -> Any:
    """Precision and backends as version 0 wrote them: each float32 / bf16 `precision` as the
    `bf16: false|true` it replaced (fp16 is new), a teacher member's `backend` as the one that
    runs (torch unless it is a cross-encoder's OpenVINO), and an index's or evaluation's torch
    backend (what `auto` is for dense encoders) left out."""
    if isinstance(settings, list):
        return [v0_precision(item) for item in settings]
    if not isinstance(settings, dict):
        return settings
    converted = {key: v0_precision(value) for key, value in settings.items()}
    if "backend" in converted:
        if "teacher" in converted:  # a teacher member
            if converted["backend"] == "auto":
                from rankdistill.retrieval.exported import resolve_backend

                cross = str(converted["teacher"]).startswith("cross-encoder:")
                precision = converted.get("precision", "float32")
                converted["backend"] = resolve_backend("auto", precision)[0] if cross else "torch"
        elif converted["backend"] in ("auto", "torch"):
            del converted["backend"]
    if converted.get("precision") in ("float32", "bf16"):
        converted["bf16"] = converted.pop("precision") == "bf16"
    return converted


def v1_settings(stage: str, settings: dict[str, Any]) -> dict[str, Any]:
    """A stage's settings (version 2) as version 1 wrote them."""
    old = copy.deepcopy(settings)
    evaluate = old.get("evaluate") if stage == "evaluate" else None
    if isinstance(evaluate, dict) and not evaluate.get("fusion_weights", []):
        evaluate.pop("fusion_weights", None)
    return old


# version v -> the function that turns settings of version v + 1 into those of version v
STEPS = {0: v0_settings, 1: v1_settings}


def older_settings(stage: str, settings: dict[str, Any], version: int) -> dict[str, Any]:
    """A stage's settings as key version `version` wrote them, one step per version."""
    if not 0 <= version <= KEY_VERSION:
        raise ValueError(f"no key version {version}")
    for step in range(KEY_VERSION - 1, version - 1, -1):
        settings = STEPS[step](stage, settings)
    return settings
