"""A new loss is one module: a toy loss defined here, outside the package, registers itself with
its capabilities and trains a student through `rd.train_student` (tests.test_training.train_from) named in a spec like any other;
the registry refuses what it declares it cannot do."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from torch import Tensor

from rankdistill.core.errors import InputError, UserError
from rankdistill.losses import REGISTRY, build_loss, register_loss
from rankdistill.losses.base import ListLoss
from rankdistill.teachers import register_teacher
from rankdistill.training import load_train_config
from tests.test_training import tiny_training_set, train_from, write_config

calls: list[int] = []


@pytest.fixture(autouse=True)
def toys():
    """Register the toy loss, teacher kind and index kind for a test, and take them out after it,
    so no other test sees them (what a user's own module does at import, in a process of its own)."""
    from rankdistill.indexes.registry import INDEX_KINDS, register_index_kind
    from rankdistill.losses.registry import LOSSES
    from rankdistill.teachers.registry import TEACHER_KINDS

    register_loss("toy_hinge", families=("dense",), note="a test loss for dense students only")(
        ToyHinge
    )
    register_teacher("toy-overlap", model=False)(toy_overlap)
    register_index_kind("toy-exact", build=build_toy, load=ExactNumpy.load)
    yield
    REGISTRY.pop("toy_hinge", None)
    LOSSES.pop("toy_hinge", None)
    TEACHER_KINDS.pop("toy-overlap", None)
    INDEX_KINDS.pop("toy-exact", None)


class ToyHinge(ListLoss):
    """max(0, 1 - (s_pos - max s_neg)): the positive above every negative by a margin."""

    def score_loss(self, student_scores: Tensor, teacher_scores: Tensor) -> Tensor:
        calls.append(student_scores.shape[0])
        margin = student_scores[:, 0] - student_scores[:, 1:].max(dim=1).values
        return torch.relu(1.0 - margin).mean()


def test_a_loss_from_outside_the_package_trains_a_student(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    assert REGISTRY["toy_hinge"].families == ("dense",) and ToyHinge.name == "toy_hinge"
    beir, training_set = tiny_training_set(tmp_path)
    config = write_config(
        tmp_path, beir, training_set, tiny_dense_model, loss="  toy_hinge: {scale: 20}"
    )
    result = train_from(config)
    assert calls and result.student is not None  # the toy loss computed every step's loss
    record = json.loads((result.student / "rankdistill_train.json").read_text())
    assert record["config"]["loss"] == {"toy_hinge": {"scale": 20}} and record["global_step"] == 4


def test_the_registry_refuses_what_a_loss_declares_it_cannot_train(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    beir, training_set = tiny_training_set(tmp_path)
    config = write_config(
        tmp_path,
        beir,
        training_set,
        tiny_dense_model,
        kind="cross-encoder",
        loss="  toy_hinge: 1.0",
    )
    with pytest.raises(
        InputError, match="'toy_hinge' is for dense students: a test loss for dense students only"
    ):
        load_train_config(config)
    with pytest.raises(ValueError, match="registered already"):
        register_loss("listwise_kl")(type("Other", (ListLoss,), {}))
    with pytest.raises(UserError, match="unknown loss 'nothing'"):
        build_loss("nothing", None)


class WordOverlap:
    """A toy teacher: how many of the query's words the document holds."""

    fingerprint = "toy-word-overlap-v1"
    score_scale = "raw"

    def score(self, queries: list[str], docs: list[str]):
        import numpy as np

        return np.array(
            [len(set(q.lower().split()) & set(d.lower().split())) for q, d in zip(queries, docs)],
            dtype=np.float32,
        )


def toy_overlap(argument: str, request) -> WordOverlap:
    return WordOverlap()


def test_a_teacher_and_a_loss_from_outside_the_package_make_a_student(
    tmp_path: Path, tiny_dense_model: str
) -> None:
    """The public API end to end with both extensions: build the registered teacher by its spec,
    mine with it, train with the registered loss."""
    import dataclasses

    import rankdistill as rd
    from rankdistill.mining.records import write_training_set
    from tests.conftest import write_beir

    teacher = rd.build_teacher("toy-overlap")
    assert isinstance(teacher, WordOverlap)
    beir = write_beir(tmp_path / "tiny", split="train")
    dataset = rd.open_dataset(beir, "train")
    mined = rd.mine(
        dataset,
        ["bm25", f"dense:{tiny_dense_model}"],
        teacher,
        tmp_path / "store",
        n_top=4,
        n_random=2,
        depth=8,
    )
    assert isinstance(mined, rd.MiningResult)
    records, counts = mined  # a typed result that still unpacks
    assert records and all(r.teacher == "toy-word-overlap-v1" for r in records)
    training_set = write_training_set(
        tmp_path / "train.jsonl", records, {"config": {"dataset": "tiny", "split": "train"}}
    )
    config = load_train_config(
        write_config(
            tmp_path, beir, training_set, tiny_dense_model, loss="  toy_hinge: {scale: 20}"
        )
    )
    config = dataclasses.replace(config, dev=dataclasses.replace(config.dev, queries=0))
    calls.clear()
    result = rd.train_student(config)
    assert calls and result.student is not None


class ExactNumpy:
    """A toy index kind: the vectors in one .npy file, searched by a full matrix product."""

    def __init__(self, vectors, spec):
        self.vectors, self.spec = vectors, spec

    @property
    def count(self) -> int:
        return len(self.vectors)

    def set_params(self, params) -> None:
        pass

    def effective_params(self) -> dict:
        return {}

    def search(self, queries, k: int):
        import numpy as np

        scores = queries @ self.vectors.T
        rows = np.argsort(-scores, axis=1, kind="stable")[:, :k]
        return np.take_along_axis(scores, rows, axis=1), rows

    def stored_vectors(self, rows):
        return self.vectors[rows]

    def sizes(self) -> dict:
        return {
            "index": int(self.vectors.nbytes),
            "code": int(self.vectors.shape[1] * 4),
            "rescore": 0,
        }

    def save(self, folder: Path) -> list[str]:
        import numpy as np

        np.save(folder / "toy.npy", self.vectors)
        return ["toy.npy"]

    @staticmethod
    def load(folder: Path, spec) -> ExactNumpy:
        import numpy as np

        return ExactNumpy(np.load(folder / "toy.npy"), spec)


def build_toy(spec, chunks, dimension: int):
    return ExactNumpy(chunks.stack(), spec), {"add_s": 0.0}


def test_an_index_kind_from_outside_the_package_is_built_and_searched_like_flat(
    tmp_path: Path,
) -> None:
    import numpy as np

    from rankdistill.indexes import parse_spec
    from rankdistill.indexes.structures import build_structure, load_structure
    from rankdistill.retrieval.encode import Chunks

    spec = parse_spec("toy-exact")
    assert spec.kind == "toy-exact" and not spec.is_sparse
    base = np.random.default_rng(0).standard_normal((300, 16)).astype(np.float32)
    queries = base[:5] + 0.1
    structures = {}
    for text in ("toy-exact", "Flat"):
        folder = tmp_path / text
        folder.mkdir()
        built, _ = build_structure(
            parse_spec(text), Chunks.from_array(base, chunk_size=100), 16, folder=folder
        )
        built.save(folder)
        structures[text] = load_structure(parse_spec(text), folder)
    assert np.array_equal(
        structures["toy-exact"].search(queries, 10)[1], structures["Flat"].search(queries, 10)[1]
    )
    with pytest.raises(UserError, match="unknown parameter 'nprobe' for toy-exact"):
        parse_spec("toy-exact:nprobe=4")


def test_a_query_generator_from_outside_the_package_is_one_registration() -> None:
    from rankdistill.mining.generators import (
        GENERATORS,
        build_generator,
        parse_generator_spec,
        register_generator,
    )
    from rankdistill.mining.generators.base import N, Setting

    @register_generator("first-words", {"n": N, "words": Setting(int, 3, low=1)})
    class FirstWords:
        def __init__(self, spec, corpus, source="corpus"):
            self.words = int(spec.settings["words"])

        def generate(self, documents, seed):
            return [[" ".join(doc["text"].split()[: self.words])] for _, doc in documents]

    try:
        generator = build_generator("first-words?words=2", {"d1": {"title": "", "text": "a b c"}})
        assert generator.generate([("d1", {"title": "", "text": "a b c"})], 13) == [["a b"]]
        with pytest.raises(UserError, match="unknown setting 'k'"):
            parse_generator_spec("first-words?k=2")
        assert set(GENERATORS) >= {"title", "span", "keywords", "doc2query", "first-words"}
    finally:
        GENERATORS.pop("first-words")
