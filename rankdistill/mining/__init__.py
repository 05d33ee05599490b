"""Training data for distillation: mine candidates with first-stage retrievers, sample
negatives (recording how and with what probability), score pairs with the teacher, control
false negatives, and read and write the resulting JSONL training set. Without training queries,
`generate_queries` makes pseudo-queries for a corpus first (`generators/`: one module each)."""

from rankdistill.mining.build import build_training_set
from rankdistill.mining.candidates import Candidate, merge_rankings, mine_candidates, positive_ids
from rankdistill.mining.false_negatives import FalseNegativeControl, control_false_negatives
from rankdistill.mining.generate import GeneratedQueries, generate_queries
from rankdistill.mining.records import (
    Negative,
    Positive,
    TrainingRecord,
    meta_path,
    read_training_set,
    write_training_set,
)
from rankdistill.mining.sampling import SampledNegative, query_rng, sample_negatives

__all__ = [
    "Candidate",
    "FalseNegativeControl",
    "GeneratedQueries",
    "Negative",
    "Positive",
    "SampledNegative",
    "TrainingRecord",
    "build_training_set",
    "control_false_negatives",
    "generate_queries",
    "meta_path",
    "merge_rankings",
    "mine_candidates",
    "positive_ids",
    "query_rng",
    "read_training_set",
    "sample_negatives",
    "write_training_set",
]
