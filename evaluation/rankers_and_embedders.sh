#!/usr/bin/env bash
# Every run behind evaluation/studies/14-rankers_and_embedders.md, one after another (2 shared CPU cores:
# one heavy job at a time, one torch thread each: RANKDISTILL_THREADS=1), in the order the
# write-up needs them. Each step's wall time and peak memory go to runs/logs/rankers_and_embedders.log.
#   RANKDISTILL_DATA=../shared/data evaluation/rankers_and_embedders.sh [STEP ...]
set -uo pipefail
cd "$(dirname "$0")/.."
export RANKDISTILL_THREADS=${RANKDISTILL_THREADS:-1}
RD=".venv/bin/python -m rankdistill.cli"
LOG=runs/logs/rankers_and_embedders.log
mkdir -p runs/logs
step() { echo "== $(date -u +%H:%M:%S) $*" >> "$LOG"; /usr/bin/time -f "   %e s wall, %M kB peak" -a -o "$LOG" "$@" >> "runs/logs/$(echo "$*" | tr -c 'a-zA-Z0-9\n' '_' | cut -c1-80).log" 2>&1; echo "   exit $?" >> "$LOG"; }
seeded() {  # config $1 under seed $2 (run folder NAME-seedN), extending it as evaluation/run_seeds.sh does
  local name; name=$(sed -n 's/^name: *//p' "$1"); mkdir -p runs/configs
  printf 'extends: %s\nname: %s\nseed: %s\n' "$(realpath "$1")" "$name-seed$2" "$2" > "runs/configs/$name-seed$2.yaml"; echo "runs/configs/$name-seed$2.yaml"
}
teacher()  { [ -f runs/teachers/scifact-listnet-d100-e2/config.json ] || step $RD teacher train --dataset scifact --output runs/teachers/scifact-listnet-d100-e2 --depth 100 --epochs 2; }
encode()   { step evaluation/encode_corpora.sh all-mpnet-base-v2 128 "$1"; }
config()   { ls configs/studies/*/"$1".yaml | head -1; }  # a study config by its name
run()      { step $RD run "$(config "$1")"; }
seeds()    { for s in 14 15; do step $RD run "$(seeded "$(config "$1")" $s)"; done; }
fusion()   {  # a cross-encoder student (and its seeds' runs, when they exist) fused with BM25, w from dev
  local c; for c in "$(config "$1")" runs/configs/"$1"-seed*.yaml; do [ -f "$c" ] && step .venv/bin/python evaluation/ce_student_fusion.py "$c" ${2:+--dev-run "$2"}; done; }
for what in "${@:-teacher run:scifact-ce-student run:scifact-ce-student-kl run:scifact-ce-student-kl-l05 run:scifact-ce-student-kl-l05-label encode:scifact run:scifact-embed-asym encode:nfcorpus run:nfcorpus-embed-asym run:scifact-embed-sym run:nfcorpus-embed-sym seeds:scifact-ce-student encode:arguana run:arguana-embed-asym run:arguana-embed-sym seeds:scifact-embed-asym
  run:scifact-ce-student-splade-tiny run:scifact-ce-student-splade-tiny-e10 seeds:scifact-ce-student-splade-tiny-e10
  fusion:scifact-ce-student-splade-tiny fusion:scifact-ce-student-splade-tiny-e10 run:scifact-ce-student-splade-tiny-deep
  fusion:scifact-ce-student-splade-tiny-deep run:scifact-ce-student-splade-tiny-generated
  fusion:scifact-ce-student-splade-tiny-generated@runs/scifact-ce-student-splade-tiny-e10 run:nfcorpus-embed-asym-dkl-e4}"; do
  for item in $what; do
    case $item in
      teacher) teacher ;;
      encode:*) encode "${item#encode:}" ;;
      run:*) run "${item#run:}" ;;
      seeds:*) seeds "${item#seeds:}" ;;
      fusion:*@*) item=${item#fusion:}; fusion "${item%@*}" "${item#*@}" ;;
      fusion:*) fusion "${item#fusion:}" ;;
    esac
  done
done
