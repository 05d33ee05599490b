"""The scale benchmark's pieces (evaluation/scale/): a tiny corpus resampled from the real data is
a valid BEIR folder whose queries occur in their judged documents, the same seed rebuilds it byte
for byte, the growth exponent fit finds 1 and 2 on linear and quadratic costs, and run.py plans
each stage at the sizes its table allows."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[1]
SCALE = REPO / "evaluation" / "scale"
FILES = ("corpus.jsonl", "queries.jsonl", "qrels/test.tsv", "scale.json")


def scale_module(name: str) -> ModuleType:
    """A module of evaluation/scale/, imported as its scripts import each other (by bare name)."""
    if str(SCALE) not in sys.path:
        sys.path.insert(0, str(SCALE))
    return importlib.import_module(name)


@pytest.fixture(scope="module")
def sources(shared_data: Path) -> Path:
    make_corpus = scale_module("make_corpus")
    missing = [n for n in make_corpus.SOURCES if not (shared_data / n / "corpus.jsonl").is_file()]
    if missing:
        pytest.skip(f"source corpora missing under {shared_data}: {', '.join(missing)}")
    return shared_data


@pytest.fixture(scope="module")
def pool_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pool")


def build_tiny(folder: Path, sources: Path, cache: Path, seed: int = 5) -> Path:
    scale_module("make_corpus").build(300, folder, seed, 20, data_root=sources, cache=cache)
    return folder


@pytest.fixture(scope="module")
def tiny(sources: Path, pool_cache: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny(tmp_path_factory.mktemp("scale") / "tiny", sources, pool_cache)


def test_tiny_corpus_is_a_beir_folder_whose_queries_occur_in_their_documents(tiny: Path) -> None:
    from rankdistill.data.open import open_dataset

    dataset = open_dataset(tiny, "test")
    assert len(dataset.corpus) == 300 and len(dataset.queries) == 20
    assert list(dataset.corpus)[:2] == ["d0000000", "d0000001"]
    assert (tiny / "qrels" / "test.tsv").read_text().startswith("query-id\tcorpus-id\tscore\n")
    for query_id, judged in dataset.qrels.items():
        [(doc_id, grade)] = judged.items()
        query = dataset.queries[query_id]
        assert grade == 1 and doc_id in dataset.corpus
        assert query in dataset.corpus[doc_id]["text"]
        assert len(query.split()) <= 14


def test_same_seed_rebuilds_byte_identical_files(
    tiny: Path, sources: Path, pool_cache: Path, tmp_path: Path
) -> None:
    again = build_tiny(tmp_path / "again", sources, pool_cache)  # the pool now from the cache
    for name in FILES:
        assert (again / name).read_bytes() == (tiny / name).read_bytes(), name
    other = build_tiny(tmp_path / "other", sources, pool_cache, seed=6)
    assert (other / "corpus.jsonl").read_bytes() != (tiny / "corpus.jsonl").read_bytes()


def test_growth_exponent_of_linear_and_quadratic_costs() -> None:
    report = scale_module("report")
    sizes = [10_000, 30_000, 100_000, 1_000_000]
    assert report.growth_exponent(sizes, [3e-4 * n for n in sizes]) == pytest.approx(1.0)
    assert report.growth_exponent(sizes, [2e-9 * n * n for n in sizes]) == pytest.approx(2.0)
    noisy = [1e-4 * n * (1.05 if i % 2 else 0.95) for i, n in enumerate(sizes)]
    assert report.growth_exponent(sizes, noisy) == pytest.approx(1.0, abs=0.05)
    assert report.growth_exponent([10_000], [1.0]) is None
    assert report.growth_exponent(sizes, [1.0, 0.0, 2.0, 3.0]) is None


def test_run_plans_encode_up_to_its_max_size_and_store_by_pairs(tmp_path: Path) -> None:
    run = scale_module("run")
    jobs = run.plan(["encode", "store", "search"], [10_000, 100_000], [1_000_000], tmp_path)
    planned = [(job.stage, job.size, job.data_dir.name, job.options) for job in jobs]
    assert planned == [
        ("search", 10_000, "synthetic-10000", ()),
        ("encode", 10_000, "synthetic-10000", ()),
        ("encode", 30_000, "synthetic-100000", ("--limit", "30000")),
        ("search", 100_000, "synthetic-100000", ()),
        ("store", 1_000_000, "store", ("--pairs", "1000000")),
    ]
