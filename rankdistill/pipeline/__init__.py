"""`rankdistill run`: the whole loop as cached stages (teacher -> mine -> train -> index -> evaluate)."""

from rankdistill.pipeline.cache import Stage, StageOutcome, run_stages, stage_key

__all__ = ["Stage", "StageOutcome", "run_stages", "stage_key"]
