"""Every heavy stage under torchrun with 2 local CPU ranks (gloo) gives what one process gives:
the same index vectors, the same training set, the same metrics; a rerun resumes a build whose
rank died from the chunks that were written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rankdistill.core.distributed import Shard
from rankdistill.encoders.models import EncodingSettings
from tests.conftest import REPO, write_beir

TORCHRUN = Path(sys.executable).with_name("torchrun")


def rankdistill(args: list[str], cwd: Path, ranks: int = 1) -> str:
    """`rankdistill ARGS` in one process pinned to one core, or under torchrun with `ranks` local
    processes pinned to `ranks` cores (which they share: one thread each), so the two differ only in how the
    work is split, not in how many threads sum a dot product."""
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": str(REPO),
    }  # this checkout, from any cwd
    command = ["taskset", "-c", "0", sys.executable, "-m", "rankdistill.cli", *args]
    if ranks > 1:
        command = [
            "taskset",
            "-c",
            ",".join(map(str, range(ranks))),
            str(TORCHRUN),
            "--standalone",
            "--nproc-per-node",
            str(ranks),
            "-m",
            "rankdistill.cli",
            *args,
        ]
    result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600, cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_shard_parts_cover_every_item_once() -> None:
    items = list(range(11))
    for world in (1, 2, 3, 5, 16):
        parts = [Shard(rank, world).part(items) for rank in range(world)]
        assert [x for part in parts for x in part] == items
        assert max(map(len, parts)) - min(map(len, parts)) <= 1
    assert Shard().gather("x") == ["x"]
    Shard().barrier()  # one process: nothing to wait for, no process group started


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_beir(tmp_path_factory.mktemp("dist") / "tiny")


BUILD = [
    "index",
    "build",
    "--spec",
    "IVF2,Flat:nprobe=2",
    "--chunk-size",
    "3",
    "--train-size",
    "10",
    "--precision",
    "float32",
    "--backend",
    "torch",
    "--keep-chunks",
    "--device",
    "cpu",
]


@pytest.fixture(scope="module")
def indexes(tiny: Path, tiny_dense_model: str) -> tuple[Path, Path]:
    """The same IVF index built by one process and by 2 torchrun ranks (4 chunks: 2 each)."""
    one, two = tiny.parent / "idx-one", tiny.parent / "idx-two"
    rankdistill(
        [*BUILD, "--model", tiny_dense_model, "--dataset", str(tiny), "--output", str(one)],
        tiny.parent,
    )
    out = rankdistill(
        [*BUILD, "--model", tiny_dense_model, "--dataset", str(tiny), "--output", str(two)],
        tiny.parent,
        ranks=2,
    )
    assert out.count("built IVF2,Flat") == 1  # rank 0 reports, once
    return one, two


def test_two_ranks_build_the_same_index(indexes: tuple[Path, Path]) -> None:
    one, two = indexes
    chunks = sorted(p.name for p in (one / "chunks").glob("*.npy"))
    assert chunks == sorted(p.name for p in (two / "chunks").glob("*.npy")) and len(chunks) == 4
    for name in chunks:
        assert np.array_equal(np.load(one / "chunks" / name), np.load(two / "chunks" / name)), name
    first, second = (json.loads((folder / "manifest.json").read_text()) for folder in indexes)
    assert first["doc_ids"] == second["doc_ids"]
    assert first["dataset"]["corpus_sha256"] == second["dataset"]["corpus_sha256"]
    assert first["files"]["index.faiss"]["sha256"] == second["files"]["index.faiss"]["sha256"]


def test_a_build_whose_rank_died_resumes_from_its_chunks(
    indexes: tuple[Path, Path], tiny: Path, tiny_dense_model: str
) -> None:
    """As after rank 1 died mid-build: its last chunk and the manifest missing. The rerun (any
    world size; here one process) encodes only that chunk and ends with the same index."""
    from rankdistill.indexes.build import BuildSettings, write_index

    two = indexes[1]
    (two / "manifest.json").unlink()
    saved = sorted(
        (two / "chunks").glob("*.npy")
    )  # named by row range, e.g. 000000005-000000008.npy
    saved[-1].unlink()
    settings = BuildSettings(
        EncodingSettings(device="cpu", precision="float32"),
        chunk_size=3,
        train_size=10,
        keep_chunks=True,
    )
    manifest = write_index(
        tiny_dense_model, str(tiny), "IVF2,Flat:nprobe=2", two, settings=settings, progress=False
    )
    assert manifest["build_seconds"]["reused_chunks"] == len(saved) - 1
    assert saved[-1].is_file()  # only the lost rows were encoded again, into the same range

    def vectors(folder: Path) -> np.ndarray:
        return np.concatenate([np.load(path) for path in sorted((folder / "chunks").glob("*.npy"))])

    assert np.allclose(vectors(two), vectors(indexes[0]), atol=1e-6)


def test_two_ranks_evaluate_to_the_same_metrics(indexes: tuple[Path, Path], tiny: Path) -> None:
    """`evaluate --index --retriever bm25`: the ranks split the queries (encoding and search);
    rank 0 writes the same runs and metrics one process writes."""
    one = indexes[0]
    args = [
        "evaluate",
        "--dataset",
        str(tiny),
        "--index",
        str(one),
        "--retriever",
        "bm25",
        "--k",
        "5",
    ]
    single = rankdistill([*args, "--output", str(tiny.parent / "eval-one")], tiny.parent)
    double = rankdistill([*args, "--output", str(tiny.parent / "eval-two")], tiny.parent, ranks=2)

    def table(stdout: str) -> list[list[str]]:  # without the timing columns
        return [line.split("|")[1:-3] for line in stdout.splitlines() if line.startswith("| ")]

    assert table(single) == table(double) and len(table(single)) == 3
    for system in ("bm25", "index_IVF2_Flat"):
        (first,) = (tiny.parent / "eval-one" / "tiny").glob(f"{system}*")
        second = tiny.parent / "eval-two" / "tiny" / first.name
        assert (first / "run.trec").read_text() == (second / "run.trec").read_text()
        metrics = [json.loads((folder / "metrics.json").read_text()) for folder in (first, second)]
        assert (
            metrics[0]["metrics"] == metrics[1]["metrics"]
            and metrics[0]["per_query"] == metrics[1]["per_query"]
        )
        assert metrics[0]["num_queries"] == 4


def test_two_ranks_mine_the_same_training_set(tiny: Path) -> None:
    """`mine`: the ranks split candidate retrieval (queries) and teacher scoring (pairs, into one
    store); rank 0 writes a training set equal to one process's."""
    args = [
        "mine",
        "--dataset",
        str(tiny),
        "--split",
        "test",
        "--retriever",
        "bm25",
        "--teacher",
        "bm25",
        "--n-top",
        "2",
        "--n-random",
        "2",
        "--depth",
        "6",
    ]
    rankdistill([*args, "--store", "store-one", "--output", "one.jsonl"], tiny.parent)
    rankdistill([*args, "--store", "store-two", "--output", "two.jsonl"], tiny.parent, ranks=2)
    one, two = ((tiny.parent / name).read_text() for name in ("one.jsonl", "two.jsonl"))
    assert one == two and one.strip()
    meta = [
        json.loads((tiny.parent / f"{name}.jsonl.meta.json").read_text()) for name in ("one", "two")
    ]
    assert meta[0]["counts"] == meta[1]["counts"]
    (store,) = list((tiny.parent / "store-two").iterdir())
    assert (
        len({shard.name.split("-")[2] for shard in store.glob("shard-*.bin")}) == 2
    )  # both ranks scored


def rounded_rows(jsonl: str) -> list:
    """The rows of a training set, every float cut to 6 significant digits."""

    def rounded(value):
        if isinstance(value, float):
            return float(f"{value:.6g}")
        if isinstance(value, dict):
            return {k: rounded(v) for k, v in value.items()}
        if isinstance(value, list):
            return [rounded(v) for v in value]
        return value

    return [rounded(json.loads(line)) for line in jsonl.splitlines()]


def test_two_ranks_run_the_whole_loop(tmp_path: Path, tiny_dense_model: str) -> None:
    """`torchrun ... rankdistill run`: every stage under 2 ranks (mining split, DDP training, the
    index's chunks split, evaluation split). The training set and every metric that does not
    depend on the student's weights (DDP averages 2 ranks' batches) equal one process's."""
    from tests.test_pipeline import pipeline_config

    beir = write_beir(write_beir(tmp_path / "tiny", split="train"), split="test")
    summaries = {}
    for ranks in (1, 2):
        folder = tmp_path / f"ranks{ranks}"
        folder.mkdir()
        config = pipeline_config(folder, beir, tiny_dense_model)
        out = rankdistill(["run", str(config)], folder, ranks=ranks)
        assert out.count("report: ") == 1
        run = folder / "runs" / "tiny"
        assert (run / "report.md").is_file()
        trained = json.loads(
            (run / "stages" / "train" / "student" / "rankdistill_train.json").read_text()
        )
        assert trained["world_size"] == ranks
        summaries[ranks] = json.loads((run / "stages" / "evaluate" / "done.json").read_text())[
            "summary"
        ]["datasets"]["tiny"]
        summaries[ranks]["train.jsonl"] = (run / "stages" / "mine" / "train.jsonl").read_text()
    one, two = summaries[1], summaries[2]
    # the same rows, documents and order; teacher scores to 6 significant digits, since 2 ranks
    # score other batches and the CPU's kernels may round the last bits differently
    assert rounded_rows(one["train.jsonl"]) == rounded_rows(two["train.jsonl"])
    for system in ("bm25", "bm25 + teacher rerank@5"):
        assert one["systems"][system]["metrics"] == two["systems"][system]["metrics"]
        assert one["systems"][system]["per_query"] == two["systems"][system]["per_query"]
    assert any(name.startswith("student") for name in two["systems"])
