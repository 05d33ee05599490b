"""`title`: the document's title as its query (one per document).

The cheapest pseudo-query: in SciFact and NFCorpus a title is a short statement of what the
document is about. A corpus without any title is refused; an untitled document among titled ones
gives no query (counted as skipped by `mining.generate`).
"""

from __future__ import annotations

from rankdistill.core.errors import UserError
from rankdistill.mining.generators.base import Document, GeneratorSpec, N, register_generator

SETTINGS = {"n": N}


@register_generator("title", SETTINGS)
class TitleGenerator:
    def __init__(self, spec: GeneratorSpec, corpus: dict[str, Document], source: str = "corpus"):
        if spec.n != 1:
            raise UserError(
                f"generator {spec.canonical!r}: a document has one title, so n must be 1 (got {spec.n})"
            )
        if not any(doc.get("title", "").strip() for doc in corpus.values()):
            raise UserError(
                f"{source}: no document has a title, so the 'title' generator has nothing to use; try 'span' or 'keywords'"
            )
        self.spec = spec

    def generate(self, documents: list[tuple[str, Document]], seed: int) -> list[list[str]]:
        return [[doc["title"]] if doc.get("title", "").strip() else [] for _, doc in documents]
