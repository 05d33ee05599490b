"""False-negative control: a sampled negative the teacher scores about as high as the query's
positives is probably an unlabelled positive; drop it or relabel it as a positive.

Two rules, on teacher scores, against a reference positive score p of the query:

    margin    suspect if  neg >= p - margin     (any score scale; margin 0: at least a positive)
    fraction  suspect if  neg >= fraction * p   (NV-Retriever's "TopK-PercPos")

The reference p is the query's lowest positive score (`reference="lowest"`, the default) or its
highest (`"highest"`). With one positive per query (SciFact, MS MARCO) they agree. With many
graded positives (NFCorpus: ~40 per query, most of them weakly relevant) the lowest positive
often scores below most mined candidates, and the lowest-positive rule drops nearly every
negative; compare against the highest positive there.

The fraction rule only makes sense for scores on a positive scale (cosine similarity of
normalised embeddings, probabilities): for a negative p, fraction * p is above p and the rule
flips meaning. It therefore refuses a query whose reference score is <= 0; use the margin rule
for raw logits. With both rules set, either flags a negative.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from rankdistill.core.errors import UserError

Action = Literal["drop", "relabel"]
Decision = Literal["keep", "drop", "relabel"]
Reference = Literal["lowest", "highest"]
ACTIONS = ("drop", "relabel")
REFERENCES = ("lowest", "highest")


@dataclass
class FalseNegativeControl:
    decisions: list[Decision]  # one per negative, in input order
    counts: dict[str, int]  # kept, suspected, dropped, relabelled


def check_rules(fraction: float | None, action: str, reference: str = "lowest") -> None:
    """A UserError for settings no query could use (checked before any teacher time is spent)."""
    if action not in ACTIONS:
        raise UserError(
            f"unknown false-negative action {action!r}: expected one of {', '.join(ACTIONS)}"
        )
    if reference not in REFERENCES:
        raise UserError(
            f"unknown false-negative reference {reference!r}: expected one of {', '.join(REFERENCES)}"
        )
    if fraction is not None and not fraction > 0:
        raise UserError(f"false-negative fraction must be > 0, got {fraction}")


def control_false_negatives(
    pos_scores: np.ndarray,
    neg_scores: np.ndarray,
    margin: float | None = None,
    fraction: float | None = None,
    action: Action = "drop",
    reference: Reference = "lowest",
) -> FalseNegativeControl:
    """Decide, per negative, "keep", or `action` for a suspected false negative. With neither
    rule set every negative is kept."""
    check_rules(fraction, action, reference)
    neg = np.asarray(neg_scores, dtype=np.float64)
    suspect = np.zeros(neg.shape, dtype=bool)
    if margin is not None or fraction is not None:
        pos = np.asarray(pos_scores, dtype=np.float64)
        if pos.size == 0:
            raise ValueError("false-negative control needs at least one positive score")
        bar = float(pos.min() if reference == "lowest" else pos.max())
        if margin is not None:
            suspect |= neg >= bar - margin
        if fraction is not None:
            if bar <= 0:
                raise UserError(
                    f"the false-negative fraction rule needs positive teacher scores, but the {reference} positive scored {bar:g}: "
                    "use the margin rule for logits or unnormalised scores"
                )
            suspect |= neg >= fraction * bar
    decisions: list[Decision] = [action if flagged else "keep" for flagged in suspect.tolist()]
    flagged = int(suspect.sum())
    counts = {
        "kept": len(decisions) - flagged,
        "suspected": flagged,
        "dropped": flagged if action == "drop" else 0,
        "relabelled": flagged if action == "relabel" else 0,
    }
    return FalseNegativeControl(decisions, counts)
