#!/usr/bin/env bash
# GPU check, under 10 minutes on one GPU: the default loop on CUDA, a faiss-gpu index build and
# search, the teacher scoring benchmark on CUDA, and the scale benchmark's encoding and query-side
# steps at 1M documents / vectors. Needs a Python with CUDA torch,
# faiss-gpu (the `gpu` extra) and this package installed, and the models in the cache:
#   PYTHON=.venv/bin/python RANKDISTILL_DATA=../shared/data evaluation/gpu_check.sh
# Prints every figure; record them in evaluation/log/default_run.md with `nvidia-smi -L`.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-.venv/bin/python}
OUT=${OUT:-/tmp/gpu_check}
mkdir -p "$OUT"
nvidia-smi -L
"$PYTHON" - <<'PY'
import faiss, torch
from rankdistill.core.hardware import hardware_record
assert torch.cuda.is_available(), "no CUDA device visible to torch"
print("faiss GPUs:", faiss.get_num_gpus(), "| torch", torch.__version__, torch.cuda.get_device_name(0))
print(hardware_record())
PY

echo "== 1. default loop on CUDA (precision auto -> bf16 where the GPU has it)"
CONFIG="$OUT/default-gpu.yaml"
sed "s/^name: default$/name: default-gpu/" configs/default.yaml > "$CONFIG"
/usr/bin/time -f "default loop: %e s wall, %M KB peak RSS" "$PYTHON" -m rankdistill.cli run "$CONFIG" --force

echo "== 2. faiss-gpu index build and search (IVF and Flat over the student of step 1)"
for SPEC in Flat IVF64,Flat; do
  /usr/bin/time -f "$SPEC: %e s wall" "$PYTHON" -m rankdistill.cli index build --model runs/default-gpu/stages/train/student \
    --dataset scifact --spec "$SPEC" --output "$OUT/index-$SPEC"
  "$PYTHON" -m rankdistill.cli evaluate --dataset scifact --index "$OUT/index-$SPEC" --output "$OUT/eval-$SPEC"
done

echo "== 3. teacher scoring on CUDA, 1,000 SciFact pairs, max length 256"
"$PYTHON" evaluation/bench_teacher_scoring.py --pairs 1000 --device cuda

echo "== 4. scale benchmark on CUDA: encoding 200k synthetic documents (of 1M), query-side steps over 1M and 10M vectors"
export PYTHONPATH=${PYTHONPATH:-.}
[ -f "$OUT/scale-1000000/scale.json" ] || "$PYTHON" evaluation/scale/make_corpus.py 1000000 "$OUT/scale-1000000"
"$PYTHON" evaluation/scale/stage.py encode "$OUT/scale-1000000" --limit 200000 --out "$OUT/scale.jsonl"
"$PYTHON" evaluation/scale/query_side_steps.py 1000000 10000000 --device cuda --vectors-dir "$OUT/vectors" \
  --out "$OUT/query_side.jsonl"
cat "$OUT/scale.jsonl" "$OUT/query_side.jsonl"
