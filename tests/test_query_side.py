"""Query-side distillation over a frozen document index (`train.student.frozen_documents`), and
`rankdistill run` evaluating a student on several datasets: the corpus is encoded once by the
starting model and never again during training, the saved student is a plain ST Router folder
that encodes queries with the trained weights and documents with the starting ones, and the run
searches the starting model's index with it (no re-indexing), in domain and out of domain."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import pipeline_stages, run_pipeline
from tests.conftest import TINY_CORPUS, write_beir

OTHER_CORPUS = {
    "e1": ("Volcanoes", "Lava flows from erupting volcanoes cool into basalt."),
    "e2": ("Oceans", "Tides are caused by the gravitational pull of the moon."),
    "e3": ("Bees", "Honey bees communicate the location of flowers by dancing."),
    "e4": ("Deserts", "Cacti store water in their thick stems to survive droughts."),
}
OTHER_QUERIES = {"o1": "how do bees tell each other where flowers are", "o2": "what causes tides"}
OTHER_QRELS = {"o1": {"e3": 1}, "o2": {"e2": 1}}


def query_side_config(
    folder: Path, beir: Path, other: Path, model: str, name: str = "qs", seed: int = 13
) -> Path:
    text = f"""
name: {name}
seed: {seed}
output_dir: {folder / "runs"}
dataset: {beir}
teacher:
  members:
    - teacher: bm25
    - teacher: "bi-encoder:{model}"
mine: {{split: train, retrievers: [bm25], n_top: 3, n_random: 1, depth: 8, batch_size: 8}}
train:
  data: {{negatives: 2}}
  student: {{kind: dense, model: "{model}", max_length: 16, frozen_documents: true}}
  loss: {{listwise_kl: {{scale: 20}}, infonce: {{weight: 0.1}}}}
  trainer: {{epochs: 2, batch_size: 2, learning_rate: 1.0e-3, logging_steps: 1, device: cpu}}
  dev: {{split: dev, queries: 2}}
index: {{spec: Flat, batch_size: 8, max_length: 48}}
rerank_depth: 5
evaluate: {{datasets: ["{beir}", "{other}"], split: test, retrievers: [bm25, "dense:{model}"], k: 10, batch_size: 8, max_length: 48}}
"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def mined_and_indexed(config, beir: Path):
    """Run the mine and index stages of `config`; (the training set, the frozen documents)."""
    from rankdistill.pipeline.cache import run_stages
    from rankdistill.pipeline.run import frozen_documents, index_folder

    outcomes = run_stages(
        [s for s in pipeline_stages(config) if s.name in ("mine", "index")], config.run_dir()
    )
    folders = {o.name: o.folder for o in outcomes}
    return folders["mine"] / "train.jsonl", frozen_documents(
        index_folder(folders["index"], config, str(beir))
    )


@pytest.fixture
def datasets(tmp_path: Path) -> tuple[Path, Path]:
    beir = write_beir(
        write_beir(write_beir(tmp_path / "tiny", split="train"), split="test"), split="dev"
    )
    other = write_beir(tmp_path / "other", OTHER_CORPUS, OTHER_QUERIES, OTHER_QRELS, split="test")
    return beir, other


def test_query_side_run_searches_the_starting_index_in_and_out_of_domain(
    datasets: tuple[Path, Path],
    tmp_path: Path,
    tiny_dense_model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.encoders.asymmetric import ASYMMETRIC_FILE, is_asymmetric

    beir, other = datasets
    config = load_pipeline_config(query_side_config(tmp_path, beir, other, tiny_dense_model))
    stages = {s.name: s for s in pipeline_stages(config)}
    assert [s.name for s in pipeline_stages(config)] == ["mine", "index", "train", "evaluate"]
    assert stages["index"].inputs == [] and stages["train"].inputs == ["mine", "index"]

    outcomes = run_pipeline(config, "qs.yaml")
    run_dir = tmp_path / "runs" / "qs"
    index_stage = run_dir / "stages" / "index"
    manifest = json.loads((index_stage / "index" / "manifest.json").read_text())
    assert (
        manifest["model"]["name"] == tiny_dense_model
    )  # built by the starting model, before training
    assert (index_stage / "index-other" / "manifest.json").is_file()

    student_path = run_dir / "stages" / "train" / "student"
    record = json.loads((student_path / "rankdistill_train.json").read_text())
    assert record["mode"].startswith("query-side") and record["global_step"] > 0
    assert [p["epoch"] for p in record["dev"]["curve"]] == [0, 1, 2]
    assert (
        json.loads((student_path / ASYMMETRIC_FILE).read_text())["document_model"]
        == tiny_dense_model
    )

    student, starting = (
        SentenceTransformer(str(student_path), device="cpu"),
        SentenceTransformer(tiny_dense_model, device="cpu"),
    )
    assert is_asymmetric(student)
    texts = ["why does coffee reduce tiredness", "Caffeine blocks adenosine receptors."]
    assert np.allclose(
        student.encode_document(texts), starting.encode_document(texts), atol=1e-6
    )  # old weights
    assert not np.allclose(
        student.encode_query(texts), starting.encode_query(texts), atol=1e-3
    )  # new weights

    evaluate = outcomes[-1].summary["datasets"]
    assert set(evaluate) == {"tiny", "other"}
    assert (
        "student (Flat)" in evaluate["tiny"]["systems"]
        and "student (Flat)" in evaluate["other"]["systems"]
    )
    assert "bm25 + teacher rerank@5" in evaluate["tiny"]["systems"]
    assert (
        "bm25 + teacher rerank@5" not in evaluate["other"]["systems"]
    )  # the teacher is for the training domain
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.evaluation import evaluate_retriever, open_dataset

    # The zero-shot baseline went through the starting model's index: the same figures as encoding again.
    direct = evaluate_retriever(
        open_dataset(str(other), "test"),
        f"dense:{tiny_dense_model}",
        10,
        EncodingSettings(batch_size=8, max_length=48),
    )
    assert evaluate["other"]["systems"][f"dense:{tiny_dense_model}"]["metrics"] == pytest.approx(
        direct.result.aggregate
    )
    report = (run_dir / "report.md").read_text()
    assert "## tiny / test" in report and "## other / test" in report
    # the document prior: the training dataset's test queries, split by whether a relevant document
    # was a judged training positive; the two groups add up to every test query
    import re

    head = re.search(
        r"\| system \| relevant doc was a training positive \((\d+) queries\) \| no relevant doc was a training positive \((\d+) queries\) \|",
        report,
    )
    assert head and int(head[1]) + int(head[2]) == len(
        evaluate["tiny"]["systems"]["bm25"]["per_query"]
    )
    assert report.count("### The document prior") == 1  # not for the dataset it did not train on

    # A second seed shares the starting model's encodings: nothing is encoded again.
    second = load_pipeline_config(
        query_side_config(tmp_path, beir, other, tiny_dense_model, "qs-seed2", 14)
    )
    run_pipeline(second, "qs-seed2.yaml")
    rebuilt = json.loads(
        (
            tmp_path / "runs" / "qs-seed2" / "stages" / "index" / "index" / "manifest.json"
        ).read_text()
    )
    assert rebuilt["build_seconds"]["reused_chunks"] == 1


def test_frozen_document_vectors_are_never_reencoded_during_training(
    datasets: tuple[Path, Path],
    tmp_path: Path,
    tiny_dense_model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.data.beir import join_title_text
    from rankdistill.training.query_side import train_query_side

    beir, other = datasets
    config = load_pipeline_config(query_side_config(tmp_path, beir, other, tiny_dense_model))
    training_set, documents = mined_and_indexed(config, beir)
    before = documents.vectors.copy()

    seen: list[str] = []
    original = SentenceTransformer.preprocess

    def recording(self, inputs, *args, **kwargs):
        seen.extend(inputs)
        return original(self, inputs, *args, **kwargs)

    def refuse(*args, **kwargs):
        raise AssertionError("a document was encoded during query-side training")

    monkeypatch.setattr(SentenceTransformer, "preprocess", recording)
    monkeypatch.setattr(SentenceTransformer, "encode_document", refuse)
    monkeypatch.setattr(SentenceTransformer, "encode", refuse)
    import dataclasses

    train_config = dataclasses.replace(
        config.train,
        name="direct",
        output_dir=str(tmp_path / "direct"),
        data=dataclasses.replace(config.train.data, training_set=str(training_set)),
    )
    result = train_query_side(train_config, documents)
    corpus_texts = {join_title_text({"title": t, "text": x}) for t, x in TINY_CORPUS.values()}
    assert seen and not corpus_texts & set(seen)  # only queries went through a model
    assert np.array_equal(documents.vectors, before)
    assert result.record["frozen_documents"]["count"] == len(documents.doc_ids)


def killed_and_straight(
    datasets, tmp_path: Path, model: str, monkeypatch: pytest.MonkeyPatch, kill_after: int
):
    """A query-side training run straight through, and the same run killed (KeyboardInterrupt)
    right after its `kill_after`-th checkpoint: (straight result, a function that resumes the
    killed run, the checkpoint paths saved before the kill)."""
    import dataclasses

    from rankdistill.training import query_side

    beir, other = datasets
    config = load_pipeline_config(query_side_config(tmp_path, beir, other, model))
    training_set, documents = mined_and_indexed(config, beir)

    def configured(name: str):
        return dataclasses.replace(
            config.train,
            name=name,
            output_dir=str(tmp_path / "t"),
            data=dataclasses.replace(config.train.data, training_set=str(training_set)),
        )

    straight = query_side.train_query_side(configured("straight"), documents)
    real_save, saves = query_side._save_checkpoint, []

    def killed(path, state):
        real_save(path, state)
        saves.append(path)
        if len(saves) == kill_after:
            raise KeyboardInterrupt

    monkeypatch.setattr(query_side, "_save_checkpoint", killed)
    with pytest.raises(KeyboardInterrupt):
        query_side.train_query_side(configured("killed"), documents)
    monkeypatch.setattr(query_side, "_save_checkpoint", real_save)
    return straight, lambda: query_side.train_query_side(configured("killed"), documents), saves


def test_query_side_resumes_after_a_kill_with_the_same_weights(
    datasets: tuple[Path, Path],
    tmp_path: Path,
    tiny_dense_model: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    straight, resume, _ = killed_and_straight(
        datasets, tmp_path, tiny_dense_model, monkeypatch, kill_after=1
    )
    resumed = resume()
    assert resumed.record["dev"]["curve"] == straight.record["dev"]["curve"]
    from safetensors.numpy import load_file

    route = json.loads((straight.student / "rankdistill_asymmetric.json").read_text())
    query_dir = route["document_route"].replace("document", "query")
    left = load_file(str(straight.student / query_dir / "model.safetensors"))
    right = load_file(str(resumed.student / query_dir / "model.safetensors"))
    assert all(np.allclose(left[k], right[k], atol=1e-6) for k in left)


@pytest.mark.parametrize("fault", ["newest truncated", "both garbage", "newest without its state"])
def test_a_broken_checkpoint_falls_back_to_the_intact_one_or_starts_over(
    datasets: tuple[Path, Path],
    tmp_path: Path,
    tiny_dense_model: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    fault: str,
) -> None:
    """Killed after two epochs, with the newest checkpoint (or both) damaged: the resumed run
    ends with the same dev curve as one never interrupted, and names the broken file."""
    import torch

    from rankdistill.training import query_side

    straight, resume, saves = killed_and_straight(
        datasets, tmp_path, tiny_dense_model, monkeypatch, kill_after=2
    )
    newest = saves[-1]
    previous = query_side._previous(newest)
    assert previous.is_file()
    if fault == "newest truncated":
        newest.write_bytes(newest.read_bytes()[:100])
    elif fault == "both garbage":
        newest.write_bytes(b"garbage")
        previous.write_bytes(b"garbage")
    else:
        saved = torch.load(newest, weights_only=False)
        del saved["state"]
        torch.save(saved, newest)
    resumed = resume()
    assert resumed.record["dev"]["curve"] == straight.record["dev"]["curve"]
    assert f"{newest}: " in caplog.text and "set aside" in caplog.text


def test_full_finetuning_run_indexes_every_evaluated_dataset_after_training(
    datasets: tuple[Path, Path], tmp_path: Path, tiny_dense_model: str
) -> None:
    from tests.test_pipeline import pipeline_config

    beir, other = datasets
    path = pipeline_config(tmp_path, beir, tiny_dense_model)
    single = {s.name: s for s in pipeline_stages(load_pipeline_config(path))}
    assert "datasets" not in single["index"].settings_under(
        0
    )  # runs made with one dataset keep their (version 0) key
    path.write_text(
        path.read_text().replace(f'datasets: ["{beir}"]', f'datasets: ["{beir}", "{other}"]')
    )
    stages = {s.name: s for s in pipeline_stages(load_pipeline_config(path))}
    assert stages["index"].inputs == ["train"] and stages["index"].settings["datasets"] == [
        str(beir),
        str(other),
    ]


def test_asymmetric_student_keeps_the_starting_identity_and_notices_a_changed_document_route(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.core.errors import UserError
    from rankdistill.core.fingerprints import weights_hash
    from rankdistill.encoders.asymmetric import (
        document_max_length,
        document_weights,
        save_asymmetric,
        set_max_length,
    )

    query, document = (
        SentenceTransformer(tiny_dense_model, device="cpu"),
        SentenceTransformer(tiny_dense_model, device="cpu"),
    )
    query.max_seq_length = 16
    folder = save_asymmetric(
        query,
        document,
        tmp_path / "student",
        {"document_model": "tiny", "document_weights_sha256": weights_hash(tiny_dense_model)},
    )
    assert (
        document_weights(folder)
        == weights_hash(tiny_dense_model)
        == document_weights(tiny_dense_model)
    )
    student = SentenceTransformer(str(folder), device="cpu")
    set_max_length(student, 40)  # an index's max length: the document route's only
    assert (
        document_max_length(student) == 40
        and student[0].sub_modules["query"][0].max_seq_length == 16
    )
    weights = next(
        (
            folder
            / json.loads((folder / "rankdistill_asymmetric.json").read_text())["document_route"]
        ).glob("*.safetensors")
    )
    weights.write_bytes(weights.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(UserError, match="document route"):
        document_weights(folder)


def test_interpolated_student_sits_between_the_starting_and_trained_weights(
    datasets: tuple[Path, Path], tmp_path: Path, tiny_dense_model: str
) -> None:
    """WiSE-FT (`student.interpolate: 0.5`): every query weight is the midpoint of the starting
    and the trained one, so the saved query route differs from both; the dev set is measured
    again on the mixed model. Without frozen documents the option is refused."""
    import torch
    from sentence_transformers import SentenceTransformer

    from rankdistill.core.errors import InputError
    from rankdistill.training.query_side import interpolate_weights

    starting = SentenceTransformer(tiny_dense_model, device="cpu")
    trained = SentenceTransformer(tiny_dense_model, device="cpu")
    with torch.no_grad():
        for parameter in trained.parameters():
            parameter.add_(1.0)
    before = {k: v.clone() for k, v in trained.state_dict().items()}
    interpolate_weights(trained, starting, 0.5)
    for key, value in trained.state_dict().items():
        if value.is_floating_point():
            assert torch.allclose(value, (starting.state_dict()[key] + before[key]) / 2)

    beir, other = datasets
    path = query_side_config(tmp_path, beir, other, tiny_dense_model)
    path.write_text(
        path.read_text().replace(
            "frozen_documents: true}", "frozen_documents: true, interpolate: 0.5}"
        )
    )
    run_pipeline(load_pipeline_config(path), path)
    record = json.loads(
        (
            tmp_path / "runs" / "qs" / "stages" / "train" / "student" / "rankdistill_train.json"
        ).read_text()
    )
    assert record["dev"]["interpolated"]["interpolate"] == 0.5
    assert (
        record["dev"]["metrics"]["dev_cosine_ndcg@10"] == record["dev"]["interpolated"]["ndcg@10"]
    )

    path.write_text(path.read_text().replace("frozen_documents: true, ", ""))
    with pytest.raises(InputError, match="student.interpolate"):
        load_pipeline_config(path)


def test_anchor_holds_corpus_documents_where_the_starting_model_put_them(
    datasets: tuple[Path, Path], tmp_path: Path, tiny_dense_model: str
) -> None:
    """`student.anchor: w`: the query encoder trained with the anchor encodes the corpus's
    documents closer to the starting model than the one trained without it, on the same rows and
    steps; the record says how close. Without frozen documents the option is refused."""
    import dataclasses

    from sentence_transformers import SentenceTransformer

    from rankdistill.core.errors import InputError
    from rankdistill.training import query_side

    beir, other = datasets
    config = load_pipeline_config(query_side_config(tmp_path, beir, other, tiny_dense_model))
    training_set, documents = mined_and_indexed(config, beir)

    def trained(name: str, anchor: float):
        train = dataclasses.replace(
            config.train,
            name=name,
            output_dir=str(tmp_path / "t"),
            student=dataclasses.replace(config.train.student, anchor=anchor),
            trainer=dataclasses.replace(config.train.trainer, epochs=4, learning_rate=3e-3),
            data=dataclasses.replace(config.train.data, training_set=str(training_set)),
        )
        return query_side.train_query_side(train, documents)

    texts = query_side.anchor_texts(str(beir), None)
    assert len(texts) == len(TINY_CORPUS)
    start = SentenceTransformer(tiny_dense_model, device="cpu").encode(
        texts, normalize_embeddings=True
    )

    def closeness(student: Path) -> float:
        vectors = SentenceTransformer(str(student), device="cpu").encode_query(
            texts, normalize_embeddings=True
        )
        return float(np.mean(np.sum(vectors * start, axis=1)))

    free, held = trained("free", 0.0), trained("held", 10.0)
    assert "anchor" not in free.record and held.record["anchor"]["documents"] == len(texts)
    assert closeness(held.student) > closeness(free.student)
    assert closeness(free.student) < 0.999  # training moved the free one at all

    path = query_side_config(tmp_path, beir, other, tiny_dense_model)
    path.write_text(path.read_text().replace("frozen_documents: true}", "anchor: 1.0}"))
    with pytest.raises(InputError, match="student.anchor"):
        load_pipeline_config(path)


def test_a_querys_own_document_is_masked_from_the_corpus_terms_and_dev_hits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ArguAna's queries are corpus documents: BEIR ignores a query's own document, mining leaves
    it out, and query-side training must not treat the identical text as a negative either."""
    import torch

    from rankdistill.training import query_side
    from rankdistill.training.data import DevSet
    from rankdistill.training.query_side import FrozenDocuments, dev_ndcgs, own_documents_masked

    documents = FrozenDocuments(["a", "q1", "b"], np.eye(3, dtype=np.float32), "w", None, "test")
    assert own_documents_masked([[0], []], ["q1", "q2"], documents) == [[0, 1], []]

    # a query is encoded as the corpus row its text names
    monkeypatch.setattr(
        query_side, "encode_texts", lambda model, texts, size: torch.eye(3)[[int(t) for t in texts]]
    )

    dev = DevSet("carved", {"q1": "1"}, {}, {"q1": {"a"}})
    corpus = torch.eye(3)
    corpus[0, 1] = 0.5  # query "1" scores its own document 1, "a" 0.5, "b" 0
    kept, ignored = (
        dev_ndcgs(None, dev, documents, corpus, 8, [dev.relevant], flag)[0]
        for flag in (False, True)
    )
    assert ignored == pytest.approx(1.0) and kept < 1.0  # the own document no longer ranks first
