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
            text = "+".join(
                [settings["value"], *((upstream[n] / "out").read_text() for n in inputs)]
            )
            (folder / "out").write_text(text)
            return {"out": text}

        return Stage(name, settings, run, list(inputs))

    def pipeline(
        self, a: str = "a", b: str = "b", c: str = "c", fail_b: bool = False
    ) -> list[Stage]:
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
    [
        ({"a": "A"}, ["mine", "train", "evaluate"]),
        ({"b": "B"}, ["train", "evaluate"]),
        ({"c": "C"}, ["evaluate"]),
    ],
)
def test_changed_stage_reruns_it_and_everything_after(
    tmp_path: Path, change: dict, rerun: list[str]
) -> None:
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


@pytest.mark.parametrize("fault", ["same size, other bytes", "truncated", "deleted", "added"])
def test_a_cached_stage_whose_outputs_changed_is_redone(
    tmp_path: Path, fault: str, caplog: pytest.LogCaptureFixture
) -> None:
    first = run_stages(Recorder().pipeline(), tmp_path)
    out = tmp_path / "stages" / "train" / "out"
    if fault == "same size, other bytes":
        out.write_text(out.read_text().upper())
    elif fault == "truncated":
        out.write_text(out.read_text()[:2])
    elif fault == "deleted":
        out.unlink()
    else:
        (out.parent / "stray").write_text("x")
    recorder = Recorder()
    again = run_stages(recorder.pipeline(), tmp_path)
    assert recorder.ran == [
        "train"
    ]  # redone; what it made again is what evaluate read, so evaluate stays cached
    assert again[-1].summary == first[-1].summary and out.read_text() == "b+a"
    assert "fail their check" in caplog.text and "stages/train" in caplog.text


@pytest.mark.parametrize("content", ["{not json", "[1, 2]", '{"key": 3}', ""])
def test_a_broken_done_file_reruns_its_stage(tmp_path: Path, content: str) -> None:
    run_stages(Recorder().pipeline(), tmp_path)
    (tmp_path / "stages" / "evaluate" / "done.json").write_text(content)
    recorder = Recorder()
    run_stages(recorder.pipeline(), tmp_path)
    assert recorder.ran == ["evaluate"]


def test_a_done_file_without_sizes_is_checked_by_its_digest(tmp_path: Path) -> None:
    import json

    run_stages(Recorder().pipeline(), tmp_path)
    done = tmp_path / "stages" / "mine" / "done.json"
    written = json.loads(done.read_text())
    del written["outputs_bytes"]  # as runs made before sizes were recorded wrote it
    done.write_text(json.dumps(written))
    recorder = Recorder()
    run_stages(recorder.pipeline(), tmp_path)
    assert recorder.ran == []
    (tmp_path / "stages" / "mine" / "out").write_text("A")
    run_stages(recorder.pipeline(), tmp_path)
    assert recorder.ran == ["mine"]
