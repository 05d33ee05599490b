"""Pseudo-query generation (issue 16): each generator is deterministic under a seed, `doc2query:`
runs on a tiny seq2seq model built here, bad specs / empty queries / untitled corpora are clear
errors, a killed generation resumes without redoing a chunk, and `rankdistill run` goes
generate -> mine -> index -> train (query-side) -> evaluate with no training split."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankdistill.core.errors import InputError, UserError
from rankdistill.data import open_with_queries
from rankdistill.data.beir import load_corpus
from rankdistill.mining import generate as generate_module
from rankdistill.mining.generate import generate_queries
from rankdistill.mining.generators import build_generator, parse_generator_spec
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import pipeline_stages, run_pipeline
from tests.conftest import TINY_CORPUS, write_beir

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"
OFFLINE = ["title", "span", "span?n=3&max_words=5", "keywords", "keywords?k=3&n=2"]


@pytest.fixture(scope="module")
def corpus() -> dict[str, dict[str, str]]:
    return load_corpus(SAMPLE / "corpus.jsonl")


@pytest.fixture(scope="session")
def tiny_t5(splade_tiny: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A randomly initialised 1-layer T5 with SPLADE-tiny's BERT tokenizer (no sentencepiece
    model offline): real seq2seq generation, nonsense queries."""
    import torch
    from transformers import AutoTokenizer, T5Config, T5ForConditionalGeneration

    folder = tmp_path_factory.mktemp("tiny-t5") / "model"
    tokenizer = AutoTokenizer.from_pretrained(splade_tiny)
    tokenizer.save_pretrained(folder)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_decoder_layers=1,
        num_heads=2,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.sep_token_id,
        decoder_start_token_id=tokenizer.pad_token_id,
    )
    torch.manual_seed(0)
    T5ForConditionalGeneration(config).save_pretrained(folder)
    return str(folder)


@pytest.mark.parametrize("spec", OFFLINE)
def test_offline_generators_are_deterministic_under_a_seed(spec: str, corpus: dict) -> None:
    docs = list(corpus.items())
    first = build_generator(spec, corpus).generate(docs, seed=7)
    again = build_generator(spec, corpus).generate(docs, seed=7)
    assert first == again and len(first) == len(docs)
    n = parse_generator_spec(spec).n
    assert all(len(queries) == n and all(q.strip() for q in queries) for queries in first)
    # a document's queries do not depend on the others generated with it, nor on their order
    alone = build_generator(spec, corpus).generate(docs[3:5][::-1], seed=7)
    assert alone == [first[4], first[3]]
    if "max_words=5" in spec:  # short sentences: only a window has room to move
        assert build_generator(spec, corpus).generate(docs, seed=8) != first  # the seed matters


def test_generators_make_what_they_say(corpus: dict) -> None:
    doc_id, doc = next(iter(corpus.items()))
    assert build_generator("title", corpus).generate([(doc_id, doc)], 1) == [[doc["title"]]]
    (span,) = build_generator("span?max_words=5", corpus).generate([(doc_id, doc)], 1)[0]
    assert len(span.split()) <= 5 and span in " ".join(doc["text"].split())
    (keywords,) = build_generator("keywords?k=4", corpus).generate([(doc_id, doc)], 1)[0]
    words = keywords.split()
    assert len(words) == 4 and all(w in f"{doc['title']} {doc['text']}".lower() for w in words)


def test_doc2query_samples_a_local_seq2seq_model_deterministically(
    tiny_t5: str, corpus: dict
) -> None:
    docs = list(corpus.items())[:5]
    spec = f"doc2query:{tiny_t5}?n=2&max_length=6&top_k=20&batch_size=2"
    first = build_generator(spec, corpus).generate(docs, seed=3)
    assert first == build_generator(spec, corpus).generate(docs, seed=3)
    assert [len(q) for q in first] == [2] * 5 and all(
        isinstance(q, str) for qs in first for q in qs
    )
    assert first != build_generator(spec, corpus).generate(docs, seed=4)


@pytest.mark.parametrize(
    "spec, message",
    [
        ("telepathy", "unknown query generator 'telepathy'"),
        ("span?max_words=0", "setting 'max_words': must be >= 1"),
        ("span?width=3", "unknown setting 'width' (known: n, max_words, min_words)"),
        ("keywords?k=many", "setting 'k': expected an int, got 'many'"),
        ("span:some-model", "'span' takes no model"),
        ("doc2query", "name a model"),
        ("title?n=2", "n must be 1"),
        ("span?n", "expected key=value"),
    ],
)
def test_bad_generator_spec_is_a_clear_error(spec: str, message: str, corpus: dict) -> None:
    with pytest.raises(UserError) as raised:
        build_generator(spec, corpus)
    assert message in str(raised.value)


def test_a_corpus_without_titles_is_refused_by_title(tmp_path: Path) -> None:
    beir = write_beir(
        tmp_path / "untitled", {d: ("", text) for d, (_, text) in TINY_CORPUS.items()}
    )
    with pytest.raises(UserError, match="no document has a title.*'title' generator"):
        generate_queries(load_corpus(beir / "corpus.jsonl"), str(beir), "title", tmp_path / "out")


def test_an_empty_generated_query_names_the_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankdistill.mining.generators import span

    beir = write_beir(tmp_path / "tiny")
    real = span.SpanGenerator.generate
    monkeypatch.setattr(
        span.SpanGenerator,
        "generate",
        lambda self, docs, seed: [
            q if d != "d3" else ["  "] for (d, _), q in zip(docs, real(self, docs, seed))
        ],
    )
    with pytest.raises(InputError) as raised:
        generate_queries(load_corpus(beir / "corpus.jsonl"), str(beir), "span", tmp_path / "out")
    assert str(raised.value).startswith(f"{beir / 'corpus.jsonl'}:3: field '_id': generator 'span?")
    assert "empty query" in str(raised.value) and "'d3'" in str(raised.value)


def test_generated_queries_read_back_as_a_split_with_their_sources(tmp_path: Path) -> None:
    beir = write_beir(tmp_path / "tiny")
    corpus = load_corpus(beir / "corpus.jsonl")
    made = generate_queries(
        corpus, str(beir), "span?n=2", tmp_path / "gen", documents=6, seed=5, chunk_size=4
    )
    dataset = open_with_queries(str(beir), tmp_path / "gen", "generated")
    assert (
        len(dataset.queries) == made.queries == made.counts["queries"]
        and made.counts["documents"] == 6
    )
    assert all(
        list(judged) == [qid.split("#")[0]] for qid, judged in dataset.qrels.items()
    )  # the source document
    record = json.loads((tmp_path / "gen" / "generated.json").read_text())
    assert (
        record["settings"]["generator"] == "span?max_words=16&min_words=4&n=2"
        and record["settings"]["seed"] == 5
    )
    again = generate_queries(
        corpus, str(beir), "span?n=2", tmp_path / "gen2", documents=6, seed=5, chunk_size=4
    )
    assert (tmp_path / "gen" / "queries.jsonl").read_bytes() == (
        tmp_path / "gen2" / "queries.jsonl"
    ).read_bytes() and again.queries == made.queries
    with pytest.raises(UserError, match="other settings"):
        generate_queries(
            corpus, str(beir), "span?n=2", tmp_path / "gen", documents=6, seed=6, chunk_size=4
        )


def test_a_killed_generation_resumes_without_redoing_a_chunk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankdistill.mining.generators import keywords

    beir = write_beir(tmp_path / "tiny")
    corpus = load_corpus(beir / "corpus.jsonl")
    straight = generate_queries(
        corpus, str(beir), "keywords?n=2", tmp_path / "straight", seed=2, chunk_size=3
    )
    generated: list[str] = []
    real = keywords.KeywordsGenerator.generate

    def counting(self, docs, seed):
        generated.extend(d for d, _ in docs)
        return real(self, docs, seed)

    monkeypatch.setattr(keywords.KeywordsGenerator, "generate", counting)
    real_write = generate_module.atomic_write_json

    def killed_after_two_chunks(path, data):
        real_write(path, data)
        if len(list(path.parent.glob("*.json"))) == 2:
            raise KeyboardInterrupt  # what kill -9 leaves: two finished chunks, no queries file

    monkeypatch.setattr(generate_module, "atomic_write_json", killed_after_two_chunks)
    with pytest.raises(KeyboardInterrupt):
        generate_queries(
            corpus, str(beir), "keywords?n=2", tmp_path / "killed", seed=2, chunk_size=3
        )
    assert not (tmp_path / "killed" / "queries.jsonl").exists() and len(generated) == 6
    monkeypatch.setattr(generate_module, "atomic_write_json", real_write)
    resumed = generate_queries(
        corpus, str(beir), "keywords?n=2", tmp_path / "killed", seed=2, chunk_size=3
    )
    assert len(generated) == len(TINY_CORPUS) and len(set(generated)) == len(
        TINY_CORPUS
    )  # each document once
    assert (tmp_path / "killed" / "queries.jsonl").read_bytes() == (
        tmp_path / "straight" / "queries.jsonl"
    ).read_bytes()
    assert resumed.counts == straight.counts


def test_ranks_split_the_chunks_and_make_the_same_queries(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankdistill.core.distributed import Shard

    beir = write_beir(tmp_path / "tiny")
    corpus = load_corpus(beir / "corpus.jsonl")
    one = generate_queries(corpus, str(beir), "span?n=2", tmp_path / "one", seed=2, chunk_size=3)
    monkeypatch.setattr(
        Shard, "barrier", lambda self: None
    )  # the two ranks run one after the other here
    with pytest.raises(
        FileNotFoundError
    ):  # rank 1 writes its chunks, then reads the record rank 0 writes
        generate_queries(
            corpus, str(beir), "span?n=2", tmp_path / "two", seed=2, chunk_size=3, shard=Shard(1, 2)
        )
    assert sorted(p.name for p in (tmp_path / "two" / "chunks").iterdir()) == [
        "00002.json",
        "00003.json",
    ]  # its block of 4
    two = generate_queries(
        corpus, str(beir), "span?n=2", tmp_path / "two", seed=2, chunk_size=3, shard=Shard(0, 2)
    )
    assert (tmp_path / "one" / "queries.jsonl").read_bytes() == (
        tmp_path / "two" / "queries.jsonl"
    ).read_bytes()
    assert two.counts == one.counts


def generated_config(
    folder: Path, beir: Path, model: str, generator: str = "keywords?k=4", name: str = "gen"
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
generate: {{generator: "{generator}", documents: 8, chunk_size: 3}}
mine: {{queries: generated, retrievers: [bm25, "dense:{model}"], n_top: 2, n_random: 2, depth: 6, batch_size: 8, fn_margin: 0.0}}
train:
  data: {{negatives: 2}}
  student: {{kind: dense, model: "{model}", max_length: 16, frozen_documents: true}}
  loss: {{listwise_kl: {{scale: 20}}, infonce: {{weight: 0.1}}}}
  trainer: {{epochs: 1, batch_size: 2, learning_rate: 1.0e-3, logging_steps: 1, device: cpu}}
  dev: {{queries: 2}}
index: {{spec: Flat, batch_size: 8, max_length: 48}}
rerank_depth: 5
evaluate: {{datasets: ["{beir}"], split: test, retrievers: [bm25], k: 10, batch_size: 8, max_length: 48}}
"""
    path = folder / f"{name}.yaml"
    path.write_text(text)
    return path


def test_run_distils_from_generated_queries_without_a_training_split(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    beir = write_beir(tmp_path / "tiny", split="test")  # test judgements only: nothing to train on
    path = generated_config(tmp_path, beir, tiny_dense_model)
    path.write_text(
        path.read_text().replace("rerank_depth: 5", "rerank_depth: 0")
    )  # 0: no teacher-as-reranker baseline
    config = load_pipeline_config(path)
    stages = {s.name: s for s in pipeline_stages(config)}
    assert list(stages) == ["generate", "mine", "index", "train", "evaluate"]
    assert stages["mine"].inputs == ["generate"] and stages["train"].inputs == [
        "mine",
        "index",
        "generate",
    ]
    outcomes = {o.name: o for o in run_pipeline(config, "gen.yaml")}
    counts = outcomes["mine"].summary["counts"]
    assert (
        counts["queries"] == 8
        and counts["records"] + counts["queries_rejected"] + counts["queries_without_negatives"]
        == 8
    )
    meta = json.loads((outcomes["mine"].folder / "train.jsonl.meta.json").read_text())
    assert meta["config"]["accept_rank"] == 3 and meta["config"]["split"] == "generated"
    record = json.loads(
        (outcomes["train"].folder / "student" / "rankdistill_train.json").read_text()
    )
    assert (
        record["dev"]["source"] == "carved from generated" and len(record["dev"]["query_ids"]) == 2
    )
    assert all("#q" in q for q in record["dev"]["query_ids"])
    assert (tmp_path / "runs" / "gen" / "report.md").is_file()
    results = (outcomes["evaluate"].folder / "results.md").read_text()
    assert "student (Flat)" in results and "teacher rerank" not in results
    rerun = run_pipeline(load_pipeline_config(path), "gen.yaml")
    assert all(o.cached for o in rerun)


def test_the_generate_stage_resumes_in_its_folder_after_a_kill(
    tmp_path: Path, tiny_dense_model: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rankdistill.pipeline.cache import run_stages

    beir = write_beir(tmp_path / "tiny", split="test")
    config = load_pipeline_config(generated_config(tmp_path, beir, tiny_dense_model))
    generate = [s for s in pipeline_stages(config) if s.name == "generate"]
    real_write = generate_module.atomic_write_json
    written: list[str] = []

    def killed_after_first_chunk(path, data):
        real_write(path, data)
        written.append(Path(path).name)
        if len(written) == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(generate_module, "atomic_write_json", killed_after_first_chunk)
    with pytest.raises(KeyboardInterrupt):
        run_stages(generate, config.run_dir())
    (outcome,) = run_stages(generate, config.run_dir())
    assert written == [
        "00000.json",
        "00001.json",
        "00002.json",
        "generated.json",
    ]  # chunk 0 not redone
    assert outcome.summary["queries"] == 8 and (outcome.folder / "done.json").is_file()


def test_judged_and_generated_queries_are_mined_together_with_a_judged_dev(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    import dataclasses

    from rankdistill.mining.records import read_training_set
    from rankdistill.pipeline.cache import run_stages
    from rankdistill.training.train import prepare_data
    from tests.conftest import TINY_QRELS

    beir = write_beir(tmp_path / "tiny", split="train")  # 4 judged training queries
    path = generated_config(tmp_path, beir, tiny_dense_model, name="both")
    path.write_text(
        path.read_text()
        .replace("queries: generated,", "queries: both,")
        .replace("dev: {queries: 2}", "dev: {queries: 1}")
    )
    config = load_pipeline_config(path)
    assert (
        config.train.data.keep_split_queries
        and config.train.data.split == "train"
        and config.mine.accept() == 3
    )
    stages = [s for s in pipeline_stages(config) if s.name in ("generate", "mine")]
    assert stages[1].inputs == ["generate"]
    outcomes = {o.name: o for o in run_stages(stages, config.run_dir())}
    training_set = outcomes["mine"].folder / "train.jsonl"
    records = read_training_set(training_set)
    judged = [r for r in records if "#" not in r.query_id]
    assert (
        judged
        and {r.query_id for r in judged} <= set(TINY_QRELS)
        and any("#q" in r.query_id for r in records)
    )
    for record in (
        judged
    ):  # judged positives face no accept rank: each one the qrels name, whatever the teacher thinks
        assert record.positives and {p.doc_id for p in record.positives} <= set(
            TINY_QRELS[record.query_id]
        )
    meta = json.loads((outcomes["mine"].folder / "train.jsonl.meta.json").read_text())
    assert meta["config"]["split"] == "train+generated" and meta["config"]["accept_rank"] == 3
    assert (
        outcomes["mine"].summary["counts"]["queries"] == 4 + 8
    )  # 4 judged + 8 generated (one per drawn document)
    data = dataclasses.replace(
        config.train.data, training_set=str(training_set), queries=str(outcomes["generate"].folder)
    )
    rows, counts, dev = prepare_data(dataclasses.replace(config.train, data=data))
    assert (
        dev.source == "carved from train"
        and len(dev.queries) == 1
        and "#" not in next(iter(dev.queries))
    )
    texts = {row["query"] for row in rows}
    assert not texts & set(dev.queries.values())  # the dev query is held out of training
    generated = {
        json.loads(line)["text"]
        for line in (outcomes["generate"].folder / "queries.jsonl").read_text().splitlines()
    }
    assert (
        texts & generated and texts - generated
    )  # judged and generated queries train side by side


def test_generated_queries_with_a_cross_fitted_teacher_are_refused(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    beir = write_beir(tmp_path / "tiny", split="train")
    path = generated_config(tmp_path, beir, tiny_dense_model)
    path.write_text(
        path.read_text()
        .replace("queries: generated,", "queries: both,")
        .replace("teacher:\n  members:", "teacher:\n  train: {folds: 2}\n  members:")
    )
    with pytest.raises(
        InputError, match="'mine.queries: both' cannot be used with a cross-fitted teacher"
    ) as error:
        load_pipeline_config(path)
    assert "gen.yaml:12: field 'mine.queries'" in str(error.value)


@pytest.mark.parametrize("fault", ["truncated", "garbage", "wrong type", "deleted"])
def test_a_damaged_chunk_is_generated_again_with_the_same_queries(
    tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    import json

    beir = write_beir(tmp_path / "tiny")
    corpus = load_corpus(beir / "corpus.jsonl")
    straight = generate_queries(
        corpus, str(beir), "keywords?n=2", tmp_path / "straight", seed=2, chunk_size=3
    )
    folder = tmp_path / "damaged"
    generate_queries(corpus, str(beir), "keywords?n=2", folder, seed=2, chunk_size=3)
    (folder / "queries.jsonl").unlink()  # a generation that did not finish merging
    (folder / "generated.json").unlink(missing_ok=True)
    for record in folder.glob("*.json"):
        record.unlink()
    chunk = folder / "chunks" / "00001.json"
    if fault == "truncated":
        chunk.write_text(chunk.read_text()[:40])
    elif fault == "garbage":
        chunk.write_bytes(b"\xff\xfe garbage")
    elif fault == "wrong type":
        data = json.loads(chunk.read_text())
        data["queries"] = "not a list"
        chunk.write_text(json.dumps(data))
    else:
        chunk.unlink()
    resumed = generate_queries(corpus, str(beir), "keywords?n=2", folder, seed=2, chunk_size=3)
    assert (folder / "queries.jsonl").read_bytes() == (
        tmp_path / "straight" / "queries.jsonl"
    ).read_bytes()
    assert resumed.counts == straight.counts
    if fault != "deleted":
        assert f"{chunk}: " in caplog.text and "generating the chunk again" in caplog.text
