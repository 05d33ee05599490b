#!/usr/bin/env bash
# Set up rankdistill from scratch in ./.venv: CPU torch first (so nothing pulls CUDA wheels),
# then the package with its test, ir_datasets, beir, docs and ray extras. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
export PIP_DISABLE_PIP_VERSION_CHECK=1
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q torch==2.13.0
.venv/bin/python -m pip install -q -e '.[test,irds,beir,docs,ray]'
.venv/bin/python -c "import torch, faiss, sentence_transformers, pytrec_eval, bm25s, ir_datasets, beir; print('rankdistill environment ready: torch', torch.__version__)"
