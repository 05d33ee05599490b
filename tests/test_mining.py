"""Mining training data on the tiny corpus with BM25 and a fake teacher: merged candidates,
seeded sampling and its probabilities, false-negative rules, the store's reuse, the file format."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from rankdistill.core.errors import InputError, UserError
from rankdistill.data.beir import BeirDataset, load_dataset
from rankdistill.mining import (
    Candidate,
    build_training_set,
    control_false_negatives,
    merge_rankings,
    meta_path,
    mine_candidates,
    read_training_set,
    sample_negatives,
    write_training_set,
)
from tests.conftest import TINY_CORPUS, write_beir

# Queries written to hit several documents of TINY_CORPUS with BM25. t4 finds only its positive;
# t5 has no positive (a grade-0 judgement only).
TRAIN_QUERIES = {
    "t1": "gravity of the moon, light and black holes, ice and sleep",
    "t2": "a virus, infection, bacteria, vaccine and the immune system, the brain",
    "t3": "sunlight and flowers: plants, bees, nectar, coffee, water",
    "t4": "magma, lava, volcanic ash",
    "t5": "volcanic gas",
}
TRAIN_QRELS = {
    "t1": {"d7": 1},
    "t2": {"d3": 1, "d8": 0},
    "t3": {"d1": 2, "d6": 1},
    "t4": {"d2": 1},
    "t5": {"d2": 0},
}
# Teacher scores by document: d4 outscores t1's positive d7, a false negative for margin 0.
DOC_SCORES = {"d7": 5.0, "d4": 6.0, "d3": 2.0, "d1": 3.0, "d6": 2.0}
DOC_TEXT = {f"{title} {text}": doc_id for doc_id, (title, text) in TINY_CORPUS.items()}
RETRIEVERS = ["bm25", "bm25:k1=0.9,b=0.4"]


class TableTeacher:
    """Scores a pair by its document alone (DOC_SCORES, else 1.0); counts the pairs it scored."""

    fingerprint = "table-teacher-v1"

    def __init__(self) -> None:
        self.calls = 0

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        self.calls += len(docs)
        return np.array([DOC_SCORES.get(DOC_TEXT[d], 1.0) for d in docs], dtype=np.float32)


@pytest.fixture
def train_set(tmp_path: Path) -> BeirDataset:
    folder = write_beir(
        tmp_path / "tiny-train", queries=TRAIN_QUERIES, qrels=TRAIN_QRELS, split="train"
    )
    return load_dataset(folder, "train")


def ranked(n: int, skip: str = "") -> list[Candidate]:
    return [Candidate(f"d{i}", {"bm25": i}) for i in range(1, n + 1) if f"d{i}" != skip]


# --- candidates ---


def test_merged_candidates_are_unique_and_exclude_positives(tiny_beir: Path) -> None:
    dataset = load_dataset(tiny_beir, "test")
    candidates = mine_candidates(dataset, RETRIEVERS, depth=10)
    assert set(candidates) == set(dataset.queries)
    found = 0
    for query_id, mined in candidates.items():
        doc_ids = [c.doc_id for c in mined]
        assert len(doc_ids) == len(set(doc_ids))
        assert not set(doc_ids) & {d for d, grade in dataset.qrels[query_id].items() if grade > 0}
        for candidate in mined:
            assert set(candidate.ranks) == set(RETRIEVERS)  # both BM25 variants find the same few
        found += len(mined)
    assert found > 0
    assert [c.doc_id for c in candidates["q1"]][:1] == ["d8"]  # d1 (rank 1) is q1's positive


def test_merge_orders_by_best_rank_then_retriever_order() -> None:
    merged = merge_rankings({"a": ["x", "p", "y", "z"], "b": ["y", "w", "x"]}, exclude={"p"})
    assert [(c.doc_id, c.ranks) for c in merged] == [
        ("x", {"a": 1, "b": 3}),
        ("y", {"b": 1, "a": 3}),
        ("w", {"b": 2}),
        ("z", {"a": 4}),
    ]
    assert [c.best_rank for c in merged] == [1, 1, 2, 4]


def test_mining_rejects_bad_settings(tiny_beir: Path) -> None:
    dataset = load_dataset(tiny_beir, "test")
    for retrievers, depth in (([], 10), (["bm25", "bm25"], 10), (["bm25"], 0)):
        with pytest.raises(UserError):
            mine_candidates(dataset, retrievers, depth)


# --- sampling ---


def test_sampling_takes_top_then_random_with_probabilities() -> None:
    candidates = ranked(10)
    sampled = sample_negatives(
        candidates, {"d2"}, query_id="q", n_top=2, n_random=3, top_depth=5, skip_top=1, seed=13
    )
    assert [(s.doc_id, s.how, s.prob) for s in sampled[:2]] == [
        ("d3", "top", 1.0),
        ("d4", "top", 1.0),
    ]
    random = sampled[2:]
    assert len(random) == 3 and all(s.how == "random" and s.prob == 3 / 6 for s in random)
    assert {s.doc_id for s in random} <= {
        "d5",
        "d6",
        "d7",
        "d8",
        "d9",
        "d10",
    }  # not skipped d1, positive d2
    assert sampled[2].ranks == {"bm25": int(sampled[2].doc_id[1:])}

    shallow = sample_negatives(
        candidates, {"d2"}, query_id="q", n_top=2, n_random=3, top_depth=3, skip_top=1, seed=13
    )
    assert [s.doc_id for s in shallow if s.how == "top"] == ["d3"]  # d4 is below top_depth
    assert {s.prob for s in shallow if s.how == "random"} == {3 / 7}
    everything = sample_negatives(
        candidates, set(), query_id="q", n_top=0, n_random=50, top_depth=5, seed=13
    )
    assert [s.doc_id for s in everything] == [c.doc_id for c in candidates] and {
        s.prob for s in everything
    } == {1.0}


def test_random_picks_are_uniform_over_the_pool() -> None:
    candidates = ranked(6)
    counts: Counter[str] = Counter()
    trials = 3000
    for seed in range(trials):
        picks = sample_negatives(
            candidates, set(), query_id="q", n_top=2, n_random=2, top_depth=6, seed=seed
        )
        counts.update(s.doc_id for s in picks if s.how == "random")
    assert set(counts) == {"d3", "d4", "d5", "d6"}
    for doc_id in counts:  # each is included with the recorded probability 2/4
        assert abs(counts[doc_id] / trials - 0.5) < 0.04


def test_sampling_is_seeded_per_query() -> None:
    candidates = ranked(30)

    def picks(query_id: str, seed: int) -> list[str]:
        sampled = sample_negatives(
            candidates, set(), query_id=query_id, n_top=1, n_random=4, top_depth=5, seed=seed
        )
        return [s.doc_id for s in sampled]

    assert picks("q1", 13) == picks("q1", 13)
    # The other query's draw between two calls does not shift this one's (no shared generator).
    first = picks("q1", 13)
    picks("q2", 13)
    assert picks("q1", 13) == first
    assert len({tuple(picks(f"q{i}", 13)) for i in range(10)}) > 1
    assert len({tuple(picks("q1", seed)) for seed in range(10)}) > 1


def test_sampling_rejects_bad_settings() -> None:
    with pytest.raises(UserError):
        sample_negatives(ranked(3), set(), query_id="q", n_top=-1, n_random=1, top_depth=5, seed=1)
    with pytest.raises(UserError):
        sample_negatives(ranked(3), set(), query_id="q", n_top=1, n_random=1, top_depth=5, seed=-1)


# --- false negatives ---

POS = np.array([3.0, 5.0])
NEG = np.array([1.0, 2.5, 3.0, 4.0])


@pytest.mark.parametrize(
    ("margin", "fraction", "suspects"),
    [
        (0.0, None, [False, False, True, True]),  # >= min positive 3.0
        (0.5, None, [False, True, True, True]),  # >= 2.5
        (-1.5, None, [False, False, False, False]),  # >= 4.5
        (None, 0.9, [False, False, True, True]),  # >= 2.7
        (None, 0.8, [False, True, True, True]),  # >= 2.4
        (-1.5, 0.8, [False, True, True, True]),  # either rule
        (None, None, [False, False, False, False]),
    ],
)
def test_false_negative_rules(
    margin: float | None, fraction: float | None, suspects: list[bool]
) -> None:
    dropped = control_false_negatives(POS, NEG, margin, fraction, "drop")
    assert dropped.decisions == ["drop" if s else "keep" for s in suspects]
    n = sum(suspects)
    assert dropped.counts == {"kept": 4 - n, "suspected": n, "dropped": n, "relabelled": 0}
    relabelled = control_false_negatives(POS, NEG, margin, fraction, "relabel")
    assert relabelled.decisions == ["relabel" if s else "keep" for s in suspects]
    assert relabelled.counts == {"kept": 4 - n, "suspected": n, "dropped": 0, "relabelled": n}


def test_rules_against_the_highest_positive() -> None:
    # Many graded positives: the weakest (3.0) sits among the negatives, the best (5.0) above them.
    lowest = control_false_negatives(POS, NEG, 0.0, None, "drop", "lowest")
    highest = control_false_negatives(POS, NEG, 0.0, None, "drop", "highest")
    assert lowest.decisions == ["keep", "keep", "drop", "drop"]
    assert highest.decisions == ["keep"] * 4
    near_best = control_false_negatives(
        POS, NEG, 1.0, 0.5, "relabel", "highest"
    )  # >= 4.0 or >= 2.5
    assert near_best.decisions == ["keep", "relabel", "relabel", "relabel"]
    # the fraction rule checks the sign of the reference it uses, not of every positive
    assert (
        control_false_negatives(np.array([-1.0, 5.0]), NEG, None, 0.7, "drop", "highest").counts[
            "dropped"
        ]
        == 1
    )


def test_fraction_rule_refuses_non_positive_scores() -> None:
    with pytest.raises(UserError, match="positive teacher scores"):
        control_false_negatives(np.array([-1.0, 2.0]), NEG, None, 0.9, "drop")
    with pytest.raises(UserError, match="action"):
        control_false_negatives(POS, NEG, 0.0, None, "delete")  # type: ignore[arg-type]
    with pytest.raises(UserError, match="reference"):
        control_false_negatives(POS, NEG, 0.0, None, "drop", "median")  # type: ignore[arg-type]


# --- building ---


def build(dataset: BeirDataset, teacher: TableTeacher, store: Path, **options):
    settings = dict(
        n_top=1, n_random=1, skip_top=0, depth=10, fn_margin=0.0, fn_action="drop", seed=13
    )
    return build_training_set(dataset, RETRIEVERS, teacher, store, **{**settings, **options})


def test_build_end_to_end_and_store_reuse(train_set: BeirDataset, tmp_path: Path) -> None:
    teacher = TableTeacher()
    records, counts = build(train_set, teacher, tmp_path / "store")
    assert counts == {
        "queries": 5,
        "queries_without_positives": 1,  # t5
        "queries_without_negatives": 1,  # t4: BM25 finds only its positive
        "records": 3,
        "positives": 4,
        "positives_not_in_corpus": 0,
        "negatives": 4,
        "negatives_top": 2,  # d8 for t2, d5 for t3
        "negatives_random": 2,
        "suspected": 1,  # d4 for t1: 6.0 >= 5.0
        "dropped": 1,
        "relabelled": 0,
    }
    by_query = {r.query_id: r for r in records}
    assert list(by_query) == ["t1", "t2", "t3"]
    t1 = by_query["t1"]
    assert [(p.doc_id, p.score) for p in t1.positives] == [("d7", 5.0)]
    assert [(n.how, n.prob) for n in t1.negatives] == [("random", 0.5)]  # pool d10, d9
    assert t1.negatives[0].doc_id in {"d9", "d10"} and t1.teacher == TableTeacher.fingerprint
    t2 = by_query["t2"]
    assert [(n.doc_id, n.how, n.prob, n.score) for n in t2.negatives] == [
        ("d8", "top", 1.0, 1.0),
        ("d10", "random", 1.0, 1.0),
    ]
    assert t2.negatives[0].ranks == {"bm25": 2, "bm25:k1=0.9,b=0.4": 2}
    assert teacher.calls == 9  # 3 per record: positives, top and random picks, d4 included

    again = TableTeacher()
    relabelled, counts = build(train_set, again, tmp_path / "store", fn_action="relabel")
    assert again.calls == 0  # every pair came from the store
    assert (counts["relabelled"], counts["dropped"], counts["positives"]) == (1, 0, 5)
    t1 = relabelled[0]
    assert [(p.doc_id, p.relabelled) for p in t1.positives] == [("d7", False), ("d4", True)]
    assert [r.negatives for r in relabelled] == [r.negatives for r in records]

    # Query order does not change any query's sample.
    reordered = dataclasses.replace(train_set, queries=dict(reversed(train_set.queries.items())))
    shuffled, _ = build(reordered, TableTeacher(), tmp_path / "store")
    assert sorted(shuffled, key=lambda r: r.query_id) == records


def test_write_read_round_trip(train_set: BeirDataset, tmp_path: Path) -> None:
    records, counts = build(train_set, TableTeacher(), tmp_path / "store", fn_action="relabel")
    path = write_training_set(
        tmp_path / "out" / "train.jsonl", records, {"config": {"seed": 13}, "counts": counts}
    )
    assert read_training_set(path) == records
    meta = json.loads(meta_path(path).read_text())
    assert (
        meta["counts"]["relabelled"] == 1
        and meta["records"] == 3
        and meta["config"] == {"seed": 13}
    )
    assert meta["provenance"]["versions"]["rankdistill"]
    first = json.loads(path.read_text().splitlines()[0])
    assert set(first) == {
        "query_id",
        "query",
        "positives",
        "negatives",
        "teacher",
        "teacher_scale",
    }  # the scale the teacher declared
    assert set(first["negatives"][0]) == {"doc_id", "score", "how", "prob", "ranks"}
    assert first["positives"][1] == {"doc_id": "d4", "score": 6.0, "relabelled": True}
    with pytest.raises(UserError, match="no negatives"):
        write_training_set(
            tmp_path / "bad.jsonl", [dataclasses.replace(records[0], negatives=[])], {}
        )


def _break(line: dict, change) -> str:
    change(line)
    return json.dumps(line)


@pytest.mark.parametrize(
    ("bad_line", "field", "message"),
    [
        (lambda line: "{not json", None, "invalid JSON"),
        (lambda line: _break(line, lambda d: d.pop("teacher")), "teacher", "missing"),
        (
            lambda line: _break(line, lambda d: d.update(query_id=7)),
            "query_id",
            "expected a string, got int",
        ),
        (
            lambda line: _break(line, lambda d: d["negatives"][0].update(score="high")),
            "negatives[0].score",
            "expected a number",
        ),
        (
            lambda line: _break(line, lambda d: d["negatives"][0].update(how="hard")),
            "negatives[0].how",
            "expected one of",
        ),
        (
            lambda line: _break(line, lambda d: d["negatives"][0].update(prob=0)),
            "negatives[0].prob",
            "probability",
        ),
        (
            lambda line: _break(line, lambda d: d["positives"][0].pop("doc_id")),
            "positives[0].doc_id",
            "missing",
        ),
        (lambda line: _break(line, lambda d: d.update(negatives=[])), "negatives", "empty"),
        (
            lambda line: _break(line, lambda d: d.update(negatives={})),
            "negatives",
            "expected a list",
        ),
    ],
)
def test_read_errors_name_file_line_and_field(
    tmp_path: Path, bad_line, field: str | None, message: str
) -> None:
    good = {
        "query_id": "q2",
        "query": "what causes tides",
        "positives": [{"doc_id": "d7", "score": 2.5}],
        "negatives": [
            {"doc_id": "d4", "score": 0.5, "how": "top", "prob": 1.0, "ranks": {"bm25": 1}}
        ],
        "teacher": "t",
    }
    first = json.dumps({**good, "query_id": "q1"})
    path = tmp_path / "train.jsonl"
    path.write_text(first + "\n" + bad_line(good) + "\n")
    with pytest.raises(InputError) as caught:
        read_training_set(path)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), 2, field)
    assert str(caught.value).startswith(f"{path}:2: ") and message in str(caught.value)


def test_read_rejects_duplicate_queries(tmp_path: Path) -> None:
    line = {
        "query_id": "q1",
        "query": "q",
        "positives": [],
        "negatives": [{"doc_id": "d", "score": 1, "how": "random", "prob": 0.5, "ranks": {}}],
        "teacher": "t",
    }
    path = tmp_path / "dup.jsonl"
    path.write_text(json.dumps(line) + "\n\n" + json.dumps(line) + "\n")
    with pytest.raises(
        InputError,
        match=r"dup.jsonl:3: field 'query_id': duplicate query id 'q1' \(first on line 1\)",
    ):
        read_training_set(path)


# --- command line ---
