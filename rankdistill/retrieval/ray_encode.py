"""Corpus encoding as a Ray Data pipeline (`engine: ray`): the same chunk files as one process.

    rows to encode  ->  read texts (Ray tasks, CPU)  ->  encode + save (a pool of model actors)

`retrieval.encode.encode_chunks` hands over the rows no saved chunk covers, cut into chunks of
`chunk_size` rows at the same boundaries the local loop uses, and each chunk's texts are encoded
in the same pieces of 4 x batch_size rows, so every saved chunk file holds the vectors one process
would write. The reading stage (the corpus's lines parsed and joined as "title text", from the
memory-mapped corpus file: `data.corpus_file`) streams into the actors while they run the model.
An actor writes its chunk atomically under a name given by its row range, so a task that Ray
retries after a worker died rewrites the same file: no chunk is lost or doubled. Ray restarts a
dead actor and retries its task by default (`max_restarts=-1`, `max_task_retries=-1`).

Where Ray runs: `RAY_ADDRESS` (a cluster's `ray://host:10001` or `auto` for a node that runs
`ray start`), else a local Ray started for the run. Needs `pip install rankdistill[ray]`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from rankdistill.core.errors import UserError
from rankdistill.encoders.models import EncodingSettings

log = logging.getLogger(__name__)
READ_CPUS = 0.1  # a reading task's share: it parses lines while the actors hold the rest
PID_FILE = (
    "RAY_ENCODER_PIDS"  # a folder: each actor marks its process id there as it encodes (tests)
)


def ray_available() -> bool:
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def start_ray() -> Any:
    """The `ray` module, connected to `RAY_ADDRESS` or a local Ray started here (once a process),
    with Ray Data's own progress bars off (ours count documents and pairs); a UserError where Ray
    Data is not installed."""
    if not ray_available():
        raise UserError(
            "engine: ray needs Ray Data; install it with `pip install rankdistill[ray]`"
        )
    import ray
    import ray.data

    if not ray.is_initialized():
        ray.init(
            address=os.environ.get("RAY_ADDRESS"),
            log_to_driver=False,
            include_dashboard=False,
            ignore_reinit_error=True,
        )
    ray.data.DataContext.get_current().enable_progress_bars = False
    return ray


class PoolActor:
    """The base of a Ray actor in a pool: it runs on its share of the CPUs (`threads` torch
    threads) and, where `marks` names a folder (a tests' hook), marks its process id there each
    time it starts work, so a test can kill a worker mid-job."""

    def __init__(self, marks: str | None, threads: int) -> None:
        import torch

        torch.set_num_threads(threads)
        self.marks = marks

    def mark(self) -> None:
        if self.marks:
            Path(self.marks, f"{os.getpid()}").touch()


def map_on_actors(
    items: list[dict[str, Any]],
    actor: type,
    arguments: dict[str, Any],
    marks: str,
    workers: int | None = None,
) -> Any:
    """A Ray Data pipeline that hands each of `items` (one block each) to a pool of `workers`
    `PoolActor`s (default: one per CPU Ray has, each with an equal share of the CPUs and as many
    torch threads), each made once as `actor(**arguments, marks=..., threads=...)`, where `marks` is the
    value of the environment variable named `marks` (a tests' hook, read in the driver: workers
    have the cluster's environment). Iterate it with `iter_batches(batch_size=1)`."""
    ray = start_ray()
    cpus = max(1, int(ray.available_resources().get("CPU", 1)))
    pool = max(1, min(workers or cpus, len(items)))
    return ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        actor,
        fn_constructor_kwargs={
            **arguments,
            "marks": os.environ.get(marks),
            "threads": max(1, cpus // pool),
        },
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=pool),
        num_cpus=cpus / pool,
    )


def pieces_of(start: int, end: int, piece: int) -> list[tuple[int, int]]:
    """The row ranges the local loop hands the model between `start` and `end`."""
    return [(p, min(p + piece, end)) for p in range(start, end, piece)]


def _read_texts(batch: dict[str, np.ndarray], texts: Sequence[str]) -> dict[str, Any]:
    """Ray task: the texts of each chunk's rows."""
    return {
        "start": batch["start"],
        "end": batch["end"],
        "texts": [list(texts[s:e]) for s, e in zip(batch["start"], batch["end"])],
    }


class _EncodeAndSave(PoolActor):
    """Ray actor: the model loaded once; each call encodes and saves whole chunks."""

    def __init__(
        self,
        name: str,
        sparse: bool,
        settings: EncodingSettings,
        folder: str,
        suffix: str,
        marks: str | None,
        threads: int,
    ) -> None:
        from rankdistill.retrieval.encode import load_encoder

        super().__init__(marks, threads)
        self.encoder = load_encoder(name, sparse, settings)
        self.folder, self.suffix = Path(folder), suffix

    def __call__(self, batch: dict[str, Any]) -> dict[str, Any]:
        from rankdistill.retrieval.encode import piece_rows, save_chunk

        self.mark()
        piece = piece_rows(self.encoder)
        for start, end, texts in zip(batch["start"], batch["end"], batch["texts"]):
            start, end, texts = int(start), int(end), list(texts)
            parts = [
                self.encoder.encode_documents(texts[a - start : b - start], memoise=False)
                for a, b in pieces_of(start, end, piece)
            ]
            save_chunk(self.encoder, self.folder, start, end, self.suffix, parts)
        return {"rows": [int(e) - int(s) for s, e in zip(batch["start"], batch["end"])]}


def encode_on_ray(
    encoder: Any,
    texts: Sequence[str],
    folder: Path,
    chunks: list[tuple[int, int]],
    suffix: str,
    progress: bool = True,
    workers: int | None = None,
) -> None:
    """Encode and save each (start, end) chunk of `texts` into `folder` on Ray (see above);
    `workers` model actors (default: one per CPU Ray has, each with one CPU)."""
    if not chunks:
        return
    ray = start_ray()
    cpus = max(1, int(ray.available_resources().get("CPU", 1)))
    workers = max(1, min(workers or cpus, len(chunks)))
    settings = encoder.encoding.settings
    rows = ray.data.from_items(
        [{"start": s, "end": e} for s, e in chunks], override_num_blocks=len(chunks)
    )
    encoded = rows.map_batches(
        _read_texts, fn_kwargs={"texts": texts}, batch_size=1, num_cpus=READ_CPUS
    ).map_batches(
        _EncodeAndSave,
        fn_constructor_kwargs={
            "name": encoder.name,
            "sparse": encoder.sparse,
            "settings": settings,
            "folder": str(folder),
            "suffix": suffix,
            "marks": os.environ.get(PID_FILE),  # read here: workers have the cluster's environment
            "threads": max(1, cpus // workers),
        },
        batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers),
        num_cpus=(cpus - READ_CPUS * workers) / workers,  # what the reading tasks leave
    )
    bar = tqdm(
        total=sum(e - s for s, e in chunks), desc="encoding (ray)", unit="doc", disable=not progress
    )
    for batch in encoded.iter_batches(batch_size=1, batch_format="numpy"):
        bar.update(int(np.sum(batch["rows"])))
    bar.close()
