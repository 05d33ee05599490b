#!/usr/bin/env bash
# The same config under other seeds (training order, mining samples, initialisation of anything
# new): runs/NAME-seedN for each seed, then their students next to the config's own run.
#   RANKDISTILL_DATA=../shared/data evaluation/run_seeds.sh configs/default.yaml 14 15
set -euo pipefail
cd "$(dirname "$0")/.."
RD=${RD:-.venv/bin/rankdistill}  # e.g. RD=".venv/bin/python -m rankdistill.cli" from a worktree
CONFIG=$1; shift
NAME=$(sed -n 's/^name: *//p' "$CONFIG")
RUNS=("runs/$NAME")
for seed in "$@"; do
  seeded=$(mktemp --suffix=.yaml)
  printf 'extends: %s\nname: %s\nseed: %s\n' "$(realpath "$CONFIG")" "$NAME-seed$seed" "$seed" > "$seeded"
  /usr/bin/time -f "$NAME seed $seed: %e s wall, %M kB peak" $RD run "$seeded" | tail -2
  RUNS+=("runs/$NAME-seed$seed")
done
# REFERENCE: the system every row is compared with (a cross-encoder student run: REFERENCE="bm25 + teacher rerank@100")
$RD compare "${RUNS[@]}" --reference "runs/$NAME:${REFERENCE:-dense:all-MiniLM-L6-v2}" --include student
