"""Students for rankers and embedders (issue 17), on tiny real models:

- a cross-encoder student (SPLADE-tiny's body cut to 1 layer) learns to order its teacher's lists
  the way the teacher does, is evaluated as a reranker beside it, and its run has no index stage;
- embedding alignment lowers the student-teacher MSE, through a learned projection when the
  dimensions differ, with the teacher's vectors cached on disk;
- the asymmetric student (serve: teacher-documents) saves, loads and searches an index its teacher
  built;
- mismatched dimensions without a projection, and bad configs, are clear located errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rankdistill.core.errors import InputError, UserError
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import pipeline_stages, run_pipeline
from rankdistill.training import load_train_config
from tests.conftest import write_beir


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    return write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")


def cross_encoder_run(
    folder: Path, beir: Path, body: str, teacher: str, loss: str = "listwise_kl"
) -> Path:
    path = folder / "ce.yaml"
    path.write_text(f"""
name: ce
output_dir: {folder / "runs"}
dataset: {beir}
teacher:
  members: [{{teacher: "bi-encoder:{teacher}"}}]
mine: {{split: train, retrievers: ["dense:{teacher}"], n_top: 4, n_random: 0, depth: 10, batch_size: 8}}
train:
  data: {{negatives: 3}}
  student: {{kind: cross-encoder, model: "{body}", layers: 1, max_length: 48}}
  loss: {loss}
  trainer: {{epochs: 40, batch_size: 4, learning_rate: 2.0e-3, warmup_ratio: 0.0, logging_steps: 5, save_steps: 1000, device: cpu}}
index: {{spec: Flat}}
rerank_depth: 5
evaluate: {{datasets: ["{beir}"], split: test, retrievers: [bm25], k: 10, batch_size: 8}}
""")
    return path


def test_cross_encoder_student_learns_its_teachers_order(
    beir: Path, tmp_path: Path, splade_tiny: str, tiny_dense_model: str
) -> None:
    from sentence_transformers.cross_encoder import CrossEncoder

    from rankdistill.mining.records import read_training_set
    from rankdistill.teachers.diagnostics import mean_kendall_tau

    config = load_pipeline_config(cross_encoder_run(tmp_path, beir, splade_tiny, tiny_dense_model))
    assert [s.name for s in pipeline_stages(config)] == [
        "mine",
        "train",
        "evaluate",
    ]  # no index for a reranker
    outcomes = run_pipeline(config, "ce.yaml")
    run_dir = tmp_path / "runs" / "ce"
    student_path = run_dir / "stages" / "train" / "student"
    student = CrossEncoder(str(student_path), device="cpu")
    assert student.config.num_hidden_layers == 1 and student.num_labels == 1

    # The teacher's lists: the student now orders them as the teacher does; the untrained body did not.
    records = read_training_set(run_dir / "stages" / "mine" / "train.jsonl")
    from rankdistill.data import open_dataset

    dataset = open_dataset(str(beir), "train")
    untrained = CrossEncoder(
        splade_tiny,
        num_labels=1,
        max_length=48,
        device="cpu",
        config_kwargs={"num_hidden_layers": 1},
    )

    def tau(model: CrossEncoder) -> float:
        teacher, scored = {}, {}
        for r in records:
            docs = [*r.positives, *r.negatives]
            teacher[r.query_id] = np.array([d.score for d in docs])
            scored[r.query_id] = model.predict(
                [(r.query, dataset.doc_text(d.doc_id)) for d in docs],
                activation_fn=__import__("torch").nn.Identity(),
            )
        return mean_kendall_tau(teacher, scored)

    after, before = tau(student), tau(untrained)
    assert after >= 0.7 and after > before + 0.3, (before, after)

    datasets = outcomes[-1].summary["datasets"]
    systems = datasets["tiny"]["systems"]
    assert {"bm25", "bm25 + teacher rerank@5", "student rerank of bm25@5"} <= set(systems)
    assert "bm25 + student rerank (ms/query, cold)" in datasets["tiny"]["latency"]
    assert outcomes[-1].summary["cost"]["student"]["parameters"] > 0
    report = (run_dir / "report.md").read_text()
    assert (
        "| model | ms/query (what was timed) | parameters | MB on disk |" in report
        and "| student |" in report
    )


def embedding_train_config(
    folder: Path,
    beir: Path,
    student: str,
    teacher: str,
    projection: str = "auto",
    serve: str = "student",
    document_kl: float = 0.0,
) -> Path:
    path = folder / "embed.yaml"
    path.write_text(f"""
name: embed
output_dir: {folder / "runs"}
data: {{dataset: "{beir}", split: train}}
student: {{kind: dense, model: "{student}", distill: embeddings, teacher: "{teacher}", projection: {projection}, serve: {serve},
           texts: [documents, sentences, titles, queries], max_length: 32, document_kl: {document_kl}}}
loss: mse
trainer: {{epochs: 30, batch_size: 8, learning_rate: 2.0e-3, warmup_ratio: 0.0, logging_steps: 5, save_steps: 1000, device: cpu}}
""")
    return path


def test_embedding_alignment_lowers_the_student_teacher_mse(
    beir: Path, tmp_path: Path, tiny_dense_model: str, tiny_teacher_64: str
) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.training.embedding_targets import teacher_targets
    from rankdistill.training.families import train_student

    config = load_train_config(
        embedding_train_config(tmp_path, beir, tiny_dense_model, tiny_teacher_64)
    )
    cache = tmp_path / "encodings"
    texts, targets, teacher, kinds = teacher_targets(config, cache)
    assert (
        targets.shape == (len(texts), 64)
        and teacher["weights_sha256"]
        and set(kinds) == {"documents", "sentences", "titles", "queries"}
    )
    folders = sorted(p.name for p in cache.iterdir())
    assert len(folders) == 4 and all(
        (cache / f / "state.json").is_file() for f in folders
    )  # one cached encoding per kind

    result = train_student(config, encodings=cache)
    alignment = result.record["alignment"]
    assert alignment["after"]["mse"] < 0.5 * alignment["before"]["mse"], alignment
    assert (
        alignment["least_squares_projection"]["mse"] < alignment["before"]["mse"]
    )  # the ridge start, before any step
    assert sorted(p.name for p in cache.iterdir()) == folders  # the second pass encoded nothing new
    student = SentenceTransformer(str(result.student), device="cpu")
    assert student.get_embedding_dimension() == 64 and result.record["projection"] == {
        "dense": True,
        "dimension": 64,
    }
    reference = SentenceTransformer(tiny_teacher_64, device="cpu").encode(texts[:5])
    assert np.mean((student.encode(texts[:5]) - reference) ** 2) < alignment["before"]["mse"]


def test_document_kl_is_zero_at_the_teachers_vectors_and_positive_elsewhere() -> None:
    from rankdistill.losses.document_kl import document_kl

    generator = torch.Generator().manual_seed(0)

    def unit(*shape: int) -> torch.Tensor:
        return torch.nn.functional.normalize(torch.randn(*shape, generator=generator), dim=-1)

    teacher, documents = unit(4, 16), unit(50, 16)
    assert float(document_kl(teacher, teacher, documents, 20.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(document_kl(unit(4, 16), teacher, documents, 20.0)) > 0.1


def test_document_kl_trains_the_student_to_rank_the_teachers_documents(
    beir: Path, tmp_path: Path, tiny_dense_model: str, tiny_teacher_64: str
) -> None:
    from rankdistill.training.families import train_student

    config = load_train_config(
        embedding_train_config(
            tmp_path,
            beir,
            tiny_dense_model,
            tiny_teacher_64,
            serve="teacher-documents",
            document_kl=1.0,
        )
    )
    result = train_student(config, encodings=tmp_path / "encodings")
    alignment = result.record["alignment"]
    corpus_size = sum(1 for _ in (beir / "corpus.jsonl").open())
    assert result.record["data"]["document_kl_documents"] == corpus_size
    # from the random projection (the least-squares start is near exact on this tiny corpus)
    assert alignment["after"]["document_kl"] < 0.1 * alignment["before"]["document_kl"], alignment
    assert result.record["config"]["student"]["document_kl"] == 1.0


def test_mismatched_dimensions_without_a_projection_are_a_clear_error(
    beir: Path, tmp_path: Path, tiny_dense_model: str, tiny_teacher_64: str
) -> None:
    from rankdistill.training.families import train_student

    config = load_train_config(
        embedding_train_config(tmp_path, beir, tiny_dense_model, tiny_teacher_64, projection="none")
    )
    with pytest.raises(
        UserError,
        match=r"student.projection: none, but the student's embeddings have 128 dimensions and the teacher's 64",
    ):
        train_student(config, encodings=tmp_path / "encodings")


def test_asymmetric_student_searches_its_teachers_index(
    beir: Path, tmp_path: Path, tiny_dense_model: str, tiny_teacher_64: str
) -> None:
    from sentence_transformers import SentenceTransformer

    from rankdistill.encoders.asymmetric import ASYMMETRIC_FILE, is_asymmetric
    from rankdistill.indexes.load import open_index

    path = tmp_path / "asym.yaml"
    path.write_text(f"""
name: asym
output_dir: {tmp_path / "runs"}
dataset: {beir}
train:
  student: {{kind: dense, model: "{tiny_dense_model}", distill: embeddings, teacher: "{tiny_teacher_64}", serve: teacher-documents,
             texts: [documents, sentences, queries], max_length: 32, teacher_max_length: 48}}
  trainer: {{epochs: 10, batch_size: 8, learning_rate: 2.0e-3, logging_steps: 5, device: cpu}}
index: {{spec: Flat, batch_size: 8, max_length: 48}}
evaluate: {{datasets: ["{beir}"], split: test, retrievers: [bm25, "dense:{tiny_teacher_64}"], k: 10, batch_size: 8, max_length: 48}}
""")
    config = load_pipeline_config(path)
    assert [s.name for s in pipeline_stages(config)] == [
        "train",
        "index",
        "evaluate",
    ]  # no mining: no labels
    outcomes = run_pipeline(config, "asym.yaml")
    run_dir = tmp_path / "runs" / "asym"
    manifest = json.loads((run_dir / "stages" / "index" / "index" / "manifest.json").read_text())
    assert manifest["model"]["name"] == tiny_teacher_64  # the teacher built the index
    assert (
        manifest["build_seconds"]["reused_chunks"] == 1
    )  # from the documents' targets, encoded once

    student_path = run_dir / "stages" / "train" / "student"
    assert (
        json.loads((student_path / ASYMMETRIC_FILE).read_text())["document_model"]
        == tiny_teacher_64
    )
    student, teacher = (
        SentenceTransformer(str(student_path), device="cpu"),
        SentenceTransformer(tiny_teacher_64, device="cpu"),
    )
    assert is_asymmetric(student)
    texts = ["why does coffee reduce tiredness", "Caffeine blocks adenosine receptors."]
    assert np.allclose(student.encode_document(texts), teacher.encode_document(texts), atol=1e-5)

    index = open_index(run_dir / "stages" / "index" / "index", model=str(student_path))
    hits = index.search({"q4": "why does coffee reduce tiredness"}, 3)["q4"]
    assert len(hits) == 3
    systems = outcomes[-1].summary["datasets"]["tiny"]["systems"]
    assert "student (Flat)" in systems and f"dense:{tiny_teacher_64}" in systems
    latency = outcomes[-1].summary["datasets"]["tiny"]["latency"]
    assert (
        "student query encoding (ms/query)" in latency
        and f"dense:{tiny_teacher_64} query encoding (ms/query)" in latency
    )
    cost = outcomes[-1].summary["cost"]
    assert (
        cost["student"]["document_route"] == tiny_teacher_64
        and cost["student"]["measured"] == "query route"
    )
    assert "(query route; documents:" in (run_dir / "report.md").read_text()


@pytest.mark.parametrize(
    ("student", "loss", "field", "message"),
    [
        (
            "{kind: dense, model: m, layers: 3}",
            "listwise_kl",
            "train.student.layers",
            "for cross-encoder students",
        ),
        (
            "{kind: cross-encoder, model: m}",
            "{listwise_kl: 1, infonce: 0.1}",
            "train.loss",
            "'infonce' is not for cross-encoder students",
        ),
        (
            "{kind: dense, model: m}",
            "{listwise_kl: 1, hidden_mse: {teacher: t}}",
            "train.loss",
            "'hidden_mse' is for cross-encoder students",
        ),
        (
            "{kind: dense, model: m, distill: embeddings}",
            "mse",
            "train.student.teacher",
            "missing: name the embedding model",
        ),
        (
            "{kind: sparse, model: m, distill: embeddings, teacher: t}",
            "mse",
            "train.student.distill",
            "for dense students",
        ),
        (
            "{kind: dense, model: m, distill: embeddings, teacher: t}",
            "listwise_kl",
            "train.loss",
            "aligns with mse or cosine",
        ),
        (
            "{kind: dense, model: m, serve: teacher-documents}",
            "listwise_kl",
            "train.student.serve",
            "is for embedding distillation",
        ),
        (
            "{kind: dense, model: m, document_kl: 1.0}",
            "listwise_kl",
            "train.student.document_kl",
            "is for embedding distillation",
        ),
        (
            "{kind: dense, model: m, distill: embeddings, teacher: t, projection: sometimes}",
            "mse",
            "train.student.projection",
            "expected one of",
        ),
    ],
)
def test_bad_student_configs_are_located(
    tmp_path: Path, student: str, loss: str, field: str, message: str
) -> None:
    teacher = "" if "embeddings" in student else "teacher: {members: [{teacher: bm25}]}\n"
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"name: bad\ndataset: scifact\n{teacher}train:\n  student: {student}\n  loss: {loss}\n"
    )
    with pytest.raises(InputError) as error:
        load_pipeline_config(path)
    assert (
        error.value.field in (field, field.removeprefix("train."))
        and message in str(error.value)
        and error.value.line is not None
    ), str(error.value)


def test_an_embedding_run_has_no_score_teacher(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: bad\ndataset: scifact\nteacher: {members: [{teacher: bm25}]}\n"
        "train:\n  student: {kind: dense, model: m, distill: embeddings, teacher: t}\n"
    )
    with pytest.raises(InputError, match="its teacher is train.student.teacher") as error:
        load_pipeline_config(path)
    assert error.value.line == 3


def test_cross_encoder_losses_reuse_the_list_formulas(splade_tiny: str) -> None:
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    from rankdistill.losses import margin_mse
    from rankdistill.losses.cross_encoder import build_cross_encoder_loss

    model = CrossEncoder(splade_tiny, num_labels=1, max_length=32, device="cpu")
    loss = build_cross_encoder_loss("margin_mse", model)
    inputs = [
        ["what causes tides", "coffee and sleep"],
        ["the moon pulls the oceans", "caffeine blocks adenosine"],
        ["glaciers carve valleys", "bees make honey"],
    ]
    labels = torch.tensor([[3.0, -1.0], [2.0, 0.5]])
    value = loss(inputs, [labels[0], labels[1]])
    with torch.no_grad():
        logits = loss.student_scores(inputs)
    assert logits.shape == (2, 2)
    assert float(value) == pytest.approx(float(margin_mse(logits, labels)), rel=1e-4)
    with pytest.raises(UserError, match="teacher scores of shape"):
        loss(inputs, torch.zeros(2, 3))
    with pytest.raises(UserError, match="no similarity"):
        build_cross_encoder_loss({"listnet": {"similarity": "cosine"}}, model)


# --- issue 17, the cross-encoder student that reranked at random (0.1242): what a student is ---


def test_a_list_of_layers_keeps_those_layers_and_the_head_and_reloads_as_it_is(
    splade_tiny: str, tmp_path: Path
) -> None:
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    from rankdistill.training.config import StudentConfig
    from rankdistill.training.students import load_cross_encoder

    torch.manual_seed(0)
    teacher = CrossEncoder(
        splade_tiny, num_labels=1, max_length=32, device="cpu"
    )  # 2 layers and a head, as a trained teacher
    teacher.save(str(tmp_path / "teacher"))
    reference = teacher[0].model.state_dict()
    identity = torch.nn.Identity()
    pairs = [
        ("what causes tides", "the moon pulls the oceans"),
        ("what causes tides", "bees make honey and wax"),
    ]
    for layers, kept in ((1, 0), ([1], 1)):
        student = load_cross_encoder(
            StudentConfig(
                kind="cross-encoder", model=str(tmp_path / "teacher"), layers=layers, max_length=32
            ),
            "cpu",
        )
        weights = student[0].model.state_dict()
        assert (
            student.config.num_hidden_layers == 1 and len(weights) == len(reference) - 16
        )  # one BertLayer (16 tensors) fewer
        # the kept layer, the embeddings, the pooler and the classification head are the teacher's own
        assert all(
            torch.equal(w, reference[k.replace("layer.0.", f"layer.{kept}.")])
            for k, w in weights.items()
        ), layers
        before = student.predict(pairs, activation_fn=identity)
        folder = tmp_path / f"cut-{kept}"
        student.save(str(folder))
        reloaded = CrossEncoder(str(folder), device="cpu")
        assert reloaded.config.num_hidden_layers == 1
        np.testing.assert_allclose(
            reloaded.predict(pairs, activation_fn=identity), before, rtol=1e-5, atol=1e-6
        )
    with pytest.raises(UserError, match="layer 2 does not exist"):
        load_cross_encoder(
            StudentConfig(kind="cross-encoder", model=str(tmp_path / "teacher"), layers=[0, 2]),
            "cpu",
        )


@pytest.mark.parametrize(
    ("layers", "message"),
    [("[1, 0]", "ascending"), ("[0, 0]", "distinct"), ("0", "must be >= 1"), ("[]", "ascending")],
)
def test_bad_layer_lists_are_located(tmp_path: Path, layers: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(
        f"data: {{dataset: d, training_set: t.jsonl}}\nstudent: {{kind: cross-encoder, model: m, layers: {layers}}}\nloss: margin_mse\n"
    )
    with pytest.raises(InputError, match=message) as error:
        load_train_config(path)
    assert error.value.line == 2


def test_trained_cross_encoder_student_is_saved_as_trained_with_a_reranking_dev(
    tmp_path: Path, splade_tiny: str
) -> None:
    """The student `train` saves scores pairs exactly as the model the trainer left in memory did
    (the same weights, max length and raw logits), and `dev.rerank_depth` reranks held-out
    queries' BM25 candidates, beside BM25's own nDCG@10."""
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder
    from transformers import TrainerCallback

    from rankdistill.training.train import train
    from tests.test_training import tiny_training_set, write_config

    pairs = [
        ("what causes tides", "the moon pulls the oceans"),
        ("how do vaccines work", "bees make honey and wax"),
    ]
    identity = torch.nn.Identity()
    seen = {}

    class Capture(TrainerCallback):
        def on_train_end(self, args, state, control, model=None, **kwargs):  # noqa: ANN001
            seen["logits"] = model.predict(pairs, activation_fn=identity)

    beir, training_set = tiny_training_set(tmp_path)
    config = write_config(
        tmp_path,
        beir,
        training_set,
        splade_tiny,
        kind="cross-encoder",
        student=f"  kind: cross-encoder\n  model: {splade_tiny}\n  layers: [1]\n  max_length: 32",
        loss="  listwise_kl: {teacher_temperature: 0.5}\n  label_ce: 0.1",
        dev="  queries: 1\n  eval_steps: 2\n  rerank_depth: 5",
    )
    result = train(load_train_config(config), callbacks=[Capture()])
    student = CrossEncoder(str(result.student), device="cpu")
    assert student.config.num_hidden_layers == 1 and student.max_seq_length == 32
    np.testing.assert_allclose(
        student.predict(pairs, activation_fn=identity), seen["logits"], rtol=1e-5, atol=1e-6
    )
    metrics = result.record["dev"]["metrics"]
    assert {"dev_ndcg@10", "dev_bm25_ndcg@10"} <= set(metrics) and 0 <= metrics["dev_ndcg@10"] <= 1
    assert (
        result.record["data"]["held_out_for_dev"] == 1 and result.record["dev"]["corpus_size"] <= 5
    )
    curve = result.record["dev"]["curve"]
    assert (
        curve[0]["step"] == 0
        and curve[-1]["step"] == result.record["global_step"]
        and "dev_ndcg@10" in curve[0]
    )  # from the untrained student on
    assert (
        result.record["loss_curve"]
        and result.record["loss_curve"][-1][0] <= result.record["global_step"]
    )


def test_label_ce_is_the_positives_list_cross_entropy_and_trains_cross_encoders(
    splade_tiny: str,
) -> None:
    import torch
    from sentence_transformers.cross_encoder import CrossEncoder

    from rankdistill.losses import label_ce
    from rankdistill.losses.cross_encoder import build_cross_encoder_loss

    scores = torch.tensor([[2.0, 0.0, 0.0], [0.0, 1.0, 1.0]])
    expected = -(torch.log_softmax(scores, dim=1)[:, 0]).mean()
    assert label_ce(scores, torch.zeros(2, 3)).item() == pytest.approx(expected.item())
    assert label_ce(scores, torch.randn(2, 3)).item() == pytest.approx(
        expected.item()
    )  # the teacher's scores are not read
    model = CrossEncoder(splade_tiny, num_labels=1, max_length=32, device="cpu")
    loss = build_cross_encoder_loss({"margin_mse": 1.0, "label_ce": 0.1}, model)
    inputs = [["what causes tides"], ["the moon pulls the oceans"], ["bees make honey"]]
    value = loss(inputs, torch.tensor([[3.0, -1.0]]))
    value.backward()
    assert torch.isfinite(value) and any(
        p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters()
    )


# --- issue 17: TinyBERT's layer losses beside the list loss (hidden_mse) ---


def test_hidden_mse_maps_the_students_layers_onto_the_teachers_uniformly() -> None:
    from rankdistill.losses.hidden_mse import layer_map

    assert (
        layer_map(2, 6) == [0, 3, 6]
        and layer_map(3, 6) == [0, 2, 4, 6]
        and layer_map(2, 2) == [0, 1, 2]
    )
    with pytest.raises(UserError, match="at least as many"):
        layer_map(3, 2)


def test_hidden_mse_trains_the_student_towards_its_teachers_hidden_states(
    splade_tiny: str, tmp_path: Path
) -> None:
    from sentence_transformers.cross_encoder import CrossEncoder

    from rankdistill.losses.cross_encoder import build_cross_encoder_loss

    torch.manual_seed(0)
    student = CrossEncoder(
        splade_tiny,
        num_labels=1,
        max_length=32,
        device="cpu",
        config_kwargs={"num_hidden_layers": 1},
    )
    loss = build_cross_encoder_loss(
        {"listwise_kl": 1.0, "hidden_mse": {"weight": 1.0, "teacher": splade_tiny}}, student
    )
    assert loss.hidden.layers == [0, 2] and all(
        isinstance(p, torch.nn.Identity) for p in loss.hidden.projections
    )
    assert not any(p.requires_grad for p in loss.hidden.teacher.parameters())
    inputs = [
        ["what causes tides", "coffee and sleep"],
        ["the moon pulls the oceans", "caffeine blocks adenosine"],
        ["glaciers carve valleys", "bees make honey"],
        ["salt water freezes lower", "tea has caffeine too"],
    ]
    labels = torch.tensor([[3.0, -1.0, 0.0], [2.0, 0.5, 1.5]])

    # the body's logits, read for its hidden states, are the CrossEncoder's own scores
    student.eval()
    with torch.no_grad():
        parts = loss(inputs, labels)
        assert set(parts) == {"scores", "hidden_mse"}
        features = loss.pair_features(inputs)
        body = (
            student[0]
            .model(**{k: features[k] for k in ("input_ids", "attention_mask", "token_type_ids")})
            .logits
        )
        assert torch.allclose(body.reshape(3, 2).T, loss.student_scores(inputs), atol=1e-5)

    student.train()
    loss.train()
    assert not loss.hidden.teacher.training
    optimizer = torch.optim.Adam([p for p in loss.parameters() if p.requires_grad], lr=1e-3)
    first = None
    for _ in range(30):
        optimizer.zero_grad()
        parts = loss(inputs, labels)
        first = float(parts["hidden_mse"].detach()) if first is None else first
        sum(parts.values()).backward()
        optimizer.step()
    assert float(parts["hidden_mse"].detach()) < 0.5 * first, (
        first,
        float(parts["hidden_mse"].detach()),
    )

    # a narrower student (64 wide, a fresh 1-layer BERT on the same vocabulary) gets a learned
    # projection onto the teacher's 128 per matched layer, and the optimizer trains it
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    config = BertConfig.from_pretrained(
        splade_tiny,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(tmp_path / "narrow")
    AutoTokenizer.from_pretrained(splade_tiny).save_pretrained(tmp_path / "narrow")
    narrow = build_cross_encoder_loss(
        {"listwise_kl": 1.0, "hidden_mse": {"teacher": splade_tiny}},
        CrossEncoder(str(tmp_path / "narrow"), num_labels=1, max_length=32, device="cpu"),
    )
    assert narrow.hidden.layers == [0, 2] and all(
        isinstance(p, torch.nn.Linear) and p.weight.shape == (128, 64)
        for p in narrow.hidden.projections
    )
    before = narrow.hidden.projections[0].weight.detach().clone()
    optimizer = torch.optim.Adam([p for p in narrow.parameters() if p.requires_grad], lr=1e-3)
    sum(narrow(inputs, labels).values()).backward()
    optimizer.step()
    assert not torch.equal(before, narrow.hidden.projections[0].weight)


def test_hidden_mse_needs_a_shared_vocabulary_a_list_loss_and_a_cross_encoder(
    splade_tiny: str, tmp_path: Path
) -> None:
    from sentence_transformers.cross_encoder import CrossEncoder

    from rankdistill.losses import build_loss
    from rankdistill.losses.cross_encoder import build_cross_encoder_loss

    other = CrossEncoder(splade_tiny, num_labels=1, device="cpu")
    other.tokenizer.add_tokens(["zzqxtoken"])
    other[0].model.resize_token_embeddings(len(other.tokenizer))
    other.save(str(tmp_path / "other"))
    student = CrossEncoder(splade_tiny, num_labels=1, max_length=32, device="cpu")
    with pytest.raises(UserError, match="another vocabulary"):
        build_cross_encoder_loss(
            {"listwise_kl": 1.0, "hidden_mse": {"teacher": str(tmp_path / "other")}}, student
        )
    with pytest.raises(UserError, match="beside a list loss"):
        build_cross_encoder_loss({"hidden_mse": {"teacher": splade_tiny}}, student)
    with pytest.raises(UserError, match="name the teacher"):
        build_cross_encoder_loss({"listwise_kl": 1.0, "hidden_mse": 1.0}, student)
    with pytest.raises(UserError, match="is for cross-encoder students"):
        build_loss({"listwise_kl": 1.0, "hidden_mse": {"teacher": splade_tiny}}, None)


def test_a_cross_encoder_run_trains_with_hidden_mse_and_records_it(
    beir: Path, tmp_path: Path, splade_tiny: str, tiny_dense_model: str
) -> None:
    path = cross_encoder_run(
        tmp_path,
        beir,
        splade_tiny,
        tiny_dense_model,
        loss=f'{{listwise_kl: 1.0, hidden_mse: {{weight: 0.5, teacher: "{splade_tiny}"}}}}',
    )
    path.write_text(
        path.read_text()
        .replace("epochs: 40", "epochs: 2")
        .replace("logging_steps: 5", "logging_steps: 1")
    )
    config = load_pipeline_config(path)
    run_pipeline(config, "ce.yaml")
    train_dir = tmp_path / "runs" / "ce" / "stages" / "train"
    record = json.loads((train_dir / "student" / "rankdistill_train.json").read_text())
    assert record["config"]["loss"]["hidden_mse"] == {"weight": 0.5, "teacher": splade_tiny}
    steps = record[
        "loss_components"
    ]  # each term's curve: the list loss and the hidden-state term, apart
    assert steps and all(
        set(parts) == {"scores", "hidden_mse"} and parts["hidden_mse"] > 0 for _, parts in steps
    ), steps


def test_a_resumed_run_restores_the_hidden_mse_projections_from_its_checkpoint(
    tmp_path: Path, splade_tiny: str
) -> None:
    """The trainer checkpoints the model and optimizer only; the projections live in the loss, so
    a run cut after a checkpoint must start again from the projections saved beside it (the
    twelfth session's SciFact run lost them at its resume: its hidden term jumped 0.21 -> 0.42)."""
    from transformers import (
        AutoTokenizer,
        BertConfig,
        BertForSequenceClassification,
        TrainerCallback,
    )

    from rankdistill.training.train import LOSS_STATE, train
    from tests.test_training import tiny_training_set, write_config

    narrow = (
        tmp_path / "narrow"
    )  # 64 wide against the teacher's 128: a learned projection per matched layer
    config = BertConfig.from_pretrained(
        splade_tiny,
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_labels=1,
    )
    BertForSequenceClassification(config).save_pretrained(narrow)
    AutoTokenizer.from_pretrained(splade_tiny).save_pretrained(narrow)
    beir, training_set = tiny_training_set(tmp_path)
    path = write_config(
        tmp_path,
        beir,
        training_set,
        str(narrow),
        kind="cross-encoder",
        student=f"  kind: cross-encoder\n  model: {narrow}\n  max_length: 32",
        loss=f"  listwise_kl: 1.0\n  hidden_mse: {{teacher: {splade_tiny}}}",
        dev="  queries: 0",
        trainer="  max_steps: 4\n  batch_size: 2\n  learning_rate: 1.0e-2\n  save_steps: 2\n  logging_steps: 1\n  device: cpu",
    )

    class Crash(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):  # noqa: ANN001
            raise RuntimeError("killed after the first checkpoint")

    with pytest.raises(RuntimeError, match="killed"):
        train(load_train_config(path), callbacks=[Crash()])
    checkpoint = tmp_path / "runs" / "run" / "checkpoints" / "checkpoint-2"
    saved = torch.load(checkpoint / LOSS_STATE)
    assert saved and all(name.startswith("hidden.projections.") for name in saved)

    seen = {}

    class AtResume(TrainerCallback):
        def on_train_begin(self, args, state, control, **kwargs):  # noqa: ANN001
            loss = trainer_loss["loss"]
            seen.update(
                {name: p.detach().clone() for name, p in loss.named_parameters() if name in saved}
            )

    import rankdistill.training.train as train_module

    trainer_loss = {}
    original = train_module.build_student

    def build_and_keep(*args, **kwargs):  # noqa: ANN002, ANN003
        student = original(*args, **kwargs)
        trainer_loss["loss"] = student.loss
        return student

    train_module.build_student = build_and_keep
    try:
        result = train(load_train_config(path), callbacks=[AtResume()])
    finally:
        train_module.build_student = original
    assert result.record["resumed_from"] == "checkpoint-2" and result.record["global_step"] == 4
    assert set(seen) == set(saved) and all(torch.equal(seen[name], saved[name]) for name in saved)
