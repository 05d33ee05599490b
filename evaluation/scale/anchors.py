"""Side by side with the anchors, at each corpus size: mining against sentence-transformers'
`mine_hard_negatives`, and dense evaluation against beir's `EvaluateRetrieval` with
`DenseRetrievalExactSearch`, with the same model, corpus, queries and k.

    python evaluation/scale/anchors.py model MODEL_DIR
    python evaluation/scale/anchors.py run --sizes 100000 1000000 --out RESULT.jsonl
    python evaluation/scale/anchors.py report RESULT.jsonl

The model: sentence-transformers' StaticEmbedding built from all-MiniLM-L6-v2's token embeddings
and tokenizer (`model`), so that every side encodes a million documents in minutes and gets the
same vectors; the comparison is about everything around the model (loading, encoding loop,
search, memory), which is what a large corpus stresses.

Each side runs in a process of its own (`side`, started by `run`), from the BEIR folder of
make_corpus.py to its result, with an empty cache and score store. The line records the wall time
after imports, the peak RSS (ru_maxrss) and the RSS over the post-import baseline, the CPU and
the commit, and a digest of the result. `run` then compares the two sides' results: for mining,
the negatives each query got (as document ids) and how many queries got the same ones; for
evaluation, nDCG@10 (mean over queries) of each. Sides, all float32 on the CPU, batch 256:

    mine_rankdistill   rd.build_training_set: dense:MODEL's top k (the retriever streams the
                       corpus from memory-mapped chunks above 50,000 documents), the top n
                       non-positives, each pair scored by the bi-encoder:MODEL teacher into the store
    mine_st            mine_hard_negatives(range_max=k, num_negatives=n, sampling_strategy="top",
                       output_format="n-tuple"), corpus read from corpus.jsonl into a list, as its
                       documentation does; its default exact search (use_faiss=False)
    mine_st_faiss      the same with use_faiss=True
    eval_rankdistill   rd.evaluate(open_dataset(DIR, "test"), dense:MODEL), top 100
    eval_beir          GenericDataLoader(DIR).load("test"), EvaluateRetrieval(DenseRetrievalExactSearch(
                       SentenceBERT(MODEL), batch_size=256), score_function="cos_sim").retrieve, top 100
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
from typing import Any

from stage import append_record, cpu_record, git_state, peak_rss_gb

HERE = Path(__file__).resolve().parent
K, NEGATIVES, BATCH = 100, 10, 256
SIDES = ("mine_rankdistill", "mine_st", "mine_st_faiss", "eval_rankdistill", "eval_beir")


def build_model(out: Path) -> None:
    """A StaticEmbedding over all-MiniLM-L6-v2's token embeddings and tokenizer, saved to `out`."""
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import StaticEmbedding

    from rankdistill.encoders.models import resolve_model

    source = SentenceTransformer(resolve_model("all-MiniLM-L6-v2"), device="cpu")
    weights = source[0].auto_model.embeddings.word_embeddings.weight.detach().numpy()
    static = StaticEmbedding(source.tokenizer.backend_tokenizer, embedding_weights=weights)
    SentenceTransformer(modules=[static], device="cpu").save(str(out))


def beir_texts(data_dir: Path) -> tuple[dict[str, str], dict[str, str], dict[str, dict[str, int]]]:
    """(doc id -> "title text", query id -> text, test qrels), read the way a user of the anchors
    would: every line of corpus.jsonl into memory."""
    corpus: dict[str, str] = {}
    with (data_dir / "corpus.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            doc = json.loads(line)
            title = doc.get("title", "")
            corpus[doc["_id"]] = f"{title} {doc['text']}".strip() if title else doc["text"]
    queries = {}
    with (data_dir / "queries.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            query = json.loads(line)
            queries[query["_id"]] = query["text"]
    qrels: dict[str, dict[str, int]] = {}
    with (data_dir / "qrels" / "test.tsv").open(encoding="utf-8") as lines:
        next(lines)
        for line in lines:
            query_id, doc_id, grade = line.rstrip("\n").split("\t")
            qrels.setdefault(query_id, {})[doc_id] = int(grade)
    return corpus, queries, qrels


def mine_rankdistill(data_dir: Path, model: str, work: Path) -> dict[str, Any]:
    import rankdistill as rd

    encoding = rd.EncodingSettings(batch_size=BATCH, precision="float32")
    dataset = rd.open_dataset(data_dir, "test")
    teacher = rd.build_teacher(f"bi-encoder:{model}", encoding=encoding)
    mined = rd.build_training_set(
        dataset,
        [f"dense:{model}"],
        teacher,
        work / "store",
        n_top=NEGATIVES,
        n_random=0,
        depth=K,
        encoding=encoding,
    )
    return {r.query_id: [n.doc_id for n in r.negatives] for r in mined.records}


def mine_st(data_dir: Path, model: str, work: Path, faiss: bool = False) -> dict[str, Any]:
    from datasets import Dataset
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.util import mine_hard_negatives

    corpus, queries, qrels = beir_texts(data_dir)
    pairs = [(q, d) for q, judged in qrels.items() for d, grade in judged.items() if grade > 0]
    dataset = Dataset.from_dict(
        {"query": [queries[q] for q, _ in pairs], "positive": [corpus[d] for _, d in pairs]}
    )
    texts = list(corpus.values())
    mined = mine_hard_negatives(
        dataset,
        SentenceTransformer(model, device="cpu"),
        corpus=texts,
        range_max=K,
        num_negatives=NEGATIVES,
        sampling_strategy="top",
        output_format="n-tuple",
        batch_size=BATCH,
        use_faiss=faiss,
        verbose=False,
    )
    doc_of = {}
    for doc_id, text in corpus.items():
        doc_of.setdefault(text, doc_id)
    query_of = {queries[q]: q for q, _ in pairs}
    negatives = [c for c in mined.column_names if c.startswith("negative")]
    return {query_of[row["query"]]: [doc_of[row[c]] for c in negatives] for row in mined.to_list()}


def eval_rankdistill(data_dir: Path, model: str, work: Path) -> dict[str, Any]:
    import rankdistill as rd

    retriever = rd.build_retriever(
        f"dense:{model}", rd.EncodingSettings(batch_size=BATCH, precision="float32")
    )
    evaluation = rd.evaluate(rd.open_dataset(data_dir, "test"), retriever, K)
    return {"nDCG@10": evaluation.result.aggregate["nDCG@10"]}


def eval_beir(data_dir: Path, model: str, work: Path) -> dict[str, Any]:
    from beir.datasets.data_loader import GenericDataLoader
    from beir.retrieval.evaluation import EvaluateRetrieval
    from beir.retrieval.models import SentenceBERT
    from beir.retrieval.search.dense import DenseRetrievalExactSearch

    corpus, queries, qrels = GenericDataLoader(data_folder=str(data_dir)).load(split="test")
    search = DenseRetrievalExactSearch(SentenceBERT(model), batch_size=BATCH)
    retriever = EvaluateRetrieval(search, score_function="cos_sim", k_values=[10, K])
    results = retriever.retrieve(corpus, queries)
    ndcg, _, _, _ = retriever.evaluate(qrels, results, [10, K])
    return {"nDCG@10": ndcg["NDCG@10"]}


RUNS = {
    "mine_rankdistill": mine_rankdistill,
    "mine_st": mine_st,
    "mine_st_faiss": lambda d, m, w: mine_st(d, m, w, faiss=True),
    "eval_rankdistill": eval_rankdistill,
    "eval_beir": eval_beir,
}
IMPORTS = {  # imported before the post-import baseline, so a side's RSS is its work's
    "mine_rankdistill": ["rankdistill.mining.build", "rankdistill.retrieval.dense", "torch"],
    "mine_st": ["sentence_transformers", "datasets", "torch"],
    "mine_st_faiss": ["sentence_transformers", "datasets", "torch", "faiss"],
    "eval_rankdistill": ["rankdistill.evaluation", "rankdistill.retrieval.dense", "torch"],
    "eval_beir": ["beir.retrieval.search.dense", "sentence_transformers", "torch"],
}


def side(name: str, data_dir: Path, model: str, work: Path, out: Path) -> None:
    """Run one side in this process and append its line to `out`; its result to WORK/NAME.json."""
    import importlib

    for module in IMPORTS[name]:
        importlib.import_module(module)
    baseline = peak_rss_gb()
    load = os.getloadavg()
    started = time.perf_counter()
    result = RUNS[name](data_dir, model, work)
    seconds = time.perf_counter() - started
    peak = peak_rss_gb()
    text = json.dumps(result, sort_keys=True)
    (work / f"{name}.json").write_text(text, encoding="utf-8")
    size = json.loads((data_dir / "scale.json").read_text())["documents"]
    append_record(
        out,
        {
            "side": name,
            "documents": size,
            "k": K,
            "negatives": NEGATIVES,
            "batch_size": BATCH,
            "wall_s": round(seconds, 3),
            "peak_rss_gb": round(peak, 4),
            "peak_rss_over_baseline_gb": round(peak - baseline, 4),
            "baseline_rss_gb": round(baseline, 4),
            "result_sha256": hashlib.sha256(text.encode()).hexdigest()[:16],
            "result": result if name.startswith("eval") else {"queries": len(result)},
            "cpu": cpu_record(),
            "load_average_at_start": [round(x, 2) for x in load],
            **git_state(),
            "model": model,
        },
    )
    print(f"{name} at {size}: {seconds:.1f} s, peak RSS {peak:.2f} GB (+{peak - baseline:.2f})")


def agreement(work: Path, a: str, b: str) -> dict[str, Any]:
    """How many queries got the same negatives (as a set, and in the same order) from sides a, b."""
    first = json.loads((work / f"{a}.json").read_text())
    second = json.loads((work / f"{b}.json").read_text())
    shared = set(first) & set(second)
    return {
        "queries": [len(first), len(second)],
        "same_set": sum(set(first[q]) == set(second[q]) for q in shared),
        "same_order": sum(first[q] == second[q] for q in shared),
        "overlap": round(
            sum(len(set(first[q]) & set(second[q])) for q in shared)
            / max(1, sum(len(first[q]) for q in shared)),
            5,
        ),
    }


def run(sizes: list[int], sides: list[str], root: Path, model: str, out: Path) -> None:
    """Each side at each size in a fresh process with an empty work folder and cache."""
    for size in sizes:
        data_dir = root / f"synthetic-{size}"
        work = root / f"anchors-{size}"
        for name in sides:
            folder = work / name
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir(parents=True)
            env = {**os.environ, "RANKDISTILL_CACHE": str(folder / "cache")}
            env["HF_DATASETS_CACHE"] = str(folder / "hf-datasets")
            command = [sys.executable, str(HERE / "anchors.py"), "side", name, str(data_dir)]
            command += ["--model", model, "--work", str(folder), "--out", str(out)]
            subprocess.run(command, check=True, env=env, cwd=HERE.parents[1])
            shutil.move(str(folder / f"{name}.json"), str(work / f"{name}.json"))
            shutil.rmtree(folder, ignore_errors=True)
        if {"mine_rankdistill", "mine_st"} <= set(sides):
            for other in ("mine_st", "mine_st_faiss"):
                if other in sides:
                    line = {"compare": ["mine_rankdistill", other], "documents": size}
                    append_record(out, {**line, **agreement(work, "mine_rankdistill", other)})


def report(path: Path) -> None:
    """The time and peak-memory ratios of rankdistill against each anchor, size by size."""
    lines = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    by = {(x["side"], x["documents"]): x for x in lines if "side" in x}
    print("| documents | task | rankdistill s | anchor | anchor s | time ratio (anchor / ours) | "
          "ours peak GB | anchor peak GB | memory ratio (ours / anchor) | result |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for size in sorted({d for _, d in by}):
        for ours, anchor in (
            ("mine_rankdistill", "mine_st"),
            ("mine_rankdistill", "mine_st_faiss"),
            ("eval_rankdistill", "eval_beir"),
        ):
            a, b = by.get((ours, size)), by.get((anchor, size))
            if a is None or b is None:
                continue
            if ours.startswith("eval"):
                same = f"nDCG@10 {a['result']['nDCG@10']:.5f} / {b['result']['nDCG@10']:.5f}"
            else:
                match = [
                    x
                    for x in lines
                    if x.get("compare") == [ours, anchor] and x["documents"] == size
                ]
                same = (
                    f"same negatives {match[-1]['same_set']} of {match[-1]['queries'][0]}"
                    if match
                    else ""
                )
            print(
                f"| {size:,} | {ours.split('_')[0]} | {a['wall_s']:.1f} | {anchor} | {b['wall_s']:.1f} | "
                f"{b['wall_s'] / a['wall_s']:.2f} | {a['peak_rss_gb']:.2f} | {b['peak_rss_gb']:.2f} | "
                f"{a['peak_rss_gb'] / b['peak_rss_gb']:.2f} | {same} |"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    model = commands.add_parser("model", help="build the StaticEmbedding model")
    model.add_argument("out", type=Path)
    one = commands.add_parser("side", help="one side in this process (run starts these)")
    one.add_argument("name", choices=SIDES)
    one.add_argument("data_dir", type=Path)
    one.add_argument("--model", required=True)
    one.add_argument("--work", type=Path, required=True)
    one.add_argument("--out", type=Path, required=True)
    every = commands.add_parser("run", help="every side at every size, then the comparisons")
    every.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    every.add_argument("--sides", nargs="+", choices=SIDES, default=list(SIDES))
    every.add_argument("--root", type=Path, default=Path("/work/scale_data"))
    every.add_argument(
        "--model", default=None, help="default: ROOT/static-minilm (built if absent)"
    )
    every.add_argument("--out", type=Path, required=True)
    table = commands.add_parser("report", help="the ratio table of a result file")
    table.add_argument("result", type=Path)
    args = parser.parse_args()
    if args.command == "model":
        build_model(args.out)
    elif args.command == "side":
        side(args.name, args.data_dir, args.model, args.work, args.out)
    elif args.command == "run":
        model_dir = args.model or str(args.root / "static-minilm")
        if not Path(model_dir).is_dir():
            build_model(Path(model_dir))
        run(args.sizes, args.sides, args.root, model_dir, args.out)
    else:
        report(args.result)


if __name__ == "__main__":
    main()
