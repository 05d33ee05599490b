"""How far a query-side student's query encoder moved on texts that read like documents: the mean
cosine between its query-route vectors and the starting model's, both cut at the same max length,
over a fixed sample of a corpus's documents (the sample `student.anchor` uses).

    RANKDISTILL_DATA=../shared/data python evaluation/query_drift.py runs/NAME/stages/train/student arguana [--texts 600] [--max-length 64]
"""

from __future__ import annotations

import argparse

import numpy as np
from sentence_transformers import SentenceTransformer

from rankdistill.encoders.models import resolve_model
from rankdistill.training.query_side import anchor_texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("student")
    parser.add_argument("dataset")
    parser.add_argument("--starting", default="all-MiniLM-L6-v2")
    parser.add_argument("--texts", type=int, default=600)
    parser.add_argument("--max-length", type=int, default=64)
    args = parser.parse_args()
    texts = anchor_texts(args.dataset, None, args.texts)
    starting = SentenceTransformer(resolve_model(args.starting), device="cpu")
    starting.max_seq_length = args.max_length
    student = SentenceTransformer(args.student, device="cpu")
    student[0].sub_modules["query"][0].max_seq_length = args.max_length
    before = starting.encode(texts, normalize_embeddings=True)
    after = student.encode_query(texts, normalize_embeddings=True)
    print(
        f"{args.dataset}: mean cosine {float(np.mean(np.sum(before * after, axis=1))):.4f} over {len(texts)} documents at max length {args.max_length}"
    )


if __name__ == "__main__":
    main()
