"""Distil a local cross-encoder into all-MiniLM-L6-v2 on your own BEIR folder.

Mine BM25 and zero-shot dense candidates for the training queries, have the cross-encoder score them once (into a
score store: a rerun scores nothing again), train the student with listwise KL + 0.1 InfoNCE,
then compare BM25, the zero-shot student and the distilled student on the test split.

    python examples/distil_cross_encoder.py --data my-beir-folder --teacher my-cross-encoder
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rankdistill as rd


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", default="data/sample", help="BEIR folder with qrels/train.tsv and qrels/test.tsv"
    )
    parser.add_argument("--teacher", required=True, help="cross-encoder folder (one output label)")
    parser.add_argument("--student", default="all-MiniLM-L6-v2")
    parser.add_argument("--output", default="runs/example-distil")
    parser.add_argument("--epochs", type=float, default=1.0)
    args = parser.parse_args(argv)
    output = Path(args.output)

    train = rd.open_dataset(args.data, "train")
    teacher = rd.build_teacher(f"cross-encoder:{args.teacher}")
    # candidates from BM25 and from the student's own zero-shot ranking: the hard negatives of both
    records, counts = rd.mine(
        train, ["bm25", f"dense:{args.student}"], teacher, output / "store", n_top=4, n_random=4
    )
    print(f"mined {len(records)} teacher-scored lists: {counts}")
    training_set = rd.write_training_set(
        output / "train.jsonl", records, {"teacher": teacher.fingerprint}
    )

    config = rd.TrainConfig(
        name="student",
        output_dir=str(output),
        data=rd.DataConfig(dataset=args.data, training_set=str(training_set), negatives=8),
        student=rd.StudentConfig(model=args.student),
        loss={"listwise_kl": {"temperature": 1.0, "scale": 20}, "infonce": {"weight": 0.1}},
        trainer=rd.TrainerConfig(epochs=args.epochs, batch_size=8),
        dev=rd.DevConfig(queries=0),
    )
    student = rd.train_student(config).student

    test = rd.open_dataset(args.data, "test")
    scores = {}
    for name, system in (
        ("bm25", "bm25"),
        ("zero-shot", f"dense:{args.student}"),
        ("student", f"dense:{student}"),
    ):
        scores[name] = rd.evaluate(test, system).result.aggregate["nDCG@10"]
        print(f"{name:10s} nDCG@10 {scores[name]:.4f}")
    return scores


if __name__ == "__main__":
    main()
