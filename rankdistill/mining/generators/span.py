"""`span[?max_words=16&min_words=4&n=1]`: a seeded random sentence of the document's text, cut to a
random window of at most `max_words` words.

Sentences are split after `.`, `!` or `?`; one with at least `min_words` words is drawn (any
sentence when none is that long), then a window of `max_words` consecutive words is drawn from it
if it is longer. With `n` > 1 the draws repeat (a short document can give the same span twice).
The draws come from the document's own random stream (`document_rng`), so a document's spans do
not depend on the other documents generated with it. A document without text gives no query.
"""

from __future__ import annotations

import re

from rankdistill.mining.generators.base import (
    Document,
    GeneratorSpec,
    N,
    Setting,
    document_rng,
    register_generator,
)

SETTINGS = {"n": N, "max_words": Setting(int, 16, low=1), "min_words": Setting(int, 4, low=1)}
SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


@register_generator("span", SETTINGS)
class SpanGenerator:
    def __init__(self, spec: GeneratorSpec, corpus: dict[str, Document], source: str = "corpus"):
        self.spec = spec
        self.max_words = int(spec.settings["max_words"])
        self.min_words = int(spec.settings["min_words"])

    def generate(self, documents: list[tuple[str, Document]], seed: int) -> list[list[str]]:
        return [self._spans(doc_id, doc.get("text", ""), seed) for doc_id, doc in documents]

    def _spans(self, doc_id: str, text: str, seed: int) -> list[str]:
        sentences = [s.split() for s in SENTENCE_END.split(text.strip()) if s.split()]
        if not sentences:
            return []
        long_enough = [s for s in sentences if len(s) >= self.min_words] or sentences
        rng = document_rng(seed, doc_id)
        spans = []
        for _ in range(self.spec.n):
            words = rng.choice(long_enough)
            start = (
                rng.randrange(len(words) - self.max_words + 1) if len(words) > self.max_words else 0
            )
            spans.append(" ".join(words[start : start + self.max_words]))
        return spans
