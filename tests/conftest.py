"""Shared fixtures: small BEIR folders written by the tests, and tiny real models."""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(
    os.environ.get("RANKDISTILL_DATA") or REPO.parent / "shared" / "data"
).resolve()  # tests change folders

# ir_datasets fixes its data folder when it is imported, so the tests' own one is set before any
# test can import it: tests never read or write the user's ~/.ir_datasets.
IRDS_HOME = Path(tempfile.mkdtemp(prefix="rankdistill-irds-"))
os.environ["IR_DATASETS_HOME"] = str(IRDS_HOME)
atexit.register(shutil.rmtree, IRDS_HOME, ignore_errors=True)

TINY_CORPUS = {
    "d1": (
        "Photosynthesis",
        "Plants convert sunlight, water and carbon dioxide into glucose and oxygen.",
    ),
    "d2": ("Volcanoes", "Magma rises through the crust and erupts as lava, ash and volcanic gas."),
    "d3": ("Vaccines", "A vaccine trains the immune system to recognise a virus before infection."),
    "d4": (
        "Black holes",
        "A black hole is a region of spacetime where gravity prevents light escaping.",
    ),
    "d5": ("Coffee", "Caffeine in coffee blocks adenosine receptors and reduces tiredness."),
    "d6": (
        "Honey bees",
        "Bees collect nectar from flowers and turn it into honey inside the hive.",
    ),
    "d7": ("Tides", "The gravity of the moon pulls the oceans and causes high and low tides."),
    "d8": ("Antibiotics", "Antibiotics kill bacteria but do not work against viral infections."),
    "d9": ("Glaciers", "Glaciers are slow rivers of ice that carve valleys into mountains."),
    "d10": ("Sleep", "Deep sleep helps the brain consolidate memories formed during the day."),
}
TINY_QUERIES = {
    "q1": "how do plants make glucose from sunlight",
    "q2": "what causes ocean tides",
    "q3": "do antibiotics work against a virus",
    "q4": "why does coffee reduce tiredness",
    "q5": "an unjudged query about volcanoes",
}
TINY_QRELS = {"q1": {"d1": 1}, "q2": {"d7": 2, "d4": 1}, "q3": {"d8": 1, "d3": 1}, "q4": {"d5": 1}}


def write_beir(
    folder: Path,
    corpus: dict[str, tuple[str, str]] | None = None,
    queries: dict[str, str] | None = None,
    qrels: dict[str, dict[str, int]] | None = None,
    split: str = "test",
) -> Path:
    corpus = TINY_CORPUS if corpus is None else corpus
    queries = TINY_QUERIES if queries is None else queries
    qrels = TINY_QRELS if qrels is None else qrels
    (folder / "qrels").mkdir(parents=True, exist_ok=True)
    with (folder / "corpus.jsonl").open("w") as out:
        for doc_id, (title, text) in corpus.items():
            out.write(json.dumps({"_id": doc_id, "title": title, "text": text}) + "\n")
    with (folder / "queries.jsonl").open("w") as out:
        for query_id, text in queries.items():
            out.write(json.dumps({"_id": query_id, "text": text}) + "\n")
    with (folder / "qrels" / f"{split}.tsv").open("w") as out:
        out.write("query-id\tcorpus-id\tscore\n")
        for query_id, docs in qrels.items():
            for doc_id, grade in docs.items():
                out.write(f"{query_id}\t{doc_id}\t{grade}\n")
    return folder


@pytest.fixture
def tiny_beir(tmp_path: Path) -> Path:
    return write_beir(tmp_path / "tiny")


@pytest.fixture(scope="session")
def splade_tiny() -> str:
    """SPLADE-tiny (2 layers, 128 hidden, 17 MB) from the offline catalogue."""
    from rankdistill.encoders.models import resolve_model

    return resolve_model("splade-tiny")


@pytest.fixture(scope="session")
def tiny_dense_model(splade_tiny: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A real, tiny bi-encoder: SPLADE-tiny's BERT body with mean pooling and normalisation."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    body = Transformer(splade_tiny, max_seq_length=64)
    pooling = Pooling(body.get_embedding_dimension(), pooling_mode="mean")
    model = SentenceTransformer(modules=[body, pooling, Normalize()], device="cpu")
    folder = tmp_path_factory.mktemp("tiny-dense") / "model"
    model.save(str(folder))
    return str(folder)


@pytest.fixture(scope="session")
def tiny_teacher_64(splade_tiny: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A 64-dimensional 'teacher' embedder: SPLADE-tiny's body, mean pooling, a fixed Dense layer
    128 -> 64 and normalisation (its space differs from the 128-d tiny student's)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.base.modules import Dense
    from sentence_transformers.sentence_transformer.modules import Normalize, Pooling, Transformer

    torch.manual_seed(0)
    body = Transformer(splade_tiny, max_seq_length=64)
    pooling = Pooling(body.get_embedding_dimension(), pooling_mode="cls")
    model = SentenceTransformer(modules=[body, pooling, Dense(128, 64), Normalize()], device="cpu")
    folder = tmp_path_factory.mktemp("tiny-teacher") / "model"
    model.save(str(folder))
    return str(folder)


@pytest.fixture(scope="module")
def flat_index(
    tiny_dense_model: str, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, Path]:
    """A tiny BEIR folder and a Flat index of it by `tiny_dense_model`: (folder, index folder)."""
    from rankdistill.indexes import BuildSettings, build_index

    beir = write_beir(tmp_path_factory.mktemp("beir") / "tiny")
    folder = tmp_path_factory.mktemp("indexes") / "flat"
    build_index(
        tiny_dense_model,
        str(beir),
        "Flat",
        folder,
        settings=BuildSettings(chunk_size=3),
        progress=False,
    )
    return beir, folder


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not (SHARED_DATA / "scifact" / "corpus.jsonl").is_file():
        pytest.skip(f"real BEIR data not found at {SHARED_DATA} (set RANKDISTILL_DATA)")
    return SHARED_DATA


@pytest.fixture(scope="session")
def irds_home(shared_data: Path) -> Path:
    """$IR_DATASETS_HOME seeded with the official BEIR zips of NFCorpus and ArguAna where
    ir_datasets would download them (`beir/<name>/source.zip`), checked against its md5s."""
    import hashlib

    for name, md5 in IRDS_ZIPS.items():
        archive = shared_data / "_archives" / f"{name}.zip"
        if not archive.is_file():
            pytest.skip(f"{archive} not found")
        target = IRDS_HOME / "beir" / name / "source.zip"
        if not target.exists():
            assert hashlib.md5(archive.read_bytes()).hexdigest() == md5, (
                f"{archive}: not the official BEIR zip"
            )
            target.parent.mkdir(parents=True, exist_ok=True)
            target.symlink_to(archive)
    return IRDS_HOME


IRDS_ZIPS = {
    "nfcorpus": "a89dba18a62ef92f7d323ec890a0d38d",
    "arguana": "8ad3e3c2a5867cdced806d6503f29b99",
}


@pytest.fixture(autouse=True)
def avx2_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests run as on a CPU without native bf16, wherever they run: `precision: auto` is then
    float32, so results do not depend on the machine. A test that wants bf16 asks for it."""
    monkeypatch.setenv("RANKDISTILL_CPU_CAPABILITY", "AVX2")  # subprocesses inherit it
