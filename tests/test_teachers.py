"""Teachers on tiny real models: scores equal the underlying library's, fingerprints track settings."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from rankdistill.core.errors import UserError
from rankdistill.encoders.models import EncodingSettings
from rankdistill.store import ScoreStore, score_with_store
from rankdistill.teachers import (
    EnsembleTeacher,
    Member,
    build_teacher,
    calibrate,
    make_fingerprint,
    weights_hash,
)
from tests.conftest import TINY_CORPUS

DOCS = [f"{title} {text}" for title, text in TINY_CORPUS.values()]
QUERIES = ["what causes ocean tides"] * 3 + ["why does coffee reduce tiredness"] * 2
PAIR_DOCS = [DOCS[6], DOCS[3], DOCS[0], DOCS[4], DOCS[9]]


@pytest.fixture(scope="session")
def tiny_cross_encoder(splade_tiny: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """SPLADE-tiny's BERT body with a fresh (seeded) one-logit head: a real, tiny cross-encoder."""
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    model = CrossEncoder(splade_tiny, num_labels=1, max_length=64, device="cpu")
    folder = tmp_path_factory.mktemp("tiny-ce") / "model"
    model.save(str(folder))
    return str(folder)


def test_cross_encoder_returns_raw_logits(tiny_cross_encoder: str) -> None:
    from sentence_transformers import CrossEncoder

    teacher = build_teacher(
        f"cross-encoder:{tiny_cross_encoder}",
        encoding=EncodingSettings(max_length=64, device="cpu"),
    )
    scores = teacher.score(QUERIES, PAIR_DOCS)
    plain = CrossEncoder(tiny_cross_encoder, max_length=64, device="cpu")
    logits = plain.predict(list(zip(QUERIES, PAIR_DOCS)), activation_fn=torch.nn.Identity())
    np.testing.assert_allclose(scores, logits, atol=1e-5)
    np.testing.assert_allclose(
        torch.sigmoid(torch.tensor(scores)).numpy(),
        plain.predict(list(zip(QUERIES, PAIR_DOCS))),
        atol=1e-5,
    )


def test_fingerprint_tracks_settings_not_instances(tiny_cross_encoder: str) -> None:
    from rankdistill.teachers.cross_encoder import CrossEncoderTeacher

    a = CrossEncoderTeacher(tiny_cross_encoder, max_length=64, device="cpu")
    assert (
        a.fingerprint
        == CrossEncoderTeacher(tiny_cross_encoder, max_length=64, device="cpu").fingerprint
    )
    assert (
        a.fingerprint
        != CrossEncoderTeacher(tiny_cross_encoder, max_length=32, device="cpu").fingerprint
    )
    assert (
        a.fingerprint
        != CrossEncoderTeacher(
            tiny_cross_encoder, max_length=64, activation="sigmoid", device="cpu"
        ).fingerprint
    )


def test_changed_weights_change_the_fingerprint(tiny_cross_encoder: str, tmp_path: Path) -> None:
    import shutil

    from rankdistill.teachers.cross_encoder import CrossEncoderTeacher

    copy = Path(shutil.copytree(tiny_cross_encoder, tmp_path / "copy"))
    same = CrossEncoderTeacher(str(copy), max_length=64, device="cpu").fingerprint
    weights = copy / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 1
    weights.write_bytes(bytes(data))
    changed = CrossEncoderTeacher(str(copy), max_length=64, device="cpu").fingerprint
    assert same == CrossEncoderTeacher(tiny_cross_encoder, max_length=64, device="cpu").fingerprint
    assert changed != same


def test_bi_encoder_teacher_is_cosine(tiny_dense_model: str) -> None:
    from sentence_transformers import SentenceTransformer

    scores = build_teacher(
        f"bi-encoder:{tiny_dense_model}", encoding=EncodingSettings(device="cpu")
    ).score(QUERIES, PAIR_DOCS)
    plain = SentenceTransformer(tiny_dense_model, device="cpu")
    expected = (
        plain.encode(QUERIES, normalize_embeddings=True)
        * plain.encode(PAIR_DOCS, normalize_embeddings=True)
    ).sum(1)
    np.testing.assert_allclose(scores, expected, atol=1e-5)


def test_sparse_teacher_is_splade_dot(splade_tiny: str) -> None:
    from sentence_transformers import SparseEncoder

    scores = build_teacher(f"sparse:{splade_tiny}", encoding=EncodingSettings(device="cpu")).score(
        QUERIES, PAIR_DOCS
    )
    plain = SparseEncoder(splade_tiny, device="cpu")
    q = plain.encode_query(QUERIES, convert_to_tensor=True).to_dense()
    d = plain.encode_document(PAIR_DOCS, convert_to_tensor=True).to_dense()
    np.testing.assert_allclose(scores, (q * d).sum(1).numpy(), rtol=1e-4, atol=1e-4)
    assert scores[0] > scores[2]  # tides doc beats photosynthesis for a tides query


def test_sparse_teacher_encodes_each_text_once_across_calls(splade_tiny: str, monkeypatch) -> None:
    import rankdistill.retrieval.sparse as sparse

    teacher = build_teacher(f"sparse:{splade_tiny}", encoding=EncodingSettings(device="cpu"))
    first = teacher.score(QUERIES, PAIR_DOCS)
    encoded: list[str] = []
    real = sparse.encode_sparse
    monkeypatch.setattr(
        sparse,
        "encode_sparse",
        lambda model, texts, *a, **k: encoded.extend(texts) or real(model, texts, *a, **k),
    )
    again = teacher.score(list(reversed(QUERIES)), list(reversed(PAIR_DOCS)))
    assert encoded == []  # every text came from the memo
    np.testing.assert_allclose(again, first[::-1], rtol=1e-6)
    teacher.score([QUERIES[0]], ["a document it has not seen"])
    assert encoded == ["a document it has not seen"]
    from rankdistill.retrieval.base import clear_memo

    clear_memo()  # what cold-latency timing does: the teacher encodes again
    teacher.score([QUERIES[0]], ["a document it has not seen"])
    assert encoded == ["a document it has not seen", QUERIES[0], "a document it has not seen"]


def test_bm25_teacher_matches_retrieval_and_rejects_foreign_docs() -> None:
    teacher = build_teacher("bm25", corpus_texts=DOCS)
    scores = teacher.score(QUERIES, PAIR_DOCS)
    assert scores[0] > 0 and scores[2] == 0 and scores[3] > 0
    with pytest.raises(UserError, match="pair 1.*not in the corpus"):
        teacher.score(["q", "q"], [DOCS[0], "a document from elsewhere"])


@pytest.mark.parametrize("spec", ["oracle:x", "cross-encoder", "cross-encoder:", "bm25"])
def test_bad_teacher_specs(spec: str) -> None:
    with pytest.raises(UserError):
        build_teacher(spec)


def test_calibrations_by_hand() -> None:
    s = np.array([1.0, 2.0, 3.0, 3.0])
    np.testing.assert_allclose(calibrate(s, "zscore"), (s - 2.25) / s.std())
    np.testing.assert_allclose(calibrate(s, "minmax"), [0.0, 0.5, 1.0, 1.0])
    np.testing.assert_allclose(calibrate(s, "rank"), [0.0, 1 / 3, 5 / 6, 5 / 6])
    np.testing.assert_allclose(calibrate(s, "temperature", 2.0), s / 2)
    assert calibrate(np.array([5.0, 5.0]), "zscore").tolist() == [0.0, 0.0]
    with pytest.raises(UserError):
        calibrate(s, "softmaxish")


class ListTeacher:
    """A teacher whose score is a fixed function of the doc; counts the pairs it scored."""

    def __init__(self, fingerprint: str, scale: float):
        self.fingerprint, self.scale, self.calls = fingerprint, scale, 0

    def score(self, queries: list[str], docs: list[str]) -> np.ndarray:
        self.calls += len(docs)
        return np.array([self.scale * len(d) for d in docs], dtype=np.float32)


def test_ensemble_calibrates_per_query_and_weights_members(tmp_path: Path) -> None:
    big, small = ListTeacher("big", 100.0), ListTeacher("small", 0.01)
    ensemble = EnsembleTeacher([Member(big, 1.0, "minmax"), Member(small, 3.0, "minmax")])
    scores = score_with_store(ensemble, QUERIES, PAIR_DOCS, tmp_path, progress=False)
    lengths = np.array([len(d) for d in PAIR_DOCS], dtype=float)
    expected = np.concatenate(
        [4 * calibrate(lengths[:3], "minmax"), 4 * calibrate(lengths[3:], "minmax")]
    )
    np.testing.assert_allclose(
        scores, expected, atol=1e-6
    )  # scales no longer matter after calibration
    reweighted = EnsembleTeacher([Member(big, 2.0, "zscore"), Member(small, 1.0, "zscore")])
    score_with_store(reweighted, QUERIES, PAIR_DOCS, tmp_path, progress=False)
    assert (big.calls, small.calls) == (5, 5)  # member scores came from the store the second time
    assert reweighted.fingerprint != ensemble.fingerprint
    assert len(ScoreStore(tmp_path, "big")) == 5
    np.testing.assert_allclose(
        ensemble.score(QUERIES, PAIR_DOCS), scores, atol=1e-6
    )  # the same without a store


def test_rerank_orders_by_teacher_within_depth_and_caches(tiny_beir: Path, tmp_path: Path) -> None:
    from rankdistill.data import load_dataset
    from rankdistill.evaluation import rerank

    dataset = load_dataset(tiny_beir, "test")
    first = {"q1": {"d1": 3.0, "d2": 2.0, "d5": 1.0}, "q2": {"d7": 1.0}}
    teacher = ListTeacher("len", 1.0)  # longer document text scores higher
    reranked = rerank(dataset, first, teacher, depth=2, store_root=tmp_path)
    assert set(reranked["q1"]) == {"d1", "d2"}  # only the top-2 of the first stage
    lengths = {d: len(dataset.doc_text(d)) for d in ("d1", "d2")}
    assert max(reranked["q1"], key=reranked["q1"].get) == max(lengths, key=lengths.get)
    rerank(dataset, first, teacher, depth=2, store_root=tmp_path)
    assert teacher.calls == 3  # the second rerank read every score from the store


def test_listwise_teacher_goes_through_its_members_stores(tmp_path: Path) -> None:
    """An ensemble is calibrated over each call's candidate lists, so the store keeps its
    members' scores, never the ensemble's (a partial rescoring would calibrate over a subset)."""
    from rankdistill.store import score_with_store

    member = ListTeacher("len", 1.0)
    ensemble = EnsembleTeacher([Member(member, 1.0, "zscore")])
    first = score_with_store(ensemble, QUERIES, PAIR_DOCS, tmp_path, progress=False)
    again = score_with_store(ensemble, QUERIES[:2], PAIR_DOCS[:2], tmp_path, progress=False)
    assert member.calls == 5  # the second call read its member scores from the store
    np.testing.assert_allclose(
        again, calibrate(first[:2] * 0 + [len(d) for d in PAIR_DOCS[:2]], "zscore"), atol=1e-6
    )
    assert not (tmp_path / ensemble.fingerprint).exists()


def test_ensemble_from_yaml(tiny_cross_encoder: str, tmp_path: Path) -> None:
    config = tmp_path / "ensemble.yaml"
    config.write_text(
        "members:\n"
        "  - teacher: bm25\n"
        "    weight: 2.0\n"
        f"  - teacher: cross-encoder:{tiny_cross_encoder}\n"
        "    calibration: rank\n"
        "    max_length: 32\n"
    )
    ensemble = build_teacher(f"ensemble:{config}", DOCS, encoding=EncodingSettings(device="cpu"))
    assert [(m.weight, m.calibration) for m in ensemble.members] == [(2.0, "zscore"), (1.0, "rank")]
    assert ensemble.members[1].teacher.max_length == 32
    scores = ensemble.score(QUERIES, PAIR_DOCS)
    bm25 = ensemble.members[0].teacher.score(QUERIES, PAIR_DOCS)
    ce = ensemble.members[1].teacher.score(QUERIES, PAIR_DOCS)
    for rows in (slice(0, 3), slice(3, 5)):
        expected = 2.0 * calibrate(bm25[rows], "zscore") + calibrate(ce[rows], "rank")
        np.testing.assert_allclose(scores[rows], expected, atol=1e-5)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("members: []\n", "ensemble.yaml:1: field 'members': needs at least one item"),
        (
            "members:\n  - teacher: rocket:x\n",
            "ensemble.yaml:2: field 'members[0].teacher': unknown teacher 'rocket:x'",
        ),
        (
            "members:\n  - teacher: bm25\n    calibration: softmax\n",
            "ensemble.yaml:3: field 'members[0].calibration': expected one of zscore",
        ),
        (
            "members:\n  - teacher: bm25\n    wieght: 2\n",
            "ensemble.yaml:3: field 'members[0].wieght': unknown key",
        ),
        (
            "members:\n  - teacher: bm25\n    backend: onnx\n",
            "ensemble.yaml:3: field 'members[0].backend': backend 'onnx' is for cross",
        ),
        (
            "members:\n  - teacher: cross-encoder:x\n    backend: tpu\n",
            "ensemble.yaml:3: field 'members[0].backend': expected one of auto, torch",
        ),
    ],
)
def test_bad_ensemble_yaml_names_the_field(tmp_path: Path, body: str, message: str) -> None:
    config = tmp_path / "ensemble.yaml"
    config.write_text(body)
    with pytest.raises(UserError, match=message.replace("[", r"\[").replace("]", r"\]")):
        build_teacher(f"ensemble:{config}", corpus_texts=DOCS)


def test_bf16_changes_the_bi_encoder_fingerprint_and_float32_keeps_the_old_one(
    tiny_dense_model: str,
) -> None:
    from rankdistill.teachers.bi_encoder import BiEncoderTeacher

    fp32 = BiEncoderTeacher(tiny_dense_model, device="cpu", precision="float32")
    bf16 = build_teacher(
        f"bi-encoder:{tiny_dense_model}", encoding=EncodingSettings(device="cpu", precision="bf16")
    )
    assert bf16.fingerprint != fp32.fingerprint
    # float32 fingerprints are what they were before bf16 existed: stored scores stay valid
    old = make_fingerprint(
        "bi-encoder",
        weights=weights_hash(tiny_dense_model),
        similarity="cosine",
        max_length=fp32.encoding.model.max_seq_length,
    )
    assert fp32.fingerprint == old
    np.testing.assert_allclose(
        bf16.score(QUERIES, PAIR_DOCS), fp32.score(QUERIES, PAIR_DOCS), atol=0.02
    )


# unsorted pairs with repeats: an exported backend must sort by length and put scores back in order
BACKEND_QUERIES, BACKEND_DOCS = (
    QUERIES * 3,
    PAIR_DOCS[::-1] + PAIR_DOCS + PAIR_DOCS[1:] + PAIR_DOCS[:1],
)


def torch_scores(model: str) -> tuple[np.ndarray, str]:
    """Float32 torch scores of the backend pairs, and that teacher's fingerprint."""
    from rankdistill.teachers.cross_encoder import CrossEncoderTeacher

    teacher = CrossEncoderTeacher(
        model, max_length=64, device="cpu", backend="torch", precision="float32"
    )
    return teacher.score(BACKEND_QUERIES, BACKEND_DOCS), teacher.fingerprint


def test_onnx_backends_score_like_torch_and_export_once(
    tiny_cross_encoder: str, tmp_path: Path, monkeypatch
) -> None:
    from rankdistill.teachers.cross_encoder import CrossEncoderTeacher

    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    expected, torch_fingerprint = torch_scores(tiny_cross_encoder)
    onnx = CrossEncoderTeacher(tiny_cross_encoder, max_length=64, device="cpu", backend="onnx")
    np.testing.assert_allclose(
        onnx.score(BACKEND_QUERIES, BACKEND_DOCS), expected, atol=1e-4
    )  # same float32 math
    assert onnx.fingerprint != torch_fingerprint
    exported = next((tmp_path / "cache" / "onnx").iterdir()) / "model.onnx"
    stamp = exported.stat().st_mtime_ns
    int8 = CrossEncoderTeacher(tiny_cross_encoder, max_length=64, device="cpu", backend="onnx-int8")
    assert (
        exported.stat().st_mtime_ns == stamp and (exported.parent / "model-int8.onnx").is_file()
    )  # float32 export reused
    quantised = int8.score(BACKEND_QUERIES, BACKEND_DOCS)
    assert (
        not np.allclose(quantised, expected, atol=1e-6)
        and np.corrcoef(quantised, expected)[0, 1] > 0.9
    )
    assert int8.fingerprint not in (onnx.fingerprint, torch_fingerprint)
    with pytest.raises(UserError, match="unknown backend 'tensorrt': expected one of auto, torch"):
        CrossEncoderTeacher(tiny_cross_encoder, backend="tensorrt")
    with pytest.raises(UserError, match="backend 'onnx' runs float32: set precision float32"):
        CrossEncoderTeacher(tiny_cross_encoder, backend="onnx", precision="bf16")
    with pytest.raises(UserError, match="backend 'onnx' is not one bm25 runs on \(torch\)"):
        build_teacher("bm25", ["a"], encoding=EncodingSettings(backend="onnx"))


def test_openvino_backend_scores_like_torch_and_bf16_is_its_own_teacher(
    tiny_cross_encoder: str, tmp_path: Path, monkeypatch
) -> None:
    import openvino

    from rankdistill.teachers.cross_encoder import CrossEncoderTeacher

    monkeypatch.setenv("RANKDISTILL_CACHE", str(tmp_path / "cache"))
    expected, torch_fingerprint = torch_scores(tiny_cross_encoder)
    ov32 = CrossEncoderTeacher(
        tiny_cross_encoder, max_length=64, device="cpu", backend="openvino", precision="float32"
    )
    np.testing.assert_allclose(
        ov32.score(BACKEND_QUERIES, BACKEND_DOCS), expected, atol=1e-4
    )  # f32 hint: the same math
    assert ov32.fingerprint != torch_fingerprint
    if "BF16" not in openvino.Core().get_property("CPU", "OPTIMIZATION_CAPABILITIES"):
        with pytest.raises(UserError, match="needs a CPU with bf16 instructions"):
            CrossEncoderTeacher(
                tiny_cross_encoder,
                max_length=64,
                device="cpu",
                backend="openvino",
                precision="bf16",
            )
        return
    ov16 = CrossEncoderTeacher(
        tiny_cross_encoder, max_length=64, device="cpu", backend="openvino", precision="bf16"
    )
    reduced = ov16.score(BACKEND_QUERIES, BACKEND_DOCS)
    assert (
        not np.allclose(reduced, expected, atol=1e-6) and np.corrcoef(reduced, expected)[0, 1] > 0.9
    )
    assert ov16.fingerprint not in (ov32.fingerprint, torch_fingerprint)


def test_kendall_tau_and_spread_by_hand() -> None:
    from rankdistill.teachers.diagnostics import mean_kendall_tau, spread

    a = {"q1": np.array([3.0, 2.0, 1.0]), "q2": np.array([1.0, 2.0, 3.0, 4.0])}
    b = {"q1": np.array([1.0, 2.0, 3.0]), "q2": np.array([1.0, 2.0, 4.0, 3.0])}
    # q1: fully reversed (-1); q2: one discordant pair of six -> (5 - 1) / 6
    assert mean_kendall_tau(a, b) == pytest.approx((-1 + 4 / 6) / 2)
    assert mean_kendall_tau(a, a) == pytest.approx(1.0)
    s = spread(a)
    assert s["median_range"] == pytest.approx(2.5)  # ranges 2 and 3
    assert s["median_top_gap"] == pytest.approx(1.0)


def test_bm25_scores_a_query_of_stopwords_as_matching_nothing() -> None:
    from rankdistill.teachers import build_teacher

    docs = ["plants make glucose from sunlight", "volcanoes erupt lava"]
    teacher = build_teacher("bm25", corpus_texts=docs)
    scores = teacher.score(
        ["what is the", "glucose"], [docs[0], docs[0]]
    )  # pairs; the first query has only stopwords
    assert scores[0] == 0.0 and scores[1] > 0.0


def test_a_bm25_teacher_pickles_for_ray_workers_and_scores_the_same() -> None:
    """Teacher scoring on Ray ships the teacher to its workers: BM25's stemmer (a C object) is
    left out of the pickle and made again on load."""
    import pickle

    from rankdistill.teachers import build_teacher

    teacher = build_teacher("bm25", ["gene brain", "heart vitamin dose", "sleeping trials"])
    copy = pickle.loads(pickle.dumps(teacher))
    queries, docs = ["gene", "sleep trial"], ["gene brain", "sleeping trials"]
    assert copy.fingerprint == teacher.fingerprint
    assert copy.score(queries, docs).tolist() == teacher.score(queries, docs).tolist()
    assert copy.score(queries, docs)[1] > 0  # "sleep" / "trial" still stem to the stored terms


def test_a_bm25_teacher_reads_its_corpus_without_keeping_a_text() -> None:
    """Scale: the teacher holds its index and a digest a document, not the corpus (a 1M-document
    corpus is 1 GB of text); its fingerprint is still the digest of the texts joined, as before."""
    import hashlib
    import pickle

    from rankdistill.core.fingerprints import make_fingerprint
    from rankdistill.data.open import DocumentTexts

    corpus = {
        "d1": {"title": "Glucose", "text": "plants make glucose from sunlight"},
        "d2": {"title": "", "text": "ocean tides follow the moon"},
        "d3": {"title": "Virus", "text": "antibiotics do not work against a virus"},
    }
    texts = DocumentTexts(corpus, list(corpus))
    teacher = build_teacher("bm25", texts)
    joined = hashlib.sha256("\x1e".join(list(texts)).encode()).hexdigest()
    assert teacher.fingerprint == make_fingerprint("bm25", corpus=joined, k1=1.5, b=0.75)
    held = pickle.dumps(teacher)
    assert not any(text.encode() in held for text in texts)  # no document text is kept
    scores = teacher.score(["glucose sunlight", "moon tides"], [texts[0], texts[1]])
    assert (
        scores.tolist()
        == build_teacher("bm25", list(texts))
        .score(["glucose sunlight", "moon tides"], [texts[0], texts[1]])
        .tolist()
    )
    assert scores.min() > 0
