"""Distillation training end to end on tiny real students: plain saved folders, the dev split,
kill -9 and resume, and the errors a bad config gives."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from rankdistill.core.errors import UserError
from rankdistill.data import load_dataset
from rankdistill.mining.records import Negative, Positive, TrainingRecord, write_training_set
from rankdistill.training.data import build_rows, carve_dev_ids, dev_from_records, load_records
from tests.conftest import TINY_CORPUS, TINY_QRELS, write_beir

REPO = Path(__file__).resolve().parents[1]


def train_from(config: Path):
    """What `rankdistill train --config` runs, through the API."""
    import rankdistill as rd
    from rankdistill.training import load_train_config

    return rd.train_student(load_train_config(config), source=str(config))


def tiny_training_set(folder: Path, negatives: int = 4) -> tuple[Path, Path]:
    """A BEIR folder with a train split and a training set in `rankdistill mine`'s format: every
    judged query, its positives, and `negatives` other documents scored by a made-up teacher."""
    beir = write_beir(folder / "tiny", split="train")
    dataset = load_dataset(beir, "train")
    records = []
    for query_id, judged in TINY_QRELS.items():
        positives = [Positive(d, 6.0 + i) for i, d in enumerate(judged)]
        others = [d for d in TINY_CORPUS if d not in judged][:negatives]
        records.append(
            TrainingRecord(
                query_id,
                dataset.queries[query_id],
                positives,
                [Negative(d, 4.0 - i, "top", 1.0, {"bm25": i + 1}) for i, d in enumerate(others)],
                "test",
            )
        )
    path = write_training_set(
        folder / "train.jsonl", records, {"config": {"dataset": "tiny", "split": "train"}}
    )
    return beir, path


def write_config(
    folder: Path,
    beir: Path,
    training_set: Path,
    model: str,
    kind: str = "dense",
    name: str = "run",
    **sections: str,
) -> Path:
    parts = {
        "data": f"  dataset: {beir}\n  training_set: {training_set}\n  negatives: 3",
        "student": f"  kind: {kind}\n  model: {model}\n  max_length: 32",
        "loss": "  listwise_kl: {scale: 20}\n  infonce: 0.1",
        "trainer": "  max_steps: 4\n  batch_size: 2\n  learning_rate: 1.0e-4\n  save_steps: 2\n  logging_steps: 2\n  device: cpu",
        "dev": "  queries: 1\n  eval_steps: 2",
        **sections,
    }
    text = f"name: {name}\noutput_dir: {folder / 'runs'}\n" + "".join(
        f"{key}:\n{body}\n" for key, body in parts.items()
    )
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "rankdistill.cli", *args], capture_output=True, text=True, cwd=REPO
    )


def test_rows_are_deterministic_one_per_positive_and_skip_short_lists(tmp_path: Path) -> None:
    beir, path = tiny_training_set(tmp_path, negatives=4)
    dataset = load_dataset(beir, "train")
    records = load_records(path, dataset)
    rows = build_rows(records, dataset, negatives=3, seed=13)
    assert rows.counts == {
        "records": 4,
        "held_out_for_dev": 0,
        "skipped_few_negatives": 0,
        "skipped_no_positive": 0,
        "rows": 6,
    }
    assert list(rows.rows[0]) == [
        "query",
        "positive",
        "negative_1",
        "negative_2",
        "negative_3",
        "label",
    ]
    q2 = [r for r in rows.rows if r["query"] == dataset.queries["q2"]]
    assert [r["label"][0] for r in q2] == [6.0, 7.0] and q2[0]["label"][1:] == q2[1]["label"][1:]
    assert build_rows(records, dataset, 3, seed=13).rows == rows.rows
    assert (
        build_rows(records, dataset, 3, seed=14).rows != rows.rows
    )  # another seed samples other negatives
    assert build_rows(records, dataset, 4, 13).counts["rows"] == 6
    short = build_rows(records, dataset, 3, 13, exclude={"q1"})
    assert short.counts["held_out_for_dev"] == 1 and short.counts["rows"] == 5
    # data.positives: a query's rows come from its top-scored positives only
    capped = build_rows(records, dataset, 3, 13, positives=1)
    assert capped.counts["rows"] == 4
    assert [r["label"][0] for r in capped.rows if r["query"] == dataset.queries["q2"]] == [
        7.0
    ]  # 7.0 beats 6.0


def test_short_lists_are_skipped_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import dataclasses

    beir, path = tiny_training_set(tmp_path, negatives=4)
    dataset = load_dataset(beir, "train")
    records = load_records(path, dataset)
    records[0] = dataclasses.replace(records[0], negatives=records[0].negatives[:2])
    with caplog.at_level("WARNING", logger="rankdistill.training.data"):
        rows = build_rows(records, dataset, negatives=3, seed=13)
    assert rows.counts["skipped_few_negatives"] == 1 and records[0].query not in {
        r["query"] for r in rows.rows
    }
    assert "1 of 4 training queries have fewer than 3 negatives" in caplog.text


def test_dev_split_is_carved_by_a_fixed_hash_and_judged_by_the_qrels(tmp_path: Path) -> None:
    beir, path = tiny_training_set(tmp_path)
    dataset = load_dataset(beir, "train")
    records = load_records(path, dataset)
    ids = carve_dev_ids([r.query_id for r in records], 2)
    assert ids == carve_dev_ids([r.query_id for r in reversed(records)], 2) and len(set(ids)) == 2
    dev = dev_from_records(records, dataset, ids, corpus="candidates", distractors=1, seed=13)
    assert set(dev.queries) == set(ids)
    for q in ids:
        assert dev.relevant[q] == set(TINY_QRELS[q])
    mined = {
        d
        for r in records
        if r.query_id in ids
        for d in [*(p.doc_id for p in r.positives), *(n.doc_id for n in r.negatives)]
    }
    assert mined < set(dev.corpus) and len(dev.corpus) == len(mined) + 1


def test_dense_student_trains_into_a_plain_folder_with_matryoshka_dev_metrics(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    from sentence_transformers import SentenceTransformer

    beir, training_set = tiny_training_set(tmp_path)
    config = write_config(
        tmp_path,
        beir,
        training_set,
        tiny_dense_model,
        student=f"  model: {tiny_dense_model}\n  max_length: 32\n  matryoshka_dims: [128, 32]",
    )
    assert train_from(config).student is not None
    folder = tmp_path / "runs" / "run" / "student"
    assert not (tmp_path / "runs" / "run" / "checkpoints").exists()
    record = json.loads((folder / "rankdistill_train.json").read_text())
    assert record["global_step"] == 4 and record["seed"] == 13 and record["resumed_from"] is None
    assert (
        record["data"]["held_out_for_dev"] == 1 and record["dev"]["source"] == "carved from train"
    )
    assert record["dev"]["query_ids"] == carve_dev_ids(list(TINY_QRELS), 1)
    assert {"dev_dim128_cosine_ndcg@10", "dev_dim32_cosine_ndcg@10"} <= set(
        record["dev"]["metrics"]
    )
    assert record["provenance"]["versions"]["sentence-transformers"]
    model = SentenceTransformer(str(folder), device="cpu")  # plain ST folder: no rankdistill needed
    assert model.encode(["a query"]).shape == (1, 128)
    with pytest.raises(
        UserError, match="a trained student is already there"
    ):  # never overwrites a finished student
        train_from(config)


def test_sparse_student_trains_with_flops_and_reports_nonzeros(
    tmp_path: Path, splade_tiny: str
) -> None:
    from sentence_transformers.sparse_encoder import SparseEncoder

    beir, training_set = tiny_training_set(tmp_path)
    trainer = "  max_steps: 2\n  batch_size: 2\n  save_steps: 2\n  logging_steps: 1\n  device: cpu"
    config = write_config(
        tmp_path,
        beir,
        training_set,
        splade_tiny,
        kind="sparse",
        loss="  margin_mse: {}",
        trainer=trainer,
        dev="  queries: 1\n  eval_steps: 100",
    )
    assert train_from(config).student is not None
    folder = tmp_path / "runs" / "run" / "student"
    record = json.loads((folder / "rankdistill_train.json").read_text())
    nonzeros = record["average_nonzeros"]
    assert (
        0 < nonzeros["query_active_dims"] < 30522 and 0 < nonzeros["document_active_dims"] < 30522
    )
    assert (
        "dev_dot_ndcg@10" in record["dev"]["metrics"]
        and "dev_corpus_active_dims" in record["dev"]["metrics"]
    )
    model = SparseEncoder(str(folder), device="cpu")
    assert model.encode_query(["a query"], convert_to_tensor=True).shape[-1] == 30522


def test_killed_training_resumes_from_its_last_checkpoint(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    beir, training_set = tiny_training_set(tmp_path)
    trainer = "  max_steps: 8\n  batch_size: 2\n  save_steps: 2\n  save_total_limit: 1\n  logging_steps: 10\n  device: cpu"
    config = write_config(
        tmp_path, beir, training_set, tiny_dense_model, trainer=trainer, dev="  queries: 0"
    )
    checkpoints = tmp_path / "runs" / "run" / "checkpoints"
    process = subprocess.Popen(
        [sys.executable, "-m", "rankdistill.cli", "train", "--config", str(config)],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while not list(checkpoints.glob("checkpoint-*/trainer_state.json")):
        assert process.poll() is None, "training ended before its first checkpoint"
        assert time.monotonic() < deadline, "no checkpoint within 120 s"
        time.sleep(0.02)
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    assert not (tmp_path / "runs" / "run" / "student").exists(), (
        "killed before the end: no student yet"
    )

    result = run_cli("train", "--config", str(config))
    assert result.returncode == 0, result.stderr[-2000:]
    assert "resuming from" in result.stdout
    record = json.loads(
        (tmp_path / "runs" / "run" / "student" / "rankdistill_train.json").read_text()
    )
    assert (
        record["resumed_from"].startswith("checkpoint-")
        and int(record["resumed_from"].split("-")[1]) > 0
    )
    assert record["global_step"] == 8


@pytest.mark.parametrize(
    "edit, message",
    [
        (
            {"loss": "  listwise_kll: {}"},
            r":12: field 'loss.listwise_kll': unknown loss 'listwise_kll' \(known: cprd, hidden_mse, infonce",
        ),
        (
            {"loss": "  listwise_kl: {temprature: 2}"},
            r"field 'loss.listwise_kl': loss 'listwise_kl': unknown parameter 'temprature'",
        ),
        ({"student": "  kind: dense\n  modell: x"}, r"field 'student.modell': unknown key"),
        ({"data": "  dataset: DATASET\n  negatives: 3"}, r"field 'data.training_set': missing"),
        ({"dev": "  split: test"}, r"field 'dev.split': the test split is never used"),
        (
            {"data": "  dataset: DATASET\n  training_set: TRAINING_SET\n  negatives: 7"},
            r"no training rows: 3 of 4 records have fewer than 7 negatives .*, 1 held out for dev",
        ),
    ],
)
def test_bad_configs_exit_2_with_a_clear_message(tmp_path: Path, edit: dict, message: str) -> None:
    beir, training_set = tiny_training_set(tmp_path)
    edit = {
        k: v.replace("DATASET", str(beir)).replace("TRAINING_SET", str(training_set))
        for k, v in edit.items()
    }
    config = write_config(tmp_path, beir, training_set, "all-MiniLM-L6-v2", **edit)
    with pytest.raises(UserError) as error:  # what `rankdistill train` prints, exiting 2
        train_from(config)
    stderr = str(error.value)
    assert re.search(message, stderr), stderr


def test_training_set_without_teacher_scores_exits_2_without_a_traceback(tmp_path: Path) -> None:
    beir, training_set = tiny_training_set(tmp_path)
    lines = training_set.read_text().splitlines()
    record = json.loads(lines[1])
    del record["negatives"][0]["score"]
    lines[1] = json.dumps(record)
    training_set.write_text("\n".join(lines) + "\n")
    result = run_cli(
        "train", "--config", str(write_config(tmp_path, beir, training_set, "all-MiniLM-L6-v2"))
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert f"{training_set}:2: field 'negatives[0].score': missing" in result.stderr


def test_shipped_training_configs_load() -> None:
    from rankdistill.training import load_train_config

    configs = sorted((REPO / "configs").glob("train-*.yaml"))
    assert configs
    for path in configs:
        config = load_train_config(path)
        assert config.data.training_set and config.loss


@pytest.mark.parametrize("fault", ["weights cut short", "weights garbage", "state garbage"])
def test_resume_skips_a_damaged_checkpoint_for_the_one_before(
    tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np
    from safetensors.numpy import save_file

    from rankdistill.training.train import latest_checkpoint

    for step in (2, 4):
        folder = tmp_path / f"checkpoint-{step}"
        folder.mkdir()
        (folder / "trainer_state.json").write_text(json.dumps({"global_step": step}))
        save_file({"w": np.ones((64, 64), dtype=np.float32)}, str(folder / "model.safetensors"))
    assert latest_checkpoint(tmp_path).name == "checkpoint-4"
    newest = tmp_path / "checkpoint-4"
    weights = newest / "model.safetensors"
    if fault == "weights cut short":
        weights.write_bytes(weights.read_bytes()[:5000])
    elif fault == "weights garbage":
        weights.write_bytes(b"\xff" * 100)
    else:
        (newest / "trainer_state.json").write_text("{cut")
    assert latest_checkpoint(tmp_path).name == "checkpoint-2"
    assert f"{newest}: " in caplog.text and "earlier checkpoint" in caplog.text
