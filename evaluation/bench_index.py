"""Index benchmarks behind evaluation/studies/07-index_bench.md: each preset is one `rankdistill index bench`
command (the same code), run with the arguments recorded here.

    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_index.py scifact-minilm
    .venv/bin/python evaluation/bench_index.py synthetic-1m
    .venv/bin/python evaluation/bench_index.py synthetic-1m-ivf8192
    .venv/bin/python evaluation/bench_index.py synthetic-1m-hnsw
    RANKDISTILL_DATA=../shared/data .venv/bin/python evaluation/bench_index.py scifact-splade

Extra arguments are appended to the preset's (e.g. `--threads 2`). Results land in
evaluation/results/index/<preset>/ (bench.md, bench.json, recall_qps.png); encoded corpora are
cached under runs/index-bench/ so a rerun does not encode again.
"""

from __future__ import annotations

import sys

from rankdistill.cli import main

OUT = "evaluation/results/index"

PRESETS: dict[str, list[str]] = {
    # SciFact corpus (5,183 docs) and its 300 test queries through all-MiniLM-L6-v2.
    "scifact-minilm": [
        "--model",
        "all-MiniLM-L6-v2",
        "--dataset",
        "scifact",
        "--spec",
        "HNSW32:efSearch=16/32/64/128",
        "--spec",
        "IVF64,Flat:nprobe=1/2/4/8/16",
        "--spec",
        "SQ8",
        "--spec",
        "PQ96",
        "--spec",
        "PQ48",
        "--spec",
        "PQ32",
        "--spec",
        "IVF64,PQ48np:nprobe=16",
        "--spec",
        "binary:rescore=1/2/5/10/20",
        "--single",
        "300",
        "--rounds",
        "5",
        "--threads",
        "1",
        "--chunk-size",
        "1024",
        "--output",
        f"{OUT}/scifact-minilm",
    ],
    # 1M clustered synthetic 384-d vectors, 1000 queries from the same mixture.
    "synthetic-1m": [
        "--synthetic",
        "1000000",
        "--dim",
        "384",
        "--queries",
        "1000",
        "--spec",
        "IVF4096,Flat:nprobe=4/8/16/32/64",
        "--spec",
        "IVF4096,PQ96x4fs,RFlat:nprobe=16/32/64,k_factor_rf=2/4",
        "--spec",
        "HNSW32:efSearch=32/64/128/256",
        "--train-size",
        "160000",
        "--single",
        "200",
        "--rounds",
        "3",
        "--threads",
        "1",
        "--output",
        f"{OUT}/synthetic-1m",
    ],
    # The same vectors and queries, IVF with twice the lists (fewer vectors scanned per probe).
    "synthetic-1m-ivf8192": [
        "--synthetic",
        "1000000",
        "--dim",
        "384",
        "--queries",
        "1000",
        "--spec",
        "IVF8192,Flat:nprobe=16/24/32/48/64",
        "--train-size",
        "160000",
        "--single",
        "200",
        "--rounds",
        "3",
        "--threads",
        "1",
        "--output",
        f"{OUT}/synthetic-1m-ivf8192",
    ],
    # The same vectors and queries, HNSW built with efConstruction 160 instead of faiss's 40.
    "synthetic-1m-hnsw": [
        "--synthetic",
        "1000000",
        "--dim",
        "384",
        "--queries",
        "1000",
        "--spec",
        "HNSW32:efConstruction=160,efSearch=32/64/128/256",
        "--single",
        "200",
        "--rounds",
        "3",
        "--threads",
        "1",
        "--output",
        f"{OUT}/synthetic-1m-hnsw",
    ],
    # SciFact through SPLADE-tiny (max length 256): the exact inverted index and Seismic vs exact search.
    "scifact-splade": [
        "--model",
        "splade-tiny",
        "--dataset",
        "scifact",
        "--max-length",
        "256",
        "--spec",
        "inverted",
        "--spec",
        "seismic:query_cut=5/10/20/0",
        "--spec",
        "seismic:query_cut=0,heap_factor=1,rescore=5",
        "--single",
        "300",
        "--rounds",
        "5",
        "--threads",
        "1",
        "--chunk-size",
        "1024",
        "--output",
        f"{OUT}/scifact-splade",
    ],
}


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in PRESETS:
        sys.exit(
            f"usage: {sys.argv[0]} {{{','.join(PRESETS)}}} [extra rankdistill index bench arguments]"
        )
    argv = ["index", "bench", *PRESETS[sys.argv[1]], *sys.argv[2:]]
    sys.argv = [
        "rankdistill",
        *argv,
    ]  # bench.md records the equivalent `rankdistill index bench` command
    sys.exit(main(argv))
