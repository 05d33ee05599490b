#!/usr/bin/env bash
# The 3-seed tables of evaluation/studies/13-adaptation.md, from finished runs of evaluation/adaptation.sh:
# each generator's student on its own dataset (mean +- sd, paired test against zero-shot and, on
# SciFact, against the judged-query student of the same settings). A run may be the in-domain-only
# one (`-only`, DATASETS=...) or the full one; the in-domain figures are the same.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
runs() {  # DATASET GENERATOR -> comma-separated finished runs for seeds 13 14 15
  local found=()
  for seed in 13 14 15; do
    for name in "runs/$1-generated-$2-seed$seed" "runs/$1-generated-$2-seed$seed-only"; do
      [[ -f $name/stages/evaluate/done.json ]] && { found+=("$name"); break; }
    done
  done
  (IFS=,; echo "${found[*]}")
}
JUDGED=runs/scifact-query-side,runs/scifact-query-side-seed14,runs/scifact-query-side-seed15
for dataset in scifact nfcorpus arguana; do
  groups=()
  for generator in keywords title span; do
    found=$(runs "$dataset" "$generator")
    [[ -n $found ]] && groups+=("$generator=$found")
  done
  reference=$(runs "$dataset" keywords | cut -d, -f1)
  extra=(); [[ $dataset == scifact ]] && extra=(--reference "judged queries" "judged queries=$JUDGED")
  echo "### $dataset"
  $PY evaluation/seed_table.py --dataset "$dataset" --reference zero-shot "${extra[@]:0:2}" \
      "zero-shot=$reference:dense:all-MiniLM-L6-v2" "${groups[@]}" "${extra[@]:2}"
  echo
done
