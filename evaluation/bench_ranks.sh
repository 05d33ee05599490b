#!/usr/bin/env bash
# One process against 2 local torchrun ranks, per stage, on SciFact with all-MiniLM-L6-v2 (issue 18).
# Each pair runs back to back on the same idle machine; outputs go to a fresh temporary folder, so
# nothing is reused between the two (the score store of `mine` too).
#   RANKDISTILL_DATA=../shared/data evaluation/bench_ranks.sh
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
WORK=$(mktemp -d)
timed() {  # label, command...
  local label=$1; shift
  local started=$(date +%s.%N)
  "$@" > "$WORK/$label.log" 2>&1
  printf "%s %.1f s\n" "$label" "$(echo "$(date +%s.%N) - $started" | bc)"
}
for RANKS in 1 2; do
  if [ "$RANKS" = 1 ]; then LAUNCH=("$PY" -m rankdistill.cli); else LAUNCH=("$PY" -m torch.distributed.run --standalone --nproc-per-node 2 -m rankdistill.cli); fi
  timed "index-build-ranks$RANKS" "${LAUNCH[@]}" index build --model all-MiniLM-L6-v2 --dataset scifact --spec Flat \
    --output "$WORK/idx$RANKS"
  timed "evaluate-index-ranks$RANKS" "${LAUNCH[@]}" evaluate --dataset scifact --index "$WORK/idx$RANKS" --output "$WORK/eval$RANKS"
  timed "mine-ranks$RANKS" "${LAUNCH[@]}" mine --dataset scifact --retriever bm25 --teacher bi-encoder:all-MiniLM-L6-v2 \
    --n-top 5 --n-random 0 --depth 30 --store "$WORK/store$RANKS" --output "$WORK/train$RANKS.jsonl"
done
cmp "$WORK/train1.jsonl" "$WORK/train2.jsonl" && echo "training sets equal"
grep -h "index_Flat\|student\|Flat" "$WORK"/evaluate-index-ranks*.log | head -4
rm -rf "$WORK"
