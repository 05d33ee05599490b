#!/usr/bin/env bash
# Bad inputs and faults injected through the CLI on a tiny BEIR folder (BM25 only, ~1 min on
# 2 cores). Prints each command's exit status and last stderr line. Output: evaluation/faults.md.
set -u
PY=${PY:-python}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/ok/qrels"
printf '%s\n' '{"_id": "d1", "title": "Tides", "text": "The moon pulls the oceans."}' \
  '{"_id": "d2", "title": "Bees", "text": "Bees make honey from nectar."}' \
  '{"_id": "d3", "title": "Café", "text": "Caffeine blocks adenosine."}' > "$W/ok/corpus.jsonl"
printf '%s\n' '{"_id": "q1", "text": "what causes tides"}' '{"_id": "q2", "text": "how do bees make honey"}' > "$W/ok/queries.jsonl"
printf 'query-id\tcorpus-id\tscore\nq1\td1\t1\nq2\td2\t1\n' > "$W/ok/qrels/test.tsv"

case_() {  # NAME, then a command that edits a copy of the folder at $D
  local name=$1; shift
  D="$W/$name"; cp -r "$W/ok" "$D"; eval "$@"
  $PY -m rankdistill.cli evaluate --dataset "$D" --retriever bm25 --k 10 >"$W/out" 2>"$W/err"
  echo "$name: exit $? | $(grep -v '^$' "$W/err" | tail -1 | sed "s#$W#\$W#g")"
}
case_ utf16-corpus 'iconv -f utf-8 -t utf-16 "$W/ok/corpus.jsonl" > "$D/corpus.jsonl"'
case_ utf8-bom-corpus 'printf "\xef\xbb\xbf" | cat - "$W/ok/corpus.jsonl" > "$D/corpus.jsonl"'
case_ latin1-line 'iconv -f utf-8 -t latin1 "$W/ok/corpus.jsonl" > "$D/corpus.jsonl"'
case_ empty-doc 'echo "{\"_id\": \"d4\", \"title\": \"\", \"text\": \"\"}" >> "$D/corpus.jsonl"'
case_ empty-query 'echo "{\"_id\": \"q3\", \"text\": \" \"}" >> "$D/queries.jsonl"'

$PY -m rankdistill.cli evaluate --dataset "$W/ok" --retriever bm25 --k 0 >/dev/null 2>"$W/err"
echo "evaluate --k 0: exit $? | $(tail -1 "$W/err")"

printf 'name: lr\noutput_dir: %s\ndataset: %s\nteacher: {members: [{teacher: bm25}]}\ntrain:\n  loss: listwise_kl\n  trainer: {learning_rate: -0.001}\nevaluate: {datasets: [%s], retrievers: [bm25]}\n' "$W/runs" "$W/ok" "$W/ok" > "$W/lr.yaml"
$PY -m rankdistill.cli run "$W/lr.yaml" >/dev/null 2>"$W/err"
echo "run with learning_rate -0.001: exit $? | $(tail -1 "$W/err" | sed "s#$W#\$W#g")"

printf 'name: locked\noutput_dir: %s\nevaluate: {datasets: [%s], retrievers: [bm25], k: 10}\n' "$W/runs" "$W/ok" > "$W/run.yaml"
$PY -c 'import sys, time
from rankdistill.core.runlock import run_lock
with run_lock(sys.argv[1]):
    print("held", flush=True); time.sleep(30)' "$W/runs/locked" > "$W/holder" &
HOLDER=$!
while ! grep -q held "$W/holder"; do sleep 0.2; done
$PY -m rankdistill.cli run "$W/run.yaml" >/dev/null 2>"$W/err"
echo "second run while pid $HOLDER holds the folder: exit $? | $(tail -1 "$W/err" | sed "s#$W#\$W#g")"
kill -9 $HOLDER; wait $HOLDER 2>/dev/null
echo "lock file after kill -9 of the holder: $(cat "$W/runs/locked/run.lock")"
$PY -m rankdistill.cli -v run "$W/run.yaml" >/dev/null 2>"$W/err"
echo "run after the holder died: exit $? | $(grep -o 'taking over a stale lock.*' "$W/err" | sed "s#$W#\$W#g")"
