"""Build a FAISS index of a corpus with a dense model, then evaluate it with BEIR's metrics.

One string names the index, as in faiss' `index_factory` ("Flat", "IVF64,PQ16x8", "HNSW32");
the folder holds the index, its manifest (spec, model, corpus hash, versions) and nothing
half-written: a killed build resumes from its encoded chunks.

    python examples/build_and_evaluate_index.py --model all-MiniLM-L6-v2 --data scifact --spec Flat
"""

from __future__ import annotations

import argparse
from pathlib import Path

import rankdistill as rd


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="all-MiniLM-L6-v2")
    parser.add_argument("--data", default="data/sample", help="dataset name or BEIR folder")
    parser.add_argument(
        "--spec",
        default="Flat",
        help="faiss index_factory string, or inverted / seismic for SPLADE",
    )
    parser.add_argument("--output", default="runs/example-index")
    args = parser.parse_args(argv)

    folder = Path(args.output) / args.spec.replace(",", "_")
    dataset = rd.open_dataset(args.data)
    if (folder / "manifest.json").is_file():
        index = rd.open_index(folder, model=args.model)
    else:
        index = rd.build_index(args.model, dataset, args.spec, folder)
    evaluation = rd.evaluate(dataset, index)
    for metric in ("nDCG@10", "R@100", "MRR@10"):
        print(f"{metric:8s} {evaluation.result.aggregate[metric]:.4f}")
    return evaluation.result.aggregate


if __name__ == "__main__":
    main()
