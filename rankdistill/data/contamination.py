"""Train/test contamination: training queries that are evaluation queries, by id or by text.

Texts are compared after `normalise_text` (Unicode NFKC, case folded, punctuation dropped,
whitespace collapsed), so "What is BRCA1?" and "what is  brca1" are one query. SciFact has 2
training queries whose text equals a test query's; NFCorpus 4. A match is counted and warned
about; `rankdistill run --strict` makes it an error.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

_PUNCTUATION = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
EXAMPLES = 5


def normalise_text(text: str) -> str:
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _SPACES.sub(" ", _PUNCTUATION.sub(" ", folded)).strip()


@dataclass
class Contamination:
    """Training queries found among one evaluation set's queries."""

    evaluated: str  # "dataset/split"
    training_queries: int
    same_id: int = (
        0  # ids in both (only counted within one dataset: ids of two datasets are unrelated)
    )
    same_text: int = 0  # training queries whose normalised text is an evaluation query's
    matched: int = 0  # training queries matched either way
    examples: list[tuple[str, str]] = field(default_factory=list)  # (training id, evaluation id)

    @property
    def found(self) -> bool:
        return self.matched > 0

    def describe(self) -> str:
        shown = ", ".join(f"{a!r}~{b!r}" for a, b in self.examples)
        return (
            f"{self.matched} of {self.training_queries} training queries "
            f"are {self.evaluated} queries ({self.same_id} by id, {self.same_text} by text; e.g. {shown})"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "evaluated": self.evaluated,
            "training_queries": self.training_queries,
            "same_id": self.same_id,
            "same_text": self.same_text,
            "matched": self.matched,
            "examples": [list(pair) for pair in self.examples],
        }


def find_contamination(
    training: dict[str, str], evaluation: dict[str, str], evaluated: str, compare_ids: bool = True
) -> Contamination:
    """Count the `training` queries ({id: text}) that are `evaluation` queries by id
    (`compare_ids`: the same dataset) or by normalised text."""
    found = Contamination(evaluated, len(training))
    by_text: dict[str, str] = {}
    for query_id, text in evaluation.items():
        by_text.setdefault(normalise_text(text), query_id)
    for query_id, text in training.items():
        match = None
        if compare_ids and query_id in evaluation:
            found.same_id += 1
            match = query_id
        twin = by_text.get(normalise_text(text))
        if twin is not None:
            found.same_text += 1
            match = match or twin
        if match is not None:
            found.matched += 1
            if len(found.examples) < EXAMPLES:
                found.examples.append((query_id, match))
    return found
