"""Stage caching rules: unchanged stages are skipped, a changed stage reruns with everything
downstream, a killed stage resumes in its folder, stale partial state is never reused."""

from __future__ import annotations

from pathlib import Path

import pytest

from rankdistill.pipeline import Stage, run_stages


class Recorder:
    def __init__(self) -> None:
        self.ran: list[str] = []

    def stage(self, name: str, settings: dict, inputs: list[str] = (), fail: bool = False) -> Stage:
        def run(folder: Path, upstream: dict[str, Path]) -> dict:
            self.ran.append(name)
            (folder / "partial").write_text("started")
            if fail:
                raise KeyboardInterrupt  # a Ctrl-C in the middle of the stage
            text = "+".join([settings["value"], *((upstream[n] / "out").read_text() for n in inputs)])
            (folder / "out").write_text(text)
            return {"out": text}

        return Stage(name, settings, run, list(inputs))

    def pipeline(self, a: str = "a", b: str = "b", c: str = "c", fail_b: bool = False) -> list[Stage]:
        return [
            self.stage("mine", {"value": a}),
            self.stage("train", {"value": b}, ["mine"], fail=fail_b),
            self.stage("evaluate", {"value": c}, ["train"]),
        ]


def test_rerun_skips_every_finished_stage(tmp_path: Path) -> None:
    recorder = Recorder()
    first = run_stages(recorder.pipeline(), tmp_path)
    again = run_stages(recorder.pipeline(), tmp_path)
    assert recorder.ran == ["mine", "train", "evaluate"]
    assert [o.cached for o in again] == [True, True, True]
    assert again[-1].summary == first[-1].summary == {"out": "c+b+a"}


@pytest.mark.parametrize(
    ("change", "rerun"),
    [({"a": "A"}, ["mine", "train", "evaluate"]), ({"b": "B"}, ["train", "evaluate"]), ({"c": "C"}, ["evaluate"])],
)
def test_changed_stage_reruns_it_and_everything_after(tmp_path: Path, change: dict, rerun: list[str]) -> None:
    run_stages(Recorder().pipeline(), tmp_path)
    recorder = Recorder()
    outcomes = run_stages(recorder.pipeline(**change), tmp_path)
    assert recorder.ran == rerun
    assert [o.name for o in outcomes if not o.cached] == rerun


def test_killed_stage_resumes_in_its_folder_and_stale_state_is_cleared(tmp_path: Path) -> None:
    recorder = Recorder()
    with pytest.raises(KeyboardInterrupt):
        run_stages(recorder.pipeline(fail_b=True), tmp_path)
    train = tmp_path / "stages" / "train"
    assert (train / "partial").exists() and not (train / "done.json").exists()
    (train / "checkpoint").write_text("step 40")  # resumable state the stage left behind
    run_stages(recorder.pipeline(), tmp_path)
    assert recorder.ran == ["mine", "train", "train", "evaluate"]  # mine was not redone
    assert (train / "checkpoint").exists()  # same key: its state was kept for the resume
    run_stages(Recorder().pipeline(b="B"), tmp_path)
    assert not (train / "checkpoint").exists()  # another key: the old state is gone


def test_force_reruns_a_named_stage(tmp_path: Path) -> None:
    run_stages(Recorder().pipeline(), tmp_path)
    recorder = Recorder()
    run_stages(recorder.pipeline(), tmp_path, force={"evaluate"})
    assert recorder.ran == ["evaluate"]


def test_a_stage_reading_a_later_stage_is_an_error(tmp_path: Path) -> None:
    recorder = Recorder()
    with pytest.raises(ValueError, match="do not run before it"):
        run_stages([recorder.stage("train", {"value": "b"}, ["mine"])], tmp_path)
