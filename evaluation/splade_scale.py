"""Why the first SPLADE student collapsed, and how sparse the students are
(evaluation/studies/08-loss_experiments.md).

Prints (1) the spread of SPLADE-tiny's zero-shot dot-product margins s(q, d+) - s(q, d-) on the
first 12 rows of a run's training set next to the teacher's margins on the same rows, and
(2) average non-zeros of SPLADE-tiny zero-shot and of a trained student on the run's dev queries
and documents (the same 30 queries / 100 documents `rankdistill train` reports), max length 128.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/splade_scale.py runs/scifact-splade
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from pathlib import Path

import numpy as np
import torch
from sentence_transformers import SparseEncoder

from rankdistill.data import open_dataset
from rankdistill.encoders.models import resolve_model
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.training.dev import average_nonzeros
from rankdistill.training.train import prepare_data


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run", help="a finished `rankdistill run` folder with a SPLADE student")
    parser.add_argument("--config", default="configs/studies/losses/scifact-splade.yaml")
    parser.add_argument("--rows", type=int, default=12)
    args = parser.parse_args()
    torch.manual_seed(13)
    run = Path(args.run)
    training_set = run / "stages" / "mine" / "train.jsonl"
    config = load_pipeline_config(args.config)
    dataset = open_dataset(config.dataset, config.mine.split, config.data_root)
    zero_shot = SparseEncoder(resolve_model(config.train.student.model), device="cpu")
    zero_shot.max_seq_length = config.train.student.max_length

    student_margins, teacher_margins = [], []
    for line in training_set.read_text().splitlines()[: args.rows]:
        record = json.loads(line)
        docs = [record["positives"][0]["doc_id"], *(n["doc_id"] for n in record["negatives"])]
        q = zero_shot.encode_query([record["query"]], convert_to_tensor=True).to_dense()
        d = zero_shot.encode_document(
            [dataset.doc_text(x) for x in docs], convert_to_tensor=True
        ).to_dense()
        s = (q @ d.T).squeeze(0).numpy()
        t = np.array([record["positives"][0]["score"], *(n["score"] for n in record["negatives"])])
        student_margins += list(s[0] - s[1:])
        teacher_margins += list(t[0] - t[1:])
    print(
        f"margins on {args.rows} training rows ({len(student_margins)} pairs): SPLADE-tiny zero-shot mean {np.mean(student_margins):.2f} "
        f"std {np.std(student_margins):.2f}; teacher mean {np.mean(teacher_margins):.2f} std {np.std(teacher_margins):.2f}"
    )

    train = dataclasses.replace(
        config.train, data=dataclasses.replace(config.train.data, training_set=str(training_set))
    )
    _, _, dev = prepare_data(train)
    queries, documents = list(dev.queries.values())[:100], list(dev.corpus.values())[:100]
    student = SparseEncoder(str(run / "stages" / "train" / "student"), device="cpu")
    student.max_seq_length = config.train.student.max_length
    for name, model in (("SPLADE-tiny zero-shot", zero_shot), ("student", student)):
        print(name, average_nonzeros(model, queries, documents))


if __name__ == "__main__":
    main()
