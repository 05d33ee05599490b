#!/usr/bin/env bash
# The 3-seed tables of evaluation/studies/12-distillation_study.md, from finished runs (commands inside it).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
QS=runs/scifact-query-side,runs/scifact-query-side-seed14,runs/scifact-query-side-seed15
FT=runs/scifact-full-finetune
for seed in 14 15; do [ -f runs/scifact-full-finetune-seed$seed/stages/evaluate/done.json ] && FT=$FT,runs/scifact-full-finetune-seed$seed; done
$PY evaluation/seed_table.py --dataset scifact --reference zero-shot --reference "full fine-tuning" \
    "zero-shot=runs/scifact-query-side:dense:all-MiniLM-L6-v2" "query-side, 6 epochs=$QS" "full fine-tuning=$FT"
for dataset in nfcorpus arguana; do
  echo
  $PY evaluation/seed_table.py --dataset $dataset --reference zero-shot \
      "zero-shot=runs/scifact-query-side:dense:all-MiniLM-L6-v2" "query-side, 6 epochs=$QS"
done
