"""Write a query log that is a dataset's own unjudged queries (those `mine.queries: unlabeled`
reads: every query of queries.jsonl but the evaluated split's) plus span pseudo-queries of a
seeded sample of its documents (`rankdistill/mining/generators/span.py`), as JSONL `_id`/`text`
for `mine.queries: file:PATH`. No qrels file is opened.

    python evaluation/augmented_query_log.py scifact test 2000 13 runs/logs/scifact-span-2000.jsonl
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

from rankdistill.data.open import open_corpus
from rankdistill.data.query_sources import evaluated_queries, open_unlabeled
from rankdistill.mining.generators import build_generator


def main(dataset: str, evaluated_split: str, documents: int, seed: int, output: str) -> None:
    log = open_unlabeled(dataset, exclude=evaluated_queries(dataset, evaluated_split)).queries
    corpus, _ = open_corpus(dataset)
    chosen = sorted(random.Random(seed).sample(sorted(corpus), min(documents, len(corpus))))
    generator = build_generator("span", corpus)
    spans = generator.generate([(doc_id, corpus[doc_id]) for doc_id in chosen], seed)
    rows = [{"_id": q, "text": text} for q, text in log.items()]
    rows += [
        {"_id": f"span-{doc_id}", "text": texts[0]}
        for doc_id, texts in zip(chosen, spans, strict=True)
        if texts
    ]
    Path(output).parent.mkdir(parents=True, exist_ok=True)
    with open(output, "w", encoding="utf-8") as handle:
        handle.writelines(json.dumps(row) + "\n" for row in rows)
    print(f"{output}: {len(log)} log queries + {len(rows) - len(log)} span pseudo-queries")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
