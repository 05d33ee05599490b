#!/usr/bin/env bash
# kill -9 in every stage of the default run, then a rerun: the final metrics must equal an
# uninterrupted run's (issues 6 and 19). Runs configs/default.yaml under another name; for each
# stage in turn (mine, train, index, evaluate) it starts the run, waits until that stage is at work
# (training: until checkpoint-$KILL_AFTER exists), kills the whole process group with SIGKILL, and
# goes on; the last launch runs to the end. Then it compares every system with runs/default's,
# query by query, and the two students' weights. teacher_train is not in the default config.
#   RANKDISTILL_DATA=../shared/data evaluation/kill_resume.sh   (after the default run, same machine)
set -euo pipefail
cd "$(dirname "$0")/.."
RD=.venv/bin/rankdistill
NAME=default-killed
KILL_AFTER=${KILL_AFTER:-20}
CONFIG=$(mktemp --suffix=.yaml)
sed "s/^name: default$/name: $NAME/" configs/default.yaml > "$CONFIG"
rm -rf "runs/$NAME"
STAGES=runs/$NAME/stages

kill_in() {  # stage, the file whose appearance means "at work", seconds to wait after it
  local stage=$1 marker=$2 extra=$3
  setsid $RD run "$CONFIG" > "runs/$NAME.$stage.log" 2>&1 &
  local pid=$!
  until [ -f "$marker" ]; do
    kill -0 $pid 2>/dev/null || { echo "the run ended before $stage was at work ($marker)"; exit 1; }
    sleep 1
  done
  sleep "$extra"
  kill -9 -- -$pid  # first, so that a run that got too far never goes on beside the next one
  wait $pid || true
  if [ -f "$STAGES/$stage/done.json" ]; then echo "$stage finished before the kill: lower its wait"; exit 1; fi
  echo "killed in $stage; done: $(ls $STAGES/*/done.json 2>/dev/null | xargs -rn1 dirname | xargs -rn1 basename | tr '\n' ' ')"
}

kill_in mine "$STAGES/mine/key" 1
kill_in train "$STAGES/train/checkpoints/checkpoint-$KILL_AFTER/trainer_state.json" 8
ls "$STAGES/train/checkpoints"
kill_in index "$STAGES/index/key" 15
kill_in evaluate "$STAGES/evaluate/key" 5
$RD run "$CONFIG" | tail -3
$RD compare runs/default "runs/$NAME"
# the students themselves: largest absolute weight difference between the two
.venv/bin/python - "$NAME" <<'PY'
import sys
import numpy as np
from safetensors.numpy import load_file
a = load_file("runs/default/stages/train/student/model.safetensors")
b = load_file(f"runs/{sys.argv[1]}/stages/train/student/model.safetensors")
print(f"{len(a)} tensors, largest absolute weight difference {max(float(np.abs(a[k].astype(np.float64) - b[k]).max()) for k in a)}")
PY
