"""examples/ run end to end on the repository's data/sample folder with tiny real models."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sentence_transformers import CrossEncoder

import rankdistill as rd

REPO = Path(__file__).resolve().parents[1]
SAMPLE = str(REPO / "data" / "sample")


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, REPO / "examples" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_cross_encoder(splade_tiny: str, tmp_path_factory: pytest.TempPathFactory) -> str:
    folder = tmp_path_factory.mktemp("tiny-ce") / "model"
    CrossEncoder(splade_tiny, num_labels=1, max_length=64, device="cpu").save(str(folder))
    return str(folder)


def test_public_api_lists_its_names() -> None:
    for name in (
        "open_dataset",
        "build_teacher",
        "ScoreStore",
        "mine",
        "build_loss",
        "train_student",
        "build_index",
        "open_index",
        "evaluate",
        "run_pipeline",
        "TrainConfig",
    ):
        assert name in rd.__all__
        assert getattr(rd, name) is not None
    # the public names are the real ones, and the subpackages hold the same objects
    assert rd.data.open_dataset is rd.open_dataset
    assert rd.students.train_student is rd.train_student
    assert rd.open_index is rd.indexes.load.open_index  # (rd.open_index imports the module)
    assert rd.mine is rd.build_training_set
    for module in ("teachers", "losses", "evaluation"):
        assert getattr(rd, module).__name__ == f"rankdistill.{module}"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        rd.nope  # noqa: B018


def test_distil_cross_encoder_example(
    tiny_cross_encoder: str, tiny_dense_model: str, tmp_path: Path
) -> None:
    scores = load_example("distil_cross_encoder").main(
        [
            "--data",
            SAMPLE,
            "--teacher",
            tiny_cross_encoder,
            "--student",
            tiny_dense_model,
            "--output",
            str(tmp_path / "run"),
        ]
    )
    assert set(scores) == {"bm25", "zero-shot", "student"}
    assert all(0.0 <= value <= 1.0 for value in scores.values())
    assert scores["bm25"] > 0.5  # the sample's queries share words with their documents
    assert (tmp_path / "run" / "student" / "student").is_dir()


def test_score_pairs_example_reuses_the_store(
    tiny_dense_model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    example = load_example("score_pairs")
    arguments = [
        "--teacher",
        f"bi-encoder:{tiny_dense_model}",
        "--data",
        SAMPLE,
        "--store",
        str(tmp_path / "store"),
    ]
    first = example.main(arguments)
    assert 6 <= len(first) <= 30  # 6 test queries x at most BM25's top 5
    assert example.main(arguments) == first
    assert any((tmp_path / "store").rglob("*")), "the store holds the scores"


def test_build_and_evaluate_index_example(tiny_dense_model: str, tmp_path: Path) -> None:
    metrics = load_example("build_and_evaluate_index").main(
        [
            "--model",
            tiny_dense_model,
            "--data",
            SAMPLE,
            "--spec",
            "Flat",
            "--output",
            str(tmp_path / "indexes"),
        ]
    )
    assert 0.0 < metrics["nDCG@10"] <= 1.0
    direct = rd.evaluate(rd.open_dataset(SAMPLE), f"dense:{tiny_dense_model}").result.aggregate[
        "nDCG@10"
    ]
    assert metrics["nDCG@10"] == pytest.approx(
        direct, abs=1e-6
    )  # an index is a retriever: same path, same score


def test_quickstart_runs_the_whole_loop_in_thirty_lines(
    tiny_dense_model: str, tmp_path: Path
) -> None:
    path = REPO / "examples" / "quickstart.py"
    assert len(path.read_text().splitlines()) <= 30
    output = tmp_path / "quickstart"
    ndcg = load_example("quickstart").main(
        SAMPLE, f"bi-encoder:{tiny_dense_model}", str(output), model=tiny_dense_model
    )
    assert 0.0 < ndcg <= 1.0
    assert (output / "store").is_dir() and (output / "student" / "train.jsonl").is_file()
    record = (output / "student" / "student" / "rankdistill_train.json").read_text()
    assert '"frozen_documents"' in record  # the default family: a query-side student
    direct = rd.evaluate(
        rd.open_dataset(SAMPLE, "test"), f"dense:{output / 'student' / 'student'}"
    ).result.aggregate["nDCG@10"]
    assert ndcg == pytest.approx(direct, abs=1e-6)  # the index searches as the student does
