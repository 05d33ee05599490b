"""Query generators: pseudo-queries for a corpus without training queries (GPL-style), named by
one spec string (`base.py` has its grammar). One module each, registered by `@register_generator`
(the package imports every module, so a new generator is one module and nothing else):

    title                         the document's title                        title.py
    span[?max_words=16]           a seeded random sentence or span of its text span.py
    keywords[?k=6]                its top terms by BM25 weight                 keywords.py
    doc2query:MODEL[?top_k=..&top_p=..&n=..]   sampled from a seq2seq model    doc2query.py

Every generator takes `n` (queries per document). `mining.generate` runs one over a sample of a
corpus and writes the queries like training queries.
"""

from __future__ import annotations

from rankdistill.core.errors import UserError
from rankdistill.core.plugins import import_submodules
from rankdistill.mining.generators.base import (
    GENERATORS,
    Document,
    GeneratorSpec,
    QueryGenerator,
    Setting,
    document_rng,
    register_generator,
)

import_submodules(__name__)  # each generator module registers itself


def parse_generator_spec(spec: str) -> GeneratorSpec:
    """`name[:MODEL][?key=value&...]` -> GeneratorSpec, defaults filled in; UserError saying
    what is wrong with a bad one."""
    if not isinstance(spec, str) or not spec.strip():
        raise UserError(f"empty generator spec: expected one of {', '.join(GENERATORS)}")
    head, _, query = spec.strip().partition("?")
    name, colon, model = head.partition(":")
    if name not in GENERATORS:
        raise UserError(
            f"unknown query generator {name!r} in {spec!r}: expected one of {', '.join(GENERATORS)}"
        )
    _, settings, takes_model = GENERATORS[name]
    if takes_model and not model.strip():
        raise UserError(f"generator {spec!r}: name a model, e.g. {name}:path/to/model")
    if not takes_model and colon:
        raise UserError(f"generator {spec!r}: {name!r} takes no model")
    values = {key: setting.default for key, setting in settings.items()}
    given: set[str] = set()
    for part in query.split("&") if query else []:
        key, equals, text = part.partition("=")
        if not equals or not key:
            raise UserError(f"generator {spec!r}: expected key=value, got {part!r}")
        if key not in settings:
            raise UserError(
                f"generator {spec!r}: unknown setting {key!r} (known: {', '.join(settings)})"
            )
        if key in given:
            raise UserError(f"generator {spec!r}: setting {key!r} given twice")
        given.add(key)
        values[key] = settings[key].parse(spec, key, text)
    return GeneratorSpec(name, model.strip(), values)


def build_generator(
    spec: str | GeneratorSpec, corpus: dict[str, Document], source: str = "corpus"
) -> QueryGenerator:
    """The generator `spec` names, ready for `corpus` (whose statistics some use: BM25 weights);
    `source` names the corpus in errors."""
    parsed = parse_generator_spec(spec) if isinstance(spec, str) else spec
    cls, _, _ = GENERATORS[parsed.name]
    return cls(parsed, corpus, source)


__all__ = [
    "GENERATORS",
    "Setting",
    "register_generator",
    "Document",
    "GeneratorSpec",
    "QueryGenerator",
    "build_generator",
    "document_rng",
    "parse_generator_spec",
]
