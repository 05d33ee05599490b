"""`--rerun STAGE` really redoes the stage: its finished outputs are cleared (moved aside in one
rename, then deleted) and it runs from an empty folder; the stages after it rerun when what it
made differs from what they read, and stay cached when it made the same bytes."""

from __future__ import annotations

import json
from pathlib import Path

from rankdistill.pipeline import Stage, run_stages
from rankdistill.pipeline.cache import TRASH_PREFIX


class Pipeline:
    """mine -> train -> evaluate; each stage skips its work when its output exists (as the real
    stages do, to resume after a kill), and `train` writes whatever `self.weights` says."""

    def __init__(self) -> None:
        self.ran: list[str] = []
        self.weights = "w1"

    def stages(self) -> list[Stage]:
        def mine(folder: Path, upstream: dict[str, Path]) -> dict:
            self.ran.append("mine")
            (folder / "train.jsonl").write_text("rows")
            (folder / "scratch.log").write_text(f"run {len(self.ran)}")  # not an output
            return {}

        def train(folder: Path, upstream: dict[str, Path]) -> dict:
            self.ran.append("train")
            student = folder / "student"
            if not student.is_file():  # finished before: skip, as the real train stage does
                student.write_text(
                    self.weights + "<-" + (upstream["mine"] / "train.jsonl").read_text()
                )
            return {"student": student.read_text()}

        def evaluate(folder: Path, upstream: dict[str, Path]) -> dict:
            self.ran.append("evaluate")
            return {"scored": (upstream["train"] / "student").read_text()}

        return [
            Stage("mine", {"v": 1}, mine, [], ["train.jsonl"]),
            Stage("train", {"v": 1}, train, ["mine"], ["student"]),
            Stage("evaluate", {"v": 1}, evaluate, ["train"]),
        ]


def test_rerun_clears_the_stage_so_its_work_is_really_redone(tmp_path: Path) -> None:
    pipeline = Pipeline()
    run_stages(pipeline.stages(), tmp_path)
    (tmp_path / "stages" / "train" / "leftover").write_text("from the first run")
    pipeline.weights = "w2"  # what retraining would now produce
    outcomes = run_stages(pipeline.stages(), tmp_path, force={"train"})
    train = tmp_path / "stages" / "train"
    assert (train / "student").read_text() == "w2<-rows"  # redone, not skipped on the old output
    assert not (train / "leftover").exists()
    assert [o.name for o in outcomes if not o.cached] == ["train", "evaluate"]  # its output changed
    assert outcomes[-1].summary == {"scored": "w2<-rows"}
    assert not list((tmp_path / "stages").glob(f"{TRASH_PREFIX}*"))


def test_rerun_that_makes_the_same_outputs_leaves_later_stages_cached(tmp_path: Path) -> None:
    pipeline = Pipeline()
    run_stages(pipeline.stages(), tmp_path)
    pipeline.ran.clear()
    outcomes = run_stages(pipeline.stages(), tmp_path, force={"mine"})
    # mine's scratch.log differs, but train reads only train.jsonl, which is byte-identical
    assert pipeline.ran == ["mine"]
    assert [o.cached for o in outcomes] == [False, True, True]


def test_a_later_run_still_sees_that_an_input_was_remade(tmp_path: Path) -> None:
    """Killed after the forced stage finished but before the next ran: the next plain run
    compares digests and reruns what read the old output."""
    pipeline = Pipeline()
    run_stages(pipeline.stages(), tmp_path)
    pipeline.weights = "w2"
    run_stages(pipeline.stages()[:2], tmp_path, force={"train"})  # "killed" before evaluate
    pipeline.ran.clear()
    outcomes = run_stages(pipeline.stages(), tmp_path)
    assert pipeline.ran == ["evaluate"] and outcomes[-1].summary == {"scored": "w2<-rows"}


def test_a_kill_between_rename_and_delete_leaves_no_half_stage(tmp_path: Path) -> None:
    pipeline = Pipeline()
    run_stages(pipeline.stages(), tmp_path)
    stages = tmp_path / "stages"
    (stages / "train").rename(stages / f"{TRASH_PREFIX}train.1.2")  # what a kill mid-rerun leaves
    pipeline.ran.clear()
    run_stages(pipeline.stages(), tmp_path)
    assert pipeline.ran == ["train"]  # evaluate read the same bytes before, so it stays cached
    assert not (stages / f"{TRASH_PREFIX}train.1.2").exists()


def test_done_json_records_output_and_input_digests(tmp_path: Path) -> None:
    run_stages(Pipeline().stages(), tmp_path)
    mine = json.loads((tmp_path / "stages" / "mine" / "done.json").read_text())
    train = json.loads((tmp_path / "stages" / "train" / "done.json").read_text())
    assert (
        train["inputs_sha256"] == {"mine": mine["outputs_sha256"]}
        and len(mine["outputs_sha256"]) == 64
    )


def test_done_json_from_before_digests_stays_cached(tmp_path: Path) -> None:
    pipeline = Pipeline()
    run_stages(pipeline.stages(), tmp_path)
    for name in ("mine", "train", "evaluate"):
        done_path = tmp_path / "stages" / name / "done.json"
        done = json.loads(done_path.read_text())
        del done["inputs_sha256"], done["outputs_sha256"]
        done_path.write_text(json.dumps(done))
    pipeline.ran.clear()
    assert all(o.cached for o in run_stages(pipeline.stages(), tmp_path)) and pipeline.ran == []
