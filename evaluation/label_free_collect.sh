#!/usr/bin/env bash
# Copy what evaluation/studies/15-label_free.md quotes out of finished runs: each system's metrics.json (with
# per-query metrics) and the student's train record (dev curve, selected epoch), into
# evaluation/results/label_free/<run>/ (or --to DIR: DIR/<run>/, e.g. evaluation/results/corpus_sampling).
# Usage: evaluation/label_free_collect.sh [--to DIR] runs/NAME ...
set -euo pipefail
cd "$(dirname "$0")/.."
dest=evaluation/results/label_free
if [ "${1:-}" = "--to" ]; then dest=$2; shift 2; fi
for run in "$@"; do
  name=$(basename "$run")
  out=$dest/$name
  mkdir -p "$out"
  (cd "$run/stages/evaluate" && find . -name metrics.json) | while read -r m; do
    mkdir -p "$out/$(dirname "$m")"; cp "$run/stages/evaluate/$m" "$out/$m"
  done
  record=$run/stages/train/student/rankdistill_train.json
  [ -f "$record" ] && python3 -c "
import json, sys
r = json.load(open('$record'))
keep = {k: r[k] for k in ('seed', 'data', 'global_step', 'epochs', 'train_seconds', 'dev', 'precision') if k in r}
json.dump(keep, open('$out/train_record.json', 'w'), indent=1)"
  cp "$run/stages/evaluate/results.md" "$out/results.md"
  [ -f "$run/stages/mine/train.jsonl.meta.json" ] && cp "$run/stages/mine/train.jsonl.meta.json" "$out/mine_meta.json"
  echo "$out"
done
