#!/usr/bin/env bash
# The dev search of evaluation/studies/12-distillation_study.md section 1c: one run per loss variant of
# configs/studies/query-side/scifact-query-side-loss-dev.yaml (15 epochs each), then every variant's dev
# curve (100 carved train queries; test is not read).
#   RANKDISTILL_DATA=../shared/data evaluation/run_loss_dev.sh
#   BASE=configs/studies/query-side/scifact-query-side-ce-loss-dev.yaml evaluation/run_loss_dev.sh   # the cross-encoder ensemble teacher
#   BASE=... VARIANTS="kl1 kl3" evaluation/run_loss_dev.sh                                    # only those variants
set -euo pipefail
cd "$(dirname "$0")/.."
RD=${RD:-.venv/bin/rankdistill}
BASE=$(realpath "${BASE:-configs/studies/query-side/scifact-query-side-loss-dev.yaml}")
NAME=$(sed -n 's/^name: *//p' "$BASE")
declare -A LOSS=(
  [infonce-only]="{infonce: {scale: 20}}"
  [kl0.3]="{listwise_kl: {weight: 0.3, temperature: 1.0, scale: 20}, infonce: {weight: 1.0}}"
  [kl1]="{listwise_kl: {weight: 1.0, temperature: 1.0, scale: 20}, infonce: {weight: 1.0}}"
  [kl3]="{listwise_kl: {weight: 3.0, temperature: 1.0, scale: 20}, infonce: {weight: 1.0}}"
  [kl1-positive-first]="{listwise_kl: {weight: 1.0, temperature: 1.0, scale: 20, positive_margin: 1.0}, infonce: {weight: 1.0}}"
)
mkdir -p runs/configs
for variant in ${VARIANTS:-infonce-only kl0.3 kl1}; do
  config=runs/configs/$NAME-$variant.yaml
  printf 'extends: %s\nname: %s-%s\ntrain:\n  loss: %s\n' "$BASE" "$NAME" "$variant" "${LOSS[$variant]}" > "$config"
  /usr/bin/time -f "$variant: %e s wall, %M kB peak" $RD run "$config" | tail -1
done
for variant in ${VARIANTS:-infonce-only kl0.3 kl1}; do
  .venv/bin/python -c "
from rankdistill.training.query_side import read_dev_curve
curve = [c['ndcg@10'] for c in read_dev_curve('runs/$NAME-$variant/stages/train/student')]
best = max(range(len(curve)), key=curve.__getitem__)
print('$variant', 'dev nDCG@10 by epoch', curve, 'argmax epoch', best)"
done
