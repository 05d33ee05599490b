"""What a teacher's labels say on the training rows, before a student sees them (issue 15's
"why does the stronger teacher give a weaker student?").

Read on a training set mined WITHOUT false-negative control (`fn_margin: null`), so each record
holds the judged positive(s) and the teacher's hardest candidates as the teacher scored them.
For each record, with p = softmax(scores / temperature) over [positives..., negatives...] (the
distribution listwise KL distils):

- entropy / log(n): 0 when the teacher puts all mass on one document, 1 when its list is flat;
- p(positive): the mass on the judged positive(s): near 1 means the labels are near one-hot,
  i.e. the teacher mostly repeats the judgements the student already has;
- top-1 agrees: the judged positive scores above every candidate;
- positive rank: 1 + the number of candidates scored above the best positive;
- margin: best positive score minus best negative score (in teacher units);
- std: the spread of the list's scores.
Each is the mean (rank: also median) over records.
"""

from __future__ import annotations

import math

import numpy as np

from rankdistill.mining.records import TrainingRecord


def record_statistics(record: TrainingRecord, temperature: float = 1.0) -> dict[str, float]:
    positives = np.array([p.score for p in record.positives], dtype=np.float64)
    negatives = np.array([n.score for n in record.negatives], dtype=np.float64)
    scores = np.concatenate([positives, negatives]) / temperature
    p = np.exp(scores - scores.max())
    p /= p.sum()
    entropy = float(-(p * np.log(np.clip(p, 1e-300, None))).sum())
    best = positives.max()
    return {
        "entropy": entropy / math.log(len(scores)) if len(scores) > 1 else 0.0,
        "p_positive": float(p[: len(positives)].sum()),
        "top1_agrees": float(best > negatives.max()) if len(negatives) else 1.0,
        "positive_rank": float(1 + (negatives > best).sum()),
        "margin": float(best - negatives.max()) if len(negatives) else math.nan,
        "std": float(np.concatenate([positives, negatives]).std()),
    }


def label_statistics(records: list[TrainingRecord], temperature: float = 1.0) -> dict[str, float]:
    """Means over `records` (with at least one positive and one negative) of `record_statistics`,
    the median positive rank, and the count."""
    rows = [record_statistics(r, temperature) for r in records if r.positives and r.negatives]
    if not rows:
        return {"records": 0}
    summary = {key: float(np.mean([row[key] for row in rows])) for key in rows[0]}
    summary["median_positive_rank"] = float(np.median([row["positive_rank"] for row in rows]))
    summary["records"] = len(rows)
    return summary
