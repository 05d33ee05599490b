#!/usr/bin/env bash
# The experiment runs behind evaluation/studies/08-loss_experiments.md,
# evaluation/studies/09-teacher_experiments.md and evaluation/studies/10-matryoshka.md: the
# default config (the reference) and then each named configs/studies/*/NAME.yaml, one after the
# other (never two at once on 2 cores). Finished stages are cached, so a rerun only redoes what
# changed. Tables: the `rankdistill compare` commands in each results file.
#   RANKDISTILL_DATA=../shared/data evaluation/run_experiments.sh scifact-infonce scifact-cprd ...
set -euo pipefail
cd "$(dirname "$0")/.."
RD=.venv/bin/rankdistill
$RD run configs/default.yaml | tail -2
for name in "$@"; do
  echo "== $name ($(date -u +%H:%M:%S))"
  /usr/bin/time -f "$name: %e s wall, %M kB peak" $RD run "$(ls configs/studies/*/"$name".yaml | head -1)" | tail -2
done
