"""`rankdistill run` end to end on a tiny folder and tiny real models: every stage runs, a rerun
is all cached, a changed stage config reruns exactly that stage and those after it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rankdistill.core.errors import UserError
from rankdistill.pipeline.config import load_pipeline_config
from rankdistill.pipeline.run import run_pipeline
from tests.conftest import write_beir


def pipeline_config(
    folder: Path,
    beir: Path,
    model: str,
    index_spec: str = "Flat",
    loss: str = "listwise_kl",
    student_extra: str = "",
    student: str = "",
) -> Path:
    student = student or f'kind: dense, model: "{model}"'
    text = f"""
name: tiny
seed: 13
output_dir: {folder / "runs"}
dataset: {beir}
teacher:
  members:
    - teacher: bm25
    - teacher: "bi-encoder:{model}"
      weight: 0.5
mine: {{split: train, retrievers: [bm25], n_top: 3, n_random: 1, depth: 8, batch_size: 8}}
train:
  data: {{negatives: 2}}
  student: {{{student}, max_length: 32{student_extra}}}
  loss: {loss}
  trainer: {{max_steps: 2, batch_size: 2, save_steps: 1, logging_steps: 1, device: cpu}}
  dev: {{queries: 0}}
index: {{spec: "{index_spec}", batch_size: 8}}
rerank_depth: 5
evaluate: {{datasets: ["{beir}"], split: test, retrievers: [bm25], k: 10, batch_size: 8}}
"""
    path = folder / "tiny.yaml"
    path.write_text(text)
    return path


@pytest.fixture
def beir(tmp_path: Path) -> Path:
    folder = write_beir(tmp_path / "tiny", split="train")
    return write_beir(folder, split="test")


def test_whole_loop_then_cached_rerun_then_changed_index(
    beir: Path, tmp_path: Path, tiny_dense_model: str
) -> None:
    config_path = pipeline_config(tmp_path, beir, tiny_dense_model)
    first = run_pipeline(load_pipeline_config(config_path), config_path)
    assert [o.cached for o in first] == [False] * 4
    run_dir = tmp_path / "runs" / "tiny"
    report = (run_dir / "report.md").read_text()
    for expected in (
        "| bm25 |",
        "bm25 + teacher rerank@5",
        "student (Flat)",
        "randomisation p",
        "Kendall tau",
        "ms |",
    ):
        assert expected in report
    assert (run_dir / "tiny-nDCG10.png").stat().st_size > 0
    evaluate = json.loads((run_dir / "stages" / "evaluate" / "done.json").read_text())["summary"]
    systems = evaluate["datasets"]["tiny"]["systems"]
    assert set(systems) == {
        "bm25",
        "bm25 + teacher rerank@5",
        next(s for s in systems if s.startswith("student")),
    }

    config = load_pipeline_config(config_path)
    again = run_pipeline(config, config_path)
    assert [o.cached for o in again] == [True] * 4
    assert again[-1].summary == evaluate

    changed = load_pipeline_config(
        pipeline_config(tmp_path, beir, tiny_dense_model, index_spec="HNSW8")
    )
    outcomes = run_pipeline(changed, config_path)
    assert [o.name for o in outcomes if not o.cached] == ["index", "evaluate"]

    relossed = pipeline_config(
        tmp_path,
        beir,
        tiny_dense_model,
        "HNSW8",
        "margin_mse",
        student_extra=", matryoshka_dims: [128, 32]",
    )
    outcomes = run_pipeline(load_pipeline_config(relossed), config_path)
    assert [o.name for o in outcomes if not o.cached] == ["train", "index", "evaluate"]
    # a Matryoshka student is also evaluated at each of its dimensions, exactly
    systems = outcomes[-1].summary["datasets"]["tiny"]["systems"]
    assert {"student @ 128 dims", "student @ 32 dims"} <= set(systems)
    assert "student @ 32 dims" in (run_dir / "report.md").read_text()


def test_sparse_student_goes_through_an_inverted_index(
    beir: Path, tmp_path: Path, tiny_dense_model: str, splade_tiny: str
) -> None:
    path = pipeline_config(
        tmp_path,
        beir,
        tiny_dense_model,
        "inverted",
        "margin_mse",
        student=f'kind: sparse, model: "{splade_tiny}"',
    )
    outcomes = run_pipeline(load_pipeline_config(path), path)
    summary = outcomes[-1].summary["datasets"]["tiny"]
    assert "student (inverted)" in summary["systems"]
    assert -1.0 <= summary["teacher_student_kendall_tau"] <= 1.0


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            ("  members:\n    - teacher: bm25\n", "  members:\n    - teacher: oracle\n"),
            "field 'teacher.members[0].teacher': unknown teacher 'oracle'",
        ),
        (
            ("  loss: listwise_kl", "  loss: telepathy"),
            "tiny.yaml:15: field 'loss': unknown loss 'telepathy'",
        ),
        (
            ("  student: {kind: dense", "  student: {kind: quantum"),
            "tiny.yaml:14: field 'train.student.kind': expected one of dense, sparse",
        ),
        (
            ("    - teacher: bm25\n", "    - teacher: cross-encoder:trained\n"),
            "needs a teacher.train section",
        ),
        (
            ("batch_size: 8}\ntrain", "batch_size: 8, fn_reference: median}\ntrain"),
            "tiny.yaml:11: field 'mine.fn_reference': expected one of lowest, highest",
        ),
    ],
)
def test_bad_pipeline_config_is_located(
    beir: Path, tmp_path: Path, tiny_dense_model: str, edit: tuple[str, str], message: str
) -> None:
    path = pipeline_config(tmp_path, beir, tiny_dense_model)
    path.write_text(path.read_text().replace(*edit))
    with pytest.raises(UserError) as error:  # what `rankdistill run` prints, exiting 2
        run_pipeline(load_pipeline_config(path), path)
    err = str(error.value)
    assert message in err and str(path) in err


def test_new_options_enter_version_0_stage_keys_only_when_not_the_default(
    beir: Path, tmp_path: Path, tiny_dense_model: str
) -> None:
    """Runs made before key versions keep their cache: under key version 0 (`settings_under(0)`)
    an option added later entered a key only when set off its default."""
    from rankdistill.pipeline.run import pipeline_stages

    path = pipeline_config(tmp_path, beir, tiny_dense_model)
    default = next(s for s in pipeline_stages(load_pipeline_config(path)) if s.name == "mine")
    assert (
        "fn_reference" not in default.settings_under(0)["mine"]
    )  # keys of runs made before the option stay valid
    default_train = next(
        s for s in pipeline_stages(load_pipeline_config(path)) if s.name == "train"
    )
    assert (
        "positives" not in default_train.settings_under(0)["data"]
    )  # likewise train's data.positives
    path.write_text(
        path.read_text().replace(
            "      weight: 0.5\n", "      weight: 0.5\n  train: {negatives: 2}\n"
        )
    )
    teacher_train = next(
        s for s in pipeline_stages(load_pipeline_config(path)) if s.name == "teacher_train"
    )
    assert (
        "retrieved_positives" not in teacher_train.settings_under(0)["train"]
    )  # likewise teacher train's option
    path.write_text(
        path.read_text().replace(
            "train: {negatives: 2}", "train: {negatives: 2, retrieved_positives: true}"
        )
    )
    teacher_train = next(
        s for s in pipeline_stages(load_pipeline_config(path)) if s.name == "teacher_train"
    )
    assert teacher_train.settings_under(0)["train"]["retrieved_positives"] is True
    path.write_text(
        path.read_text().replace(
            "batch_size: 8}\ntrain", "batch_size: 8, fn_reference: highest}\ntrain"
        )
    )
    highest = next(s for s in pipeline_stages(load_pipeline_config(path)) if s.name == "mine")
    assert highest.settings_under(0)["mine"]["fn_reference"] == "highest"
    assert default.settings["mine"]["fn_reference"] == "lowest"  # version 1 keys hold every setting


def test_cross_fitted_teacher_labels_each_fold_with_a_model_that_never_saw_it(
    beir: Path, tmp_path: Path, tiny_dense_model: str, splade_tiny: str
) -> None:
    from rankdistill.mining import meta_path, read_training_set

    text = pipeline_config(tmp_path, beir, tiny_dense_model).read_text()
    text = text.replace(
        f'    - teacher: "bi-encoder:{tiny_dense_model}"\n      weight: 0.5\n',
        "    - teacher: cross-encoder:trained\n      max_length: 32\n"
        f'  train: {{base_model: "{splade_tiny}", retrievers: ["dense:{tiny_dense_model}"], negatives: 2, skip_top: 0, depth: 8, max_steps: 2,'
        " max_length: 32, precision: float32, save_steps: 1, folds: 2}\n",
    )
    path = tmp_path / "folds.yaml"
    path.write_text(text)
    config = load_pipeline_config(path)
    assert config.teacher.train.folds == 2
    outcomes = run_pipeline(config, path)
    assert [o.name for o in outcomes] == ["teacher_train", "mine", "train", "index", "evaluate"]

    models = tmp_path / "runs" / "tiny" / "stages" / "teacher_train" / "model"
    assignment = json.loads((models / "folds.json").read_text())["assignment"]
    assert sorted(assignment) == ["q1", "q2", "q3", "q4"] and sorted(assignment.values()) == [
        0,
        0,
        1,
        1,
    ]
    trained_on = [
        set(
            json.loads((models / f"fold-{i}" / "rankdistill-teacher.json").read_text())["query_ids"]
        )
        for i in (0, 1)
    ]
    for fold, queries in enumerate(trained_on):  # each model trained on exactly the other fold
        assert queries == {q for q, f in assignment.items() if f != fold}

    training_set = tmp_path / "runs" / "tiny" / "stages" / "mine" / "train.jsonl"
    fingerprints = json.loads(meta_path(training_set).read_text())["config"]["teacher_fingerprint"]
    assert len(fingerprints) == 2 and fingerprints[0] != fingerprints[1]
    records = read_training_set(training_set)
    assert records
    for record in records:  # labelled by its own fold's model, which never trained on it
        fold = fingerprints.index(record.teacher)
        assert assignment[record.query_id] == fold and record.query_id not in trained_on[fold]

    again = run_pipeline(load_pipeline_config(path), path)
    assert all(o.cached for o in again)
