#!/usr/bin/env bash
# The runs behind evaluation/studies/13-adaptation.md (issue 16): students distilled from generated queries
# only. One run: a copy of configs/studies/generated-queries/DATASET-generated.yaml with another generator and
# seed, named DATASET-generated-GENERATOR[-seedN]; stages already finished are skipped, so
# rerunning continues. Corpus encodings are shared under runs/encodings, teacher scores under
# runs/score-store. DATASETS=nfcorpus evaluates only those datasets (in-domain only: out of domain,
# ArguAna's 1,406 long queries cost minutes a run on 2 cores); EPOCHS=3 trains that many epochs.
#   RANKDISTILL_DATA=../shared/data evaluation/adaptation.sh nfcorpus keywords 13 [14 15]
#   RANKDISTILL_DATA=../shared/data evaluation/adaptation.sh judged-scifact 13 14 15  # configs/studies/query-side/scifact-query-side.yaml (rerank_depth 0)
set -euo pipefail
cd "$(dirname "$0")/.."
RD=${RD:-.venv/bin/rankdistill}
only=(); [[ -n ${DATASETS:-} ]] && only=(-e "s/^  datasets: .*/  datasets: [$DATASETS]/")
[[ -n ${EPOCHS:-} ]] && only+=(-e "s/trainer: {epochs: [0-9.]*,/trainer: {epochs: $EPOCHS,/")
suffix=${DATASETS:+-only}${EPOCHS:+-e$EPOCHS}
mkdir -p runs/configs
if [[ $1 == judged-scifact ]]; then  # the judged-query student of the same settings
  shift
  for seed in "$@"; do
    config=runs/configs/scifact-query-side-seed$seed$suffix.yaml
    sed -e "s/^name: .*/name: scifact-query-side-seed$seed$suffix/" -e "s/^seed: .*/seed: $seed/" -e "s/^rerank_depth: .*/rerank_depth: 0/" "${only[@]}" \
      -e "s|^extends: \.\./\.\./|extends: $PWD/configs/|" configs/studies/query-side/scifact-query-side.yaml > "$config"
    /usr/bin/time -f "scifact judged seed $seed: %e s wall, %M kB peak" $RD run "$config" | tail -2
  done
  exit
fi
DATASET=$1 GENERATOR=$2; shift 2
for seed in "$@"; do
  name=$DATASET-generated-${GENERATOR//[^a-zA-Z0-9]/-}-seed$seed$suffix
  config=runs/configs/$name.yaml
  sed -e "s/^name: .*/name: $name/" -e "s/^seed: .*/seed: $seed/" -e "s|^  generator: .*|  generator: \"$GENERATOR\"|" "${only[@]}" \
    "configs/studies/generated-queries/$DATASET-generated.yaml" > "$config"
  /usr/bin/time -f "$name: %e s wall, %M kB peak" $RD run "$config" | tail -2
done
