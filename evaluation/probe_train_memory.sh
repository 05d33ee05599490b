#!/usr/bin/env bash
# Peak memory and s/step of the default run's train stage alone, without and with gradient
# checkpointing: 12 steps of `rankdistill train` on the default's train section, float32, with
# VmRSS sampled every 2 s (evaluation/log/default_run.md, run 9). Needs a finished default run (its mined set).
#   RANKDISTILL_DATA=../shared/data evaluation/probe_train_memory.sh
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=$(mktemp -d)
for GC in false true; do
  cat > "$WORK/train-$GC.yaml" <<YAML
name: memtrain-$GC
seed: 13
output_dir: $WORK/runs
data: {dataset: scifact, split: train, negatives: 3, training_set: $PWD/runs/default/stages/mine/train.jsonl}
student: {kind: dense, model: all-MiniLM-L6-v2, max_length: 128}
loss:
  listwise_kl: {temperature: 1.0, scale: 20}
  infonce: {weight: 0.1}
trainer: {epochs: 1, max_steps: 12, batch_size: 16, learning_rate: 2.0e-5, warmup_ratio: 0.1, save_steps: 10, logging_steps: 5, precision: float32, gradient_checkpointing: $GC}
dev: {queries: 30, corpus: candidates, distractors: 200}
YAML
  .venv/bin/rankdistill train --config "$WORK/train-$GC.yaml" > "$WORK/train-$GC.log" 2>&1 &
  PID=$!
  PEAK=0
  while kill -0 $PID 2>/dev/null; do
    RSS=$(awk '/VmRSS/{print int($2/1024)}' /proc/$PID/status 2>/dev/null || echo 0)
    [ "${RSS:-0}" -gt "$PEAK" ] && PEAK=$RSS
    sleep 2
  done
  echo "gradient_checkpointing=$GC: peak ${PEAK} MB; $(grep -o '12/12 \[[0-9:]*<[^]]*' "$WORK/train-$GC.log" | tail -1)"
done
rm -rf "$WORK"
