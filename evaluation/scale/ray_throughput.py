"""Throughput on the same cores: one process, torchrun ranks, and Ray.

    python evaluation/scale/ray_throughput.py --documents 2000 --out evaluation/scale/results/ray_throughput.jsonl
    python evaluation/scale/ray_throughput.py --stage mine --out evaluation/scale/results/ray_throughput.jsonl

`--stage encode` (the default) encodes the first `--documents` documents of a BEIR folder (default
SciFact) with all-MiniLM-L6-v2 into a fresh chunk folder. `--stage mine` runs `rankdistill mine`
on the folder's train split: BM25 candidates (depth 100), 8 + 8 negatives a query, scored into a
fresh store by an all-MiniLM-L6-v2 bi-encoder teacher (`--split`, `--float32`: precision auto resolved as on a
CPU without bf16). Each runs three ways, each in its own
process tree, one after another: `local` (one process, every core), `torchrun` (`--ranks` gloo
ranks on this machine, each with cores / ranks threads, rankdistill's Shard split) and `ray` (a
local Ray of the same cores, `--ranks` actors). Prints the seconds and the ratio of each to one
process, and checks that the three outputs (the chunk files; the training set's records) are
the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from stage import cpu_record

HERE = Path(__file__).resolve()


def encode_once(data: str, documents: int, folder: Path, engine: str) -> None:
    """The child: encode the documents into `folder` (under torchrun when RANK is set)."""
    from rankdistill.core.distributed import Shard
    from rankdistill.data.open import corpus_texts
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.encode import encode_chunks, load_encoder

    shard = Shard.from_env()
    if shard.world_size > 1:
        import torch

        torch.set_num_threads(max(1, (os.cpu_count() or 1) // shard.world_size))
    _, texts, _ = corpus_texts(data)
    texts = list(texts[:documents])
    encoder = load_encoder("all-MiniLM-L6-v2", False, EncodingSettings(batch_size=32))
    encode_chunks(
        encoder, texts, folder, 256, {"bench": documents}, False, shard=shard, engine=engine
    )


def mine_command(data: str, split: str, folder: Path, engine: str) -> list[str]:
    """`rankdistill mine`'s arguments for the mine stage, writing under `folder`."""
    return [
        "mine", "--dataset", data, "--split", split, "--retriever", "bm25",
        "--teacher", "bi-encoder:all-MiniLM-L6-v2", "--store", str(folder / "store"),
        "--output", str(folder / "train.jsonl"), "--engine", engine, "--batch-size", "32",
    ]  # fmt: skip


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    if (folder / "train.jsonl").is_file():
        h.update((folder / "train.jsonl").read_bytes())
    for path in sorted(folder.glob("[0-9]*.npy")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stage", choices=("encode", "mine"), default="encode")
    parser.add_argument("--data", default="scifact")
    parser.add_argument("--documents", type=int, default=2000)
    parser.add_argument("--split", default="train", help="the split --stage mine mines")
    parser.add_argument(
        "--float32",
        action="store_true",
        help="run as on a CPU without bf16 (precision auto resolves to float32)",
    )
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--work", type=Path, default=Path("/work/scale_data/ray_throughput"))
    parser.add_argument("--out", type=Path, help="JSON lines file the result is appended to")
    parser.add_argument("--child", choices=("local", "ray"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        encode_once(args.data, args.documents, args.folder, args.child)
        return
    if args.out is None:
        parser.error("--out is required")
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(args.ranks)]
    if args.stage == "encode":
        me = [str(HERE), "--data", args.data, "--documents", str(args.documents), "--child"]
        ways = {
            "local": lambda folder: [sys.executable, *me, "local", "--folder", str(folder)],
            "torchrun": lambda folder: [*torchrun, *me, "local", "--folder", str(folder)],
            "ray": lambda folder: [sys.executable, *me, "ray", "--folder", str(folder)],
        }
    else:
        cli = ["-m", "rankdistill.cli"]
        ways = {
            "local": lambda folder: [
                sys.executable,
                *cli,
                *mine_command(args.data, args.split, folder, "local"),
            ],
            "torchrun": lambda folder: [
                *torchrun,
                *cli,
                *mine_command(args.data, args.split, folder, "local"),
            ],
            "ray": lambda folder: [
                sys.executable,
                *cli,
                *mine_command(args.data, args.split, folder, "ray"),
            ],
        }
    results, digests = {}, {}
    for name, command in ways.items():
        folder = args.work / args.stage / name
        shutil.rmtree(folder, ignore_errors=True)
        started = time.perf_counter()
        cache = {"RANKDISTILL_CACHE": str(folder / "cache")}  # nothing reused between the ways
        if args.float32:
            cache["RANKDISTILL_CPU_CAPABILITY"] = "AVX2"
        subprocess.run(command(folder), check=True, env={**os.environ, **cache})
        seconds = time.perf_counter() - started
        results[name] = seconds
        digests[name] = digest(folder)
        print(f"{name}: {seconds:.1f} s ({args.stage})")
    cpu = cpu_record()
    record = {
        "stage": args.stage,
        "data": args.data,
        "split": args.split if args.stage == "mine" else None,
        "precision": "float32" if args.float32 else "auto",
        "documents": args.documents if args.stage == "encode" else None,
        "ranks": args.ranks,
        "seconds": results,
        "ratio_to_local": {k: results["local"] / v for k, v in results.items()},
        "output_sha256": digests,
        "same_bytes": len(set(digests.values())) == 1,
        "cpu_flags": [f for f in ("avx512_bf16", "amx_bf16") if cpu[f]],
        "cores": os.cpu_count(),
        "note": "seconds include each way's process start and model load",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as handle:
        handle.write(json.dumps(record) + "\n")
    print(json.dumps(record, indent=1))


if __name__ == "__main__":
    main()
