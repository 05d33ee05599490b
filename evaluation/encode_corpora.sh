#!/usr/bin/env bash
# Encode each corpus once with MODEL into the shared encodings folder runs use (<output_dir>/encodings):
# the same chunks `rankdistill run`'s index stage (teacher-documents students) and embedding
# distillation's document targets read, so neither encodes the corpus again.
#   RANKDISTILL_DATA=../shared/data evaluation/encode_corpora.sh all-mpnet-base-v2 256 scifact nfcorpus arguana
set -euo pipefail
model=$1; max_length=$2; shift 2
for dataset in "$@"; do
  "${PYTHON:-.venv/bin/python}" - "$model" "$max_length" "$dataset" <<'PY'
import sys, time
from rankdistill.data.beir import join_title_text
from rankdistill.data.open import open_corpus
from rankdistill.encoders.models import EncodingSettings
from rankdistill.retrieval.encode import encode_cached
model, max_length, dataset = sys.argv[1], int(sys.argv[2]), sys.argv[3]
corpus, _ = open_corpus(dataset, None)
ids = list(corpus)
started = time.perf_counter()
vectors, record = encode_cached(model, ids, [join_title_text(corpus[d]) for d in ids], "runs/encodings", encoding=EncodingSettings(max_length=max_length), progress=False)
print(dataset, vectors.shape, record["encodings"], f"{time.perf_counter() - started:.0f} s", flush=True)
PY
done
