"""Queries without judgements (`mine.queries: unlabeled | file:PATH`): no qrels file of the training
queries is ever read, the teacher picks positives from the union of the first stages, a dev set
judged by the teacher chooses the epoch, and train/test contamination is counted."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rankdistill.core.errors import UserError
from rankdistill.data.contamination import find_contamination, normalise_text
from rankdistill.data.query_sources import (
    in_half,
    judged_budget,
    load_query_log,
    open_unlabeled,
    restrict_to_half,
)
from rankdistill.mining.teacher_labelled import JUDGED_MARGIN
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import run_pipeline
from tests.conftest import TINY_CORPUS, write_beir

TRAIN_QUERIES = {
    "t1": "plants turn sunlight into sugar",
    "t2": "why is there a high tide and a low tide",
    "t3": "does a vaccine prepare the immune system",
    "t4": "how is honey made by bees",
    "t5": "what happens inside a black hole",
    "t6": "how do glaciers shape mountains",
    "t7": "what does deep sleep do for memory",
    "t8": "what comes out of an erupting volcano",
}
TEST_QUERIES = {
    "q1": "how do plants make glucose from sunlight",
    "q2": "what causes ocean tides",
    "q4": "why does coffee reduce tiredness",
}
TEST_QRELS = {"q1": {"d1": 1}, "q2": {"d7": 1}, "q4": {"d5": 1}}


@pytest.fixture
def log_dataset(tmp_path: Path) -> Path:
    """Training queries with no qrels file of their own: only the test split is judged."""
    return write_beir(
        tmp_path / "logset",
        TINY_CORPUS,
        {**TRAIN_QUERIES, **TEST_QUERIES},
        TEST_QRELS,
        split="test",
    )


def label_free_config(
    folder: Path,
    beir: Path,
    model: str,
    queries: str = "unlabeled",
    name: str = "lf",
    extra: str = "",
) -> Path:
    text = f"""
name: {name}
seed: 13
output_dir: {folder / "runs"}
dataset: {beir}
teacher:
  members:
    - teacher: bm25
    - teacher: "bi-encoder:{model}"
mine: {{queries: "{queries}", retrievers: [bm25, "dense:{model}"], depth: 3, n_top: 2, n_random: 1, batch_size: 8}}
train:
  data: {{negatives: 2}}
  student: {{kind: dense, model: "{model}", max_length: 16, frozen_documents: true}}
  loss: {{teacher_nce: {{temperature: 0.5, scale: 20}}, listwise_kl: {{weight: 0.3, scale: 20}}}}
  trainer: {{epochs: 3, batch_size: 2, learning_rate: 1.0e-3, logging_steps: 1, device: cpu, select: best_dev}}
  dev: {{queries: 2, teacher_top: 2}}
index: {{spec: Flat, batch_size: 8, max_length: 48}}
rerank_depth: 5
evaluate: {{datasets: ["{beir}"], split: test, retrievers: [bm25], k: 10, batch_size: 8, max_length: 48}}
{extra}
"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("qrels_file", ["absent", "poisoned"])
def test_unlabeled_run_completes_without_reading_the_training_judgements(
    log_dataset: Path, tmp_path: Path, tiny_dense_model: str, qrels_file: str
) -> None:
    if qrels_file == "poisoned":  # any read of it would fail: not UTF-8, not three columns
        (log_dataset / "qrels" / "train.tsv").write_bytes(b"\xff\xfe garbage \x00\x01\n")
    config = load_pipeline_config(label_free_config(tmp_path, log_dataset, tiny_dense_model))
    assert config.train.data.judged is False
    outcomes = run_pipeline(config, "lf.yaml")
    run_dir = tmp_path / "runs" / "lf"
    records = [
        json.loads(line)
        for line in (run_dir / "stages" / "mine" / "train.jsonl").read_text().splitlines()
    ]
    # every query but the evaluated ones, each with the teacher's choice as its one positive
    assert {r["query_id"] for r in records} == set(TRAIN_QUERIES)
    for record in records:
        assert len(record["positives"]) == 1
        scores = [record["positives"][0]["score"]] + [
            n["score"] for n in record["negatives"] if n["how"] == "top"
        ]
        assert scores == sorted(scores, reverse=True)  # the list is the teacher's order
    student = json.loads(
        (run_dir / "stages" / "train" / "student" / "rankdistill_train.json").read_text()
    )
    assert student["dev"]["source"].endswith("judged by the teacher's top 2")
    curve = [point["ndcg@10"] for point in student["dev"]["curve"]]
    assert student["dev"]["selected"]["epoch"] == curve.index(
        max(curve)
    )  # the first best epoch, 0 included
    assert "student (Flat)" in outcomes[-1].summary["datasets"]["logset"]["systems"]


def test_a_query_log_file_is_mined_with_teacher_positives_and_no_judgements(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    from rankdistill.pipeline.cache import run_stages
    from rankdistill.pipeline.run import pipeline_stages

    beir = write_beir(tmp_path / "nojudged", TINY_CORPUS, TEST_QUERIES, TEST_QRELS, split="test")
    log = tmp_path / "log.txt"
    log.write_text(
        "how is honey made by bees\n\nwhat happens inside a black hole\nhow is honey made by bees\n"
    )
    config = load_pipeline_config(
        label_free_config(tmp_path, beir, tiny_dense_model, queries=f"file:{log}", name="log")
    )
    outcomes = run_stages(
        [s for s in pipeline_stages(config) if s.name == "mine"], config.run_dir()
    )
    records = [
        json.loads(line) for line in (outcomes[0].folder / "train.jsonl").read_text().splitlines()
    ]
    assert [r["query_id"] for r in records] == ["log-1", "log-3"]  # the repeated line is read once
    assert records[0]["positives"][0]["doc_id"] == "d6"  # the teacher's choice: the honey document


def test_query_log_formats(tmp_path: Path) -> None:
    plain = tmp_path / "plain.txt"
    plain.write_text("first query\nsecond query\n")
    assert load_query_log(plain) == {"log-1": "first query", "log-2": "second query"}
    tsv = tmp_path / "queries.tsv"
    tsv.write_text("101\tfirst query\n102\tsecond query\n")
    assert load_query_log(tsv) == {"101": "first query", "102": "second query"}
    jsonl = tmp_path / "log.jsonl"
    jsonl.write_text('{"_id": "a", "text": "first"}\n{"_id": "b", "text": "second"}\n')
    assert load_query_log(jsonl) == {"a": "first", "b": "second"}
    with pytest.raises(UserError, match="no such query log"):
        load_query_log(tmp_path / "missing.txt")


def test_unlabeled_queries_leave_out_the_evaluated_ones_and_open_no_qrels(
    log_dataset: Path,
) -> None:
    (log_dataset / "qrels" / "test.tsv").write_bytes(
        b"\xff poisoned"
    )  # not even the evaluated split's file is read here
    dataset = open_unlabeled(str(log_dataset), exclude=set(TEST_QUERIES))
    assert dataset.queries == TRAIN_QUERIES and dataset.qrels == {}
    with pytest.raises(UserError, match="query_half"):
        open_unlabeled(str(log_dataset), exclude=set(TRAIN_QUERIES) | set(TEST_QUERIES))


def test_teacher_positives_come_from_the_union_of_the_first_stages(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each retriever returns its top 1; the teacher prefers the document only the second one
    found, so the positive is that one, and every listed document is from the union."""
    from rankdistill.data.beir import BeirDataset
    from rankdistill.mining import candidates as candidates_module
    from rankdistill.mining.teacher_labelled import teacher_labelled_set

    corpus = {d: {"title": t, "text": x} for d, (t, x) in TINY_CORPUS.items()}
    dataset = BeirDataset("toy", tmp_path, "log", corpus, {"q": "bees and honey"}, {})
    hits = {"first": ["d1", "d2", "d3"], "second": ["d6", "d5", "d4"]}

    class Fixed:
        def __init__(self, spec: str) -> None:
            self.spec = spec

        def index(self, corpus: dict) -> None:
            pass

        def search(self, queries: dict, depth: int) -> dict:
            return {
                q: {d: 10.0 - i for i, d in enumerate(hits[self.spec][:depth])} for q in queries
            }

    class Teacher:
        fingerprint = "toy-teacher"

        def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
            return np.array(
                [5.0 if "honey" in d else (1.0 if "Photosynthesis" in d else 0.0) for d in docs],
                dtype=np.float32,
            )

    monkeypatch.setattr(
        candidates_module,
        "build_retriever",
        lambda spec, settings=None, engine="local": Fixed(spec),
    )
    records, counts = teacher_labelled_set(
        dataset,
        ["first", "second"],
        Teacher(),
        tmp_path / "store",
        n_top=1,
        n_random=5,
        depth=2,
    )
    only_first, _ = teacher_labelled_set(
        dataset, ["first"], Teacher(), tmp_path / "store", n_top=1, n_random=0, depth=2
    )
    (record,) = records
    assert record.positives[0].doc_id == "d6" and record.positives[0].score == 5.0
    assert (
        record.negatives[0].doc_id == "d1" and record.negatives[0].how == "top"
    )  # the teacher's second
    listed = {record.positives[0].doc_id} | {n.doc_id for n in record.negatives}
    assert listed == {"d1", "d2", "d6", "d5"}  # the union of both top 2s, nothing else
    assert counts["candidates_scored"] == 4
    assert (
        only_first[0].positives[0].doc_id == "d1"
    )  # one retriever caps what the teacher can choose

    # a label budget: the judged positive replaces the teacher's choice even where no retriever
    # found it, it is scored by the teacher and lifted above its list; other queries are untouched
    two = BeirDataset(
        "toy", tmp_path, "log", corpus, {"q": "bees and honey", "r": "bees and honey"}, {}
    )
    budget, budget_counts = teacher_labelled_set(
        two,
        ["first", "second"],
        Teacher(),
        tmp_path / "store",
        n_top=2,
        n_random=0,
        depth=2,
        judged={"q": {"d7": 1, "d1": 0}},
    )
    by_query = {r.query_id: r for r in budget}
    assert [p.doc_id for p in by_query["q"].positives] == ["d7"]
    assert (
        by_query["q"].positives[0].score == 5.0 + JUDGED_MARGIN
    )  # the list's best (honey, 5.0) + the margin
    assert [n.doc_id for n in by_query["q"].negatives] == [
        "d6",
        "d1",
    ]  # the teacher's order without the judged positive
    assert by_query["r"].positives[0].doc_id == "d6"
    assert budget_counts["judged_queries"] == 1 and budget_counts["judged_positives_lifted"] == 1


def test_a_label_budget_is_seeded_nested_and_only_judged_queries() -> None:
    qrels = {f"q{i}": {"d": 1} for i in range(50)} | {"zero": {"d": 0}}
    small, large = judged_budget(qrels, 5, seed=13), judged_budget(qrels, 20, seed=13)
    assert len(small) == 5 and small < large and "zero" not in large
    assert judged_budget(qrels, 5, seed=14) != small  # the seed chooses the queries
    assert judged_budget(qrels, 5, seed=13, among={"q1", "q2", "q3", "q4", "q5", "zero"}) == {
        "q1",
        "q2",
        "q3",
        "q4",
        "q5",
    }
    with pytest.raises(UserError, match="only 50"):
        judged_budget(qrels, 51, seed=13)


def test_a_label_budget_mines_only_its_judged_queries_or_lets_the_teacher_label_the_rest(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    from rankdistill.pipeline.cache import run_stages
    from rankdistill.pipeline.run import pipeline_stages

    judged = {
        q: {d: 1} for q, d in zip(TRAIN_QUERIES, ["d1", "d7", "d2", "d6", "d3", "d4", "d5", "d8"])
    }
    beir = write_beir(
        tmp_path / "budget",
        TINY_CORPUS,
        {**TRAIN_QUERIES, **TEST_QUERIES},
        TEST_QRELS,
        split="test",
    )
    write_beir(beir, TINY_CORPUS, {**TRAIN_QUERIES, **TEST_QUERIES}, judged, split="train")
    chosen = judged_budget(judged, 3, seed=13)

    def mined(queries: str, name: str) -> list[dict]:
        config = load_pipeline_config(
            _with_budget(
                label_free_config(tmp_path, beir, tiny_dense_model, queries=queries, name=name), 3
            )
        )
        outcome = run_stages(
            [s for s in pipeline_stages(config) if s.name == "mine"], config.run_dir()
        )[0]
        return [
            json.loads(line) for line in (outcome.folder / "train.jsonl").read_text().splitlines()
        ]

    only = mined("split", "judgements-only")
    assert {r["query_id"] for r in only} == chosen
    both = mined("unlabeled", "teacher-and-judgements")
    assert {r["query_id"] for r in both} == set(TRAIN_QUERIES)
    for record in both:
        if record["query_id"] in chosen:
            assert [p["doc_id"] for p in record["positives"]] == list(judged[record["query_id"]])
            assert record["positives"][0]["score"] > max(n["score"] for n in record["negatives"])


def _with_budget(path: Path, n: int) -> Path:
    path.write_text(
        path.read_text().replace("mine: {queries:", f"mine: {{judged_queries: {n}, queries:")
    )
    return path


def test_contamination_counts_id_and_text_matches() -> None:
    evaluation = {
        "e1": "What is BRCA1?",
        "e2": "tides and the moon",
        "shared": "an unrelated query",
    }
    training = {
        "t1": "what is  brca1",
        "shared": "another text",
        "t3": "Tides and the Moon!",
        "t4": "nothing alike",
    }
    found = find_contamination(training, evaluation, "toy/test")
    assert (found.same_id, found.same_text, found.matched) == (1, 2, 3)
    assert found.found and "3 of 4 training queries" in found.describe()
    other_dataset = find_contamination(training, evaluation, "other/test", compare_ids=False)
    assert (other_dataset.same_id, other_dataset.same_text) == (0, 2)
    assert normalise_text("  Élan,  VITAL! ") == normalise_text("élan vital")
    assert not find_contamination({"a": "x"}, {"b": "y"}, "toy/test").found


def test_strict_refuses_training_queries_that_are_evaluation_queries(
    log_dataset: Path, tmp_path: Path, tiny_dense_model: str
) -> None:
    from rankdistill.pipeline.cache import run_stages
    from rankdistill.pipeline.run import pipeline_stages

    beir = write_beir(
        tmp_path / "dup",
        TINY_CORPUS,
        {**TRAIN_QUERIES, "twin": "What causes ocean tides?", **TEST_QUERIES},
        TEST_QRELS,
    )
    config = load_pipeline_config(
        label_free_config(tmp_path, beir, tiny_dense_model, name="strict")
    )
    with pytest.raises(UserError, match="contamination.*1 of 9 training queries"):
        run_stages(
            [s for s in pipeline_stages(config, strict=True) if s.name == "mine"], config.run_dir()
        )
    outcomes = run_stages(
        [s for s in pipeline_stages(config) if s.name == "mine"], config.run_dir()
    )
    (overlap,) = outcomes[0].summary["contamination"]
    assert (overlap["same_id"], overlap["same_text"]) == (0, 1)


def test_hash_halves_split_the_queries_and_are_fixed(log_dataset: Path) -> None:
    from rankdistill.data import open_dataset

    queries = {f"q{i}": f"query {i}" for i in range(200)}
    a, b = in_half(queries, "a"), in_half(queries, "b")
    assert set(a).isdisjoint(b) and {**a, **b} == queries and 70 < len(a) < 130
    assert in_half(dict(reversed(list(queries.items()))), "a") == a  # order does not matter
    half = restrict_to_half(open_dataset(str(log_dataset), "test"), "a")
    assert set(half.qrels) == set(half.queries) <= set(TEST_QUERIES)


def test_teacher_nce_is_infonce_for_a_one_hot_teacher_and_follows_the_teacher() -> None:
    from rankdistill.losses import info_nce, teacher_nce

    torch.manual_seed(0)
    scores = torch.randn(4, 30)
    lists = torch.stack([torch.randperm(30)[:5] for _ in range(4)])
    one_hot = torch.tensor([[100.0, 0, 0, 0, 0]] * 4)
    assert teacher_nce(scores, lists, one_hot, temperature=1.0) == pytest.approx(
        float(info_nce(scores, lists[:, 0])), abs=1e-4
    )
    # gradient descent on the student moves its softmax towards the teacher's order of the list
    student = scores.clone().requires_grad_(True)
    teacher = torch.tensor([[3.0, 2.0, 1.0, 0.0, -1.0]] * 4)
    optimiser = torch.optim.SGD([student], lr=5.0)
    for _ in range(200):
        optimiser.zero_grad()
        teacher_nce(student, lists, teacher, temperature=1.0).backward()
        optimiser.step()
    listed = student.detach().gather(1, lists)
    assert torch.all(listed[:, :-1] > listed[:, 1:])
    assert torch.all(listed.min(dim=1).values > student.detach().max(dim=1).values - 6.0)


def test_dev_from_teacher_takes_the_teachers_top_documents(tmp_path: Path) -> None:
    from rankdistill.data.beir import BeirDataset
    from rankdistill.mining.records import Negative, Positive, TrainingRecord
    from rankdistill.training.data import dev_from_teacher

    corpus = {d: {"title": t, "text": x} for d, (t, x) in TINY_CORPUS.items()}
    record = TrainingRecord(
        "q",
        "query",
        [Positive("d1", 4.0)],
        [
            Negative("d2", 1.0, "top", 1.0),
            Negative("d3", 3.0, "top", 1.0),
            Negative("d4", 2.0, "random", 0.5),
        ],
        "t",
    )
    dev = dev_from_teacher(
        [record],
        BeirDataset("toy", tmp_path, "unlabeled", corpus, {}, {}),
        ["q"],
        2,
        "candidates",
        0,
        13,
    )
    assert dev.relevant == {"q": {"d1", "d3"}} and "teacher's top 2" in dev.source


def test_prior_split_partitions_the_evaluated_queries() -> None:
    from rankdistill.evaluation.prior import WITH, WITHOUT, group_means, prior_split

    qrels = {"a": {"d1": 1, "d2": 0}, "b": {"d2": 1}, "c": {"d3": 2, "d1": 1}, "d": {"d2": 0}}
    groups = prior_split({"d1", "d9"}, qrels, ["a", "b", "c", "d"])
    assert groups == {
        WITH: ["a", "c"],
        WITHOUT: ["b", "d"],
    }  # a grade-0 judgement is no relevant document
    means = group_means(
        {"a": {"nDCG@10": 1.0}, "c": {"nDCG@10": 0.5}, "b": {"nDCG@10": 0.2}}, groups, "nDCG@10"
    )
    assert means == {WITH: 0.75, WITHOUT: 0.1}


def test_a_study_tracks_judgements_beside_the_teachers_dev_signal_without_selecting_by_them(
    log_dataset: Path, tmp_path: Path, tiny_dense_model: str
) -> None:
    train_qrels = {
        "t1": {"d1": 1},
        "t2": {"d7": 1},
        "t3": {"d3": 1},
        "t4": {"d6": 1},
        "t5": {"d4": 1},
        "t6": {"d9": 1},
        "t7": {"d10": 1},
        "t8": {"d2": 1},
    }
    write_beir(
        log_dataset, TINY_CORPUS, {**TRAIN_QUERIES, **TEST_QUERIES}, train_qrels, split="train"
    )
    path = label_free_config(tmp_path, log_dataset, tiny_dense_model, name="tracked")
    path.write_text(
        path.read_text().replace("teacher_top: 2}", "teacher_top: 2, track_judged: train}")
    )
    run_pipeline(load_pipeline_config(path), "tracked.yaml")
    record = json.loads(
        (
            tmp_path
            / "runs"
            / "tracked"
            / "stages"
            / "train"
            / "student"
            / "rankdistill_train.json"
        ).read_text()
    )
    assert record["dev"]["judgements_read_for_tracking"] == "train"
    curve = record["dev"]["curve"]
    assert all(0 <= point["judged_ndcg@10"] <= 1 for point in curve)
    teacher = [point["ndcg@10"] for point in curve]
    assert record["dev"]["selected"]["epoch"] == teacher.index(
        max(teacher)
    )  # chosen by the teacher's signal alone


def test_resampled_dev_carves_depend_on_the_seed() -> None:
    from rankdistill.training.data import carve_dev_ids

    ids = [f"q{i}" for i in range(500)]
    fixed = carve_dev_ids(ids, 50)
    assert carve_dev_ids(list(reversed(ids)), 50) == fixed  # the fixed carve: order-free, seed-free
    assert carve_dev_ids(ids, 50, seed=13) == carve_dev_ids(ids, 50, seed=13)
    assert len(set(carve_dev_ids(ids, 50, seed=13)) & set(carve_dev_ids(ids, 50, seed=14))) < 20


def test_dev_queries_are_encoded_at_the_inference_length_not_the_training_cut(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A student trained on queries cut at 64 tokens is searched with whole queries: its dev curve
    must measure that (ArguAna's long arguments hid a loss of 0.05 when measured cut)."""
    from rankdistill.training import query_side
    from rankdistill.training.data import DevSet

    class Model:
        max_seq_length = 64

    seen = []
    monkeypatch.setattr(
        query_side, "dev_ndcgs", lambda model, *args: seen.append(model.max_seq_length) or [0.5]
    )
    model = Model()
    point = query_side.curve_point(
        model, DevSet("d", {"q": "x"}, {}, {"q": set()}), None, None, 3, 30, length=256
    )
    assert (
        seen == [256]
        and model.max_seq_length == 64
        and point == {"epoch": 3, "step": 30, "ndcg@10": 0.5}
    )
