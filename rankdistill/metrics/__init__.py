"""Retrieval metrics with pytrec_eval (BEIR's conventions), and TREC run files."""

from rankdistill.metrics.run_file import read_trec_run, write_trec_run
from rankdistill.metrics.trec_eval import METRICS, EvalResult, evaluate_run

__all__ = ["EvalResult", "METRICS", "evaluate_run", "read_trec_run", "write_trec_run"]
