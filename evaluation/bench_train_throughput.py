"""Training throughput: rankdistill's training step vs a plain sentence-transformers MarginMSELoss run.

Same rows (one SciFact training set, read by rankdistill's data builder), same model
(all-MiniLM-L6-v2, max_seq_length 128), same batch size, optimiser settings and seed, in one
process. The plain run is `SentenceTransformerTrainer` + `MarginMSELoss` built by hand; ours is
`rankdistill.training.train` (our dataset, loss modules, student and trainer setup) with
`margin_mse`, and for reference `listwise_kl + 0.1 infonce`. Every run trains `--warmup` steps
untimed, then times `--steps` steps (from the end of the last warm-up step to the end of the last
step, by a trainer callback). The paths alternate over `--rounds` rounds so machine noise hits
all of them. Prints examples/s (rows: a query with its positive and n negatives) and the ratio
against the plain run (goal: margin_mse >= 0.9).

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_train_throughput.py \
        --training-set runs/mine/scifact-bm25.jsonl
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch
from transformers import TrainerCallback

from rankdistill.encoders.models import resolve_model
from rankdistill.training.config import (
    DataConfig,
    DevConfig,
    StudentConfig,
    TrainConfig,
    TrainerConfig,
)
from rankdistill.training.train import prepare_data, train


class StepTimer(TrainerCallback):
    """Seconds from the end of step `warmup` to the end of the last step."""

    def __init__(self, warmup: int):
        self.warmup, self.start, self.end = warmup, None, None

    def on_step_end(self, args, state, control, **kwargs):
        now = time.perf_counter()
        if state.global_step == self.warmup:
            self.start = now
        self.end = now

    def seconds(self) -> float:
        return self.end - self.start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--training-set", required=True)
    parser.add_argument("--dataset", default="scifact")
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--max-length", type=int, default=128)
    parser.add_argument("--negatives", type=int, default=4)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--steps", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    total = args.warmup + args.steps
    scratch = Path(tempfile.mkdtemp(prefix="bench-train-"))

    def config(name: str, loss) -> TrainConfig:
        return TrainConfig(
            name=name,
            seed=13,
            output_dir=str(scratch),
            data=DataConfig(
                dataset=args.dataset, training_set=args.training_set, negatives=args.negatives
            ),
            student=StudentConfig(kind="dense", model=args.model, max_length=args.max_length),
            loss=loss,
            trainer=TrainerConfig(
                max_steps=total,
                batch_size=args.batch_size,
                learning_rate=2e-5,
                warmup_ratio=0.1,
                save_steps=10 * total,
                logging_steps=10 * total,
                device="cpu",
            ),
            dev=DevConfig(queries=0),
        )

    rows, counts, _ = prepare_data(config("rows", "margin_mse"))

    def plain(round_no: int) -> float:
        from datasets import Dataset
        from sentence_transformers import (
            SentenceTransformer,
            SentenceTransformerTrainer,
            SentenceTransformerTrainingArguments,
        )
        from sentence_transformers.sentence_transformer.losses import MarginMSELoss
        from transformers import set_seed

        set_seed(13)
        model = SentenceTransformer(resolve_model(args.model), device="cpu")
        model.max_seq_length = args.max_length
        timer = StepTimer(args.warmup)
        arguments = SentenceTransformerTrainingArguments(
            output_dir=str(scratch / f"plain-{round_no}"),
            max_steps=total,
            per_device_train_batch_size=args.batch_size,
            learning_rate=2e-5,
            warmup_steps=0.1,
            weight_decay=0.01,
            seed=13,
            data_seed=13,
            save_strategy="no",
            logging_steps=10 * total,
            report_to="none",
            use_cpu=True,
        )
        trainer = SentenceTransformerTrainer(
            model=model,
            args=arguments,
            train_dataset=Dataset.from_list(rows),
            loss=MarginMSELoss(model),
            callbacks=[timer],
        )
        trainer.train()
        return timer.seconds()

    def ours(loss, tag: str):
        def run(round_no: int) -> float:
            timer = StepTimer(args.warmup)
            train(config(f"{tag}-{round_no}", loss), callbacks=[timer])
            return timer.seconds()

        return run

    paths = {
        "plain ST MarginMSELoss": plain,
        "ours margin_mse": ours("margin_mse", "mmse"),
        "ours listwise_kl + 0.1 infonce": ours(
            {"listwise_kl": {"scale": 20}, "infonce": 0.1}, "kl"
        ),
    }
    timings: dict[str, list[float]] = {name: [] for name in paths}
    for round_no in range(args.rounds):
        names = list(paths) if round_no % 2 == 0 else list(reversed(paths))
        for name in names:
            timings[name].append(paths[name](round_no))

    rate = {
        name: args.steps * args.batch_size / statistics.median(values)
        for name, values in timings.items()
    }
    anchor = rate["plain ST MarginMSELoss"]
    print(
        f"model {args.model}, max_seq_length {args.max_length}, {counts['rows']} rows of 1 positive + "
        f"{args.negatives} negatives from {args.training_set}, batch {args.batch_size}, {args.warmup} warm-up + "
        f"{args.steps} timed steps per run, {args.rounds} rounds, torch threads {torch.get_num_threads()}"
    )
    print("| path | examples/s (median) | timed seconds per round | ratio vs plain |")
    print("|---|---|---|---|")
    for name, values in timings.items():
        print(
            f"| {name} | {rate[name]:.2f} | {', '.join(f'{v:.1f}' for v in values)} | {rate[name] / anchor:.3f} |"
        )


if __name__ == "__main__":
    main()
