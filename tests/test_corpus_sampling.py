"""Sampled corpus negatives for query-side training: with every document drawn it is the full
softmax exactly; with a sample, the logQ-corrected loss estimates the full one; listed documents
and known positives keep their meaning in the sampled columns."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rankdistill.training.corpus_sampling import full_columns, other_positives, sampled_columns
from rankdistill.training.query_side import QuerySideLoss


class Cosine(torch.nn.Module):
    """Enough of a SentenceTransformer for a loss's constructor: cosine similarity."""

    similarity_fn_name = "cosine"


def setting(corpus_size: int = 2000, batch: int = 8, seed: int = 0):
    generator = torch.Generator().manual_seed(seed)
    corpus = torch.nn.functional.normalize(
        torch.randn(corpus_size, 16, generator=generator), dim=-1
    )
    queries = torch.nn.functional.normalize(
        corpus[:batch] + 0.3 * torch.randn(batch, 16, generator=generator), dim=-1
    )
    positions = torch.stack(
        [
            torch.arange(batch),
            *(torch.randint(0, corpus_size, (batch,), generator=generator) for _ in range(3)),
        ],
        dim=1,
    )
    teacher = torch.randn(batch, 4, generator=generator)
    query_ids = [
        f"q{i // 2}" for i in range(batch)
    ]  # two rows a query: each row's other positive is masked
    others = other_positives(query_ids, positions[:, 0].tolist())
    return corpus, queries, positions, teacher, others


def test_drawing_every_document_is_the_full_softmax() -> None:
    corpus, queries, positions, teacher, others = setting()
    loss = QuerySideLoss(
        {"teacher_nce": {"temperature": 0.5, "scale": 20, "similarity": "cosine"}}, Cosine()
    )
    full, _ = loss(queries, corpus, full_columns(positions, others, len(corpus)), teacher)
    everything = sampled_columns(
        positions, others, len(corpus), len(corpus), torch.Generator().manual_seed(1)
    )
    assert torch.allclose(loss(queries, corpus, everything, teacher)[0], full)


def test_sampled_columns_keep_the_lists_and_the_masked_positives() -> None:
    corpus, queries, positions, _, others = setting()
    batch = sampled_columns(positions, others, len(corpus), 100, torch.Generator().manual_seed(1))
    assert torch.equal(batch.columns[batch.positions], positions)  # listed documents map back
    assert batch.columns.unique().numel() == batch.columns.numel()
    assert 100 - 20 <= int((batch.correction > 0).sum()) <= 100  # the sample, deduplicated
    for row, rows in enumerate(others):
        assert (
            sorted(batch.columns[batch.masked[row]].tolist()) == rows
        )  # the same query's other positive


@pytest.mark.parametrize("name", ["infonce", "teacher_nce"])
def test_the_corrected_sampled_loss_estimates_the_full_one(name: str) -> None:
    corpus, queries, positions, teacher, others = setting()
    spec = {name: {"scale": 20, "similarity": "cosine"}}
    loss = QuerySideLoss(spec, Cosine())
    full = float(loss(queries, corpus, full_columns(positions, others, len(corpus)), teacher)[0])
    draws = [
        float(
            loss(
                queries,
                corpus,
                sampled_columns(
                    positions, others, len(corpus), 800, torch.Generator().manual_seed(s)
                ),
                teacher,
            )[0]
        )
        for s in range(200)
    ]
    uncorrected = QuerySideLoss(spec, Cosine())
    sampled = sampled_columns(positions, others, len(corpus), 800, torch.Generator().manual_seed(0))
    sampled.correction.zero_()
    mean = sum(draws) / len(draws)
    assert (
        abs(mean - full) < 0.05 * full
    )  # within 5%: the log of a sampled sum is biased low (Jensen)
    without = float(uncorrected(queries, corpus, sampled, teacher)[0])
    assert full - without > 2 * abs(full - mean)  # without the logQ correction, much further off


def test_a_run_trains_with_sampled_corpus_negatives(tmp_path, tiny_dense_model: str) -> None:
    import json

    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline
    from tests.conftest import TINY_CORPUS, write_beir
    from tests.test_label_free import TEST_QRELS, TEST_QUERIES, TRAIN_QUERIES, label_free_config

    beir = write_beir(
        tmp_path / "logset",
        TINY_CORPUS,
        {**TRAIN_QUERIES, **TEST_QUERIES},
        TEST_QRELS,
        split="test",
    )
    path = label_free_config(tmp_path, beir, tiny_dense_model)
    path.write_text(
        path.read_text().replace(
            "frozen_documents: true}", "frozen_documents: true, corpus_negatives: 2}"
        )
    )
    run_pipeline(load_pipeline_config(path), str(path))
    record = json.loads(
        (
            tmp_path / "runs" / "lf" / "stages" / "train" / "student" / "rankdistill_train.json"
        ).read_text()
    )
    assert record["config"]["student"]["corpus_negatives"] == 2 and record["global_step"] > 0


def test_blockwise_topk_matches_one_search():
    from rankdistill.retrieval.search import blockwise_topk

    generator = torch.Generator().manual_seed(3)
    vectors, corpus = (
        torch.randn(7, 16, generator=generator),
        torch.randn(1000, 16, generator=generator),
    )
    expected_scores, expected_rows = (vectors @ corpus.T).topk(25, dim=1)
    for block in (1000, 333, 64, 10):
        scores, rows = blockwise_topk(vectors, corpus, 25, block=block)
        assert torch.equal(rows, expected_rows) and torch.allclose(scores, expected_scores)
    scores, rows = blockwise_topk(vectors, corpus[:5], 25, block=2)  # fewer documents than k
    assert rows.shape == (7, 5) and sorted(rows[0].tolist()) == [0, 1, 2, 3, 4]


def test_a_memory_mapped_corpus_is_searched_from_file_reads_with_the_same_result(tmp_path):
    """blockwise_topk over a memory-mapped .npy reads each block from the file (no page of it stays
    mapped in): the same top k as over the array in memory, also for a slice of the map."""
    from rankdistill.retrieval.search import blockwise_topk, corpus_blocks

    rng = np.random.default_rng(5)
    corpus = rng.standard_normal((1003, 8)).astype(np.float32)
    np.save(tmp_path / "v.npy", corpus)
    mapped = np.load(tmp_path / "v.npy", mmap_mode="c")
    queries = torch.from_numpy(rng.standard_normal((4, 8)).astype(np.float32))
    expected = blockwise_topk(queries, torch.from_numpy(corpus), 30)
    for block in (1003, 100, 7):
        scores, rows = blockwise_topk(queries, mapped, 30, block=block)
        assert torch.equal(rows, expected[1]) and torch.allclose(scores, expected[0])
    starts = [start for start, _ in corpus_blocks(mapped, 100)]
    assert starts == list(range(0, 1003, 100))
    part = mapped[500:]  # a slice: sliced, not read from the file's start
    scores, rows = blockwise_topk(queries, part, 5, block=64)
    assert torch.equal(rows, blockwise_topk(queries, torch.from_numpy(corpus[500:]), 5)[1])
