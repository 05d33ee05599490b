#!/usr/bin/env bash
# A run killed (SIGKILL) in its training stage, then rerun, must end with the same metrics as an
# uninterrupted run of the same config (issue 6). Runs configs/default.yaml under another name,
# kills it once the training stage has written checkpoint-$KILL_AFTER (plus a few more steps),
# reruns it, and compares its student with runs/default's, query by query.
#   RANKDISTILL_DATA=../shared/data evaluation/kill_resume.sh   (after the default run)
set -euo pipefail
cd "$(dirname "$0")/.."
RD=.venv/bin/rankdistill
NAME=default-killed
KILL_AFTER=${KILL_AFTER:-20}
CONFIG=$(mktemp --suffix=.yaml)
sed "s/^name: default$/name: $NAME/" configs/default.yaml > "$CONFIG"
rm -rf "runs/$NAME"
CHECKPOINT="runs/$NAME/stages/train/checkpoints/checkpoint-$KILL_AFTER/trainer_state.json"
setsid $RD run "$CONFIG" > "runs/$NAME.first.log" 2>&1 &
PID=$!
until [ -f "$CHECKPOINT" ]; do
  kill -0 $PID 2>/dev/null || { echo "the run ended before checkpoint-$KILL_AFTER"; exit 1; }
  sleep 1
done
sleep 8  # a few steps past the checkpoint: the rerun must redo them from checkpoint-$KILL_AFTER
kill -9 -- -$PID
wait $PID || true
echo "killed in training; stages done: $(ls runs/$NAME/stages/*/done.json 2>/dev/null | xargs -n1 dirname | xargs -n1 basename | tr '\n' ' ')"
ls "runs/$NAME/stages/train/checkpoints"
$RD run "$CONFIG" | tail -3
$RD compare runs/default "runs/$NAME" --include student --include "bm25 + teacher"
# the students themselves: largest absolute weight difference between the two
.venv/bin/python - "$NAME" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
a = load_file("runs/default/stages/train/student/model.safetensors")
b = load_file(f"runs/{sys.argv[1]}/stages/train/student/model.safetensors")
print(f"{len(a)} tensors, largest absolute weight difference {max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in a)}")
PY
