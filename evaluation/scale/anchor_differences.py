"""Why the two miners' negatives differ for some queries (evaluation/scale/anchors.py): for every
query whose negatives differ between rankdistill and mine_hard_negatives, the score gap between a
negative only one side kept and one only the other kept, and how many of rankdistill's extra
negatives repeat a text already in the list or the positive's (mine_hard_negatives deduplicates
the corpus by text; rankdistill keeps documents by id).

    python evaluation/scale/anchor_differences.py 1000000 [--root /work/scale_data]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from sentence_transformers import SentenceTransformer

from rankdistill.data import open_dataset


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("size", type=int)
    parser.add_argument("--root", type=Path, default=Path("/work/scale_data"))
    args = parser.parse_args()
    work = args.root / f"anchors-{args.size}"
    ours = json.loads((work / "mine_rankdistill.json").read_text())
    theirs = json.loads((work / "mine_st.json").read_text())
    data = open_dataset(args.root / f"synthetic-{args.size}", "test")
    model = SentenceTransformer(str(args.root / "static-minilm"), device="cpu")
    gaps, repeated, extra = [], 0, 0
    for query in ours:
        if query not in theirs or set(ours[query]) == set(theirs[query]):
            continue
        docs = sorted(set(ours[query]) | set(theirs[query]))
        vector = model.encode([data.queries[query]], normalize_embeddings=True)[0]
        scores = dict(
            zip(
                docs,
                model.encode([data.doc_text(d) for d in docs], normalize_embeddings=True) @ vector,
            )
        )
        only_ours, only_theirs = (
            set(ours[query]) - set(theirs[query]),
            set(theirs[query]) - set(ours[query]),
        )
        gaps.append(max(abs(scores[a] - scores[b]) for a in only_ours for b in only_theirs))
        kept = [data.doc_text(d) for d in ours[query]]
        positives = {data.doc_text(d) for d in data.qrels.get(query, {})}
        for doc in only_ours:
            extra += 1
            repeated += data.doc_text(doc) in positives or kept.count(data.doc_text(doc)) > 1
    print(f"{len(gaps)} queries differ; score gap between the sides' own negatives: max "
          f"{max(gaps, default=0):.4f}, median {float(np.median(gaps)) if gaps else 0:.4f}; "
          f"{repeated} of {extra} negatives only rankdistill kept repeat the positive's text or "
          "another kept negative's")  # fmt: skip


if __name__ == "__main__":
    main()
