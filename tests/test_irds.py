"""ir_datasets as a dataset source (`irds:<id>`), offline: a temporary IR_DATASETS_HOME seeded with
the official BEIR zips, where ir_datasets would have downloaded them."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError, UserError
from rankdistill.data import dataset_info, open_corpus, open_dataset
from tests.conftest import REPO

pytest.importorskip("ir_datasets")


@pytest.mark.parametrize("split", ["train", "dev", "test"])
def test_irds_nfcorpus_equals_the_beir_folder(
    irds_home: Path, shared_data: Path, split: str
) -> None:
    """Every split of irds:beir/nfcorpus holds exactly the corpus, judged queries and qrels of
    the BEIR folder, whether the split is named in the id or given apart."""
    folder = open_dataset("nfcorpus", split, shared_data)
    irds = open_dataset(f"irds:beir/nfcorpus/{split}")
    assert open_dataset("irds:beir/nfcorpus", split).qrels == irds.qrels
    assert irds.name == f"irds:beir/nfcorpus/{split}" and irds.split == split
    assert irds.corpus == folder.corpus
    assert irds.queries == folder.queries
    assert irds.qrels == folder.qrels
    assert not irds.warnings


def test_irds_arguana_keeps_beir_conventions(irds_home: Path, shared_data: Path) -> None:
    """ArguAna's 5 judgements outside the corpus are a counted warning, as for the folder, and
    its queries-are-documents convention follows the data, not the name."""
    irds = open_dataset("irds:beir/arguana")
    folder = open_dataset("arguana", None, shared_data)
    assert (
        irds.corpus == folder.corpus
        and irds.queries == folder.queries
        and irds.qrels == folder.qrels
    )
    assert len(irds.warnings) == 1 and "5 judgement(s)" in irds.warnings[0]
    assert dataset_info(irds.name).ignore_identical_ids
    assert not dataset_info("irds:beir/nfcorpus/test").ignore_identical_ids
    assert dataset_info("irds:msmarco-passage/trec-dl-2019/judged").relevance_level == 2


def test_irds_corpus_alone(irds_home: Path, shared_data: Path) -> None:
    corpus, source = open_corpus("irds:beir/nfcorpus/test")
    assert source == "irds:beir/nfcorpus/test"
    assert corpus == open_corpus("nfcorpus", shared_data)[0]


def test_irds_bad_ids_and_splits_fail_with_a_message(irds_home: Path) -> None:
    with pytest.raises(UserError, match="not an ir_datasets id"):
        open_dataset("irds:beir/no-such-thing/test")
    with pytest.raises(UserError, match="no split 'validation'"):
        open_dataset("irds:beir/nfcorpus/test", "validation")
    with pytest.raises(UserError, match="give an ir_datasets id"):
        open_dataset("irds:")
    with pytest.raises(UserError, match="has no qrels"):
        open_dataset("irds:beir/nfcorpus")  # the corpus and all queries, but no judgements


def test_cli_irds_without_its_source_exits_2_with_where_to_put_it(tmp_path: Path) -> None:
    """Offline with an empty IR_DATASETS_HOME ir_datasets cannot download: exit 2, no traceback,
    and the message says where the zip goes."""
    env = {**os.environ, "IR_DATASETS_HOME": str(tmp_path / "empty"), "PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rankdistill.cli",
            "evaluate",
            "--dataset",
            "irds:beir/arguana",
            "--retriever",
            "bm25",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=tmp_path,
    )
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"{tmp_path / 'empty'}/beir/<name>/source.zip" in result.stderr


def test_irds_records_are_validated_with_their_location(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A dataset registered from local files (ir_datasets' own TSV formats) with an empty
    document: the error names the id, the component, the record and the field."""
    import ir_datasets
    from ir_datasets.datasets.base import Dataset
    from ir_datasets.formats import TrecQrels, TsvDocs, TsvQueries
    from ir_datasets.util import LocalDownload

    (tmp_path / "docs.tsv").write_text("d1\tfirst document\nd2\t \nd3\tthird\n")
    (tmp_path / "queries.tsv").write_text("q1\ta query\n")
    (tmp_path / "qrels.txt").write_text("q1 0 d1 1\nq1 0 d9 1\n")
    dataset = Dataset(
        TsvDocs(LocalDownload(tmp_path / "docs.tsv")),
        TsvQueries(LocalDownload(tmp_path / "queries.tsv")),
        TrecQrels(LocalDownload(tmp_path / "qrels.txt"), {}),
    )
    monkeypatch.setitem(ir_datasets.registry._registered, "rankdistill-test/bad-doc", dataset)
    with pytest.raises(
        InputError, match=r"^irds:rankdistill-test/bad-doc docs:2: field 'text': empty document"
    ):
        open_dataset("irds:rankdistill-test/bad-doc")
    (tmp_path / "docs.tsv").write_text("d1\tfirst document\nd2\tsecond\n")
    with pytest.raises(InputError, match=r"qrels:2: field 'doc_id': unknown document id 'd9'"):
        open_dataset("irds:rankdistill-test/bad-doc")


def test_cli_evaluate_irds_prints_the_folder_ndcg(
    irds_home: Path, shared_data: Path, tmp_path: Path
) -> None:
    """`rankdistill evaluate --dataset irds:beir/nfcorpus/test --retriever bm25` prints the same
    metrics as `--dataset nfcorpus` (the issue's acceptance check)."""
    env = {
        **os.environ,
        "IR_DATASETS_HOME": str(irds_home),
        "RANKDISTILL_DATA": str(shared_data),
        "PYTHONPATH": str(REPO),
    }

    def table(dataset: str) -> list[str]:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "rankdistill.cli",
                "evaluate",
                "--dataset",
                dataset,
                "--retriever",
                "bm25",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=600,
            cwd=tmp_path,
        )
        assert result.returncode == 0, result.stderr[-2000:]
        row = [line for line in result.stdout.splitlines() if "| bm25 |" in line]
        assert len(row) == 1, result.stdout
        return [cell.strip() for cell in row[0].split("|")[4:9]]  # nDCG@10 .. queries

    irds, folder = table("irds:beir/nfcorpus/test"), table("nfcorpus")
    assert irds == folder
    assert (
        folder[0] == "0.3210"
    )  # nDCG@10 of our BM25 on NFCorpus test (evaluation/studies/01-baselines.md)


def _register(monkeypatch: pytest.MonkeyPatch, dataset_id: str, *components: object) -> None:
    import ir_datasets
    from ir_datasets.datasets.base import Dataset

    monkeypatch.setitem(ir_datasets.registry._registered, dataset_id, Dataset(*components))


def test_scoreddocs_serve_as_candidates(shared_data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`scoreddocs:irds:<id>`: the official TREC DL 2019 BM25 top-100 (Anserini's run, as
    ir_datasets would ship it) read as a first stage gives Pyserini's nDCG@10, 0.5058."""
    from ir_datasets.formats import TrecScoredDocs
    from ir_datasets.util import LocalDownload

    from rankdistill.evaluation import evaluate_retriever

    run = shared_data / "msmarco-trec-dl-bm25top100" / "trec" / "run.bm25-top100.dl19.trec"
    _register(monkeypatch, "rankdistill-test/dl19-bm25", TrecScoredDocs(LocalDownload(run)))
    dataset = open_dataset("msmarco-trec-dl", "dl19", shared_data)
    evaluation = evaluate_retriever(dataset, "scoreddocs:irds:rankdistill-test/dl19-bm25", k=100)
    assert round(evaluation.result.aggregate["nDCG@10"], 4) == 0.5058
    assert all(len(hits) == 100 for hits in evaluation.results.values())
    top3 = evaluate_retriever(dataset, "scoreddocs:irds:rankdistill-test/dl19-bm25", k=3).results
    assert all(list(top3[q]) == list(evaluation.results[q])[:3] for q in top3)


def test_docpairs_serve_as_mining_candidates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`docpairs:irds:<id>`: the documents of a query's training pairs become its candidates, in
    the order they first appear; positives are not candidates and unknown documents are skipped."""
    from ir_datasets.formats import TsvDocPairs
    from ir_datasets.util import LocalDownload

    from rankdistill.mining import mine_candidates
    from tests.conftest import write_beir

    (tmp_path / "pairs.tsv").write_text(
        "q1\td1\td9\nq1\td1\td2\nq1\td1\tnot-a-doc\nq2\td7\td4\nq2\td7\td1\nq3\td8\td2\n"
    )
    _register(
        monkeypatch, "rankdistill-test/pairs", TsvDocPairs(LocalDownload(tmp_path / "pairs.tsv"))
    )
    dataset = open_dataset(str(write_beir(tmp_path / "tiny")))
    candidates = mine_candidates(dataset, ["docpairs:irds:rankdistill-test/pairs"], depth=10)
    assert [c.doc_id for c in candidates["q1"]] == ["d9", "d2"]
    assert [c.doc_id for c in candidates["q2"]] == ["d1"]  # d7 and d4 are q2's positives
    assert [(c.doc_id, c.best_rank) for c in candidates["q3"]] == [("d2", 2)]
    assert candidates["q4"] == []
    with pytest.raises(UserError, match="has no scoreddocs"):
        mine_candidates(dataset, ["scoreddocs:irds:rankdistill-test/pairs"])


def test_a_run_config_evaluates_an_irds_dataset(irds_home: Path, tmp_path: Path) -> None:
    """`evaluate: {datasets: [irds:...]}` in a run config: the evaluate stage reads it like a folder."""
    from rankdistill.pipeline.config import load_pipeline_config
    from rankdistill.pipeline.run import run_pipeline

    config = tmp_path / "irds.yaml"
    config.write_text(
        f"name: irds\noutput_dir: {tmp_path / 'runs'}\n"
        "evaluate: {datasets: [irds:beir/nfcorpus/test], retrievers: [bm25], k: 100}\n"
    )
    (outcome,) = run_pipeline(load_pipeline_config(config), config)
    metrics = outcome.summary["datasets"]["irds:beir/nfcorpus/test"]["systems"]["bm25"]["metrics"]
    assert round(metrics["nDCG@10"], 4) == 0.3210
