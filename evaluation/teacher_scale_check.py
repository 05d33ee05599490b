"""Item 9 of the label-free issue, as a new user wrote it through the Python API: a bi-encoder
teacher (raw cosines), BM25 candidates with n_top=4, listwise KL at scale 20, one epoch of full
fine-tuning of all-MiniLM-L6-v2 on SciFact train; evaluated on SciFact test beside the zero-shot
model. Run with the default (a cosine teacher put on the student's scale) and with
`--teacher-scale 1` (what the user got before: the teacher's cosines as they are).

    RANKDISTILL_DATA=../shared/data python evaluation/teacher_scale_check.py runs/teacher-scale auto
    RANKDISTILL_DATA=../shared/data python evaluation/teacher_scale_check.py runs/teacher-scale 1

Per-query metrics: OUT/<auto|1>/scifact/<retriever>/metrics.json."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import rankdistill as rd
from rankdistill.evaluation import evaluate_retriever, save_evaluation


def main(out: str, scale: str) -> None:
    logging.basicConfig(level=logging.WARNING)
    root = Path(out)
    training_set = root / "train.jsonl"
    if not training_set.is_file():
        dataset = rd.open_dataset("scifact", "train")
        teacher = rd.build_teacher("bi-encoder:all-MiniLM-L6-v2")
        records, counts = rd.mine(dataset, ["bm25"], teacher, root / "store", n_top=4, n_random=0)
        rd.write_training_set(
            training_set, records, {"config": {"dataset": "scifact"}, "counts": counts}
        )
    config = rd.TrainConfig(
        name=f"student-{scale}",
        output_dir=str(root),
        seed=13,
        data=rd.DataConfig(
            dataset="scifact",
            split="train",
            training_set=str(training_set),
            negatives=4,
            teacher_scale=None if scale == "auto" else float(scale),
        ),
        student=rd.StudentConfig(model="all-MiniLM-L6-v2"),
        loss={"listwise_kl": {"scale": 20}},
        trainer=rd.TrainerConfig(epochs=1, batch_size=16),
        dev=rd.DevConfig(queries=0),
    )
    student = root / f"student-{scale}" / "student"
    if not (student / "rankdistill_train.json").is_file():
        rd.train_student(config)
    test = rd.open_dataset("scifact", "test")
    for spec in ("dense:all-MiniLM-L6-v2", f"dense:{student}"):
        evaluation = evaluate_retriever(test, spec, 100)
        save_evaluation(evaluation, root / scale, {"split": "test", "k": 100})
        print(f"{spec}: nDCG@10 {evaluation.result.aggregate['nDCG@10']:.4f}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "auto")
