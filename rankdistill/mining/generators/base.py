"""What every query generator is: a spec string parsed into settings, and `generate`, which turns
documents into pseudo-queries deterministically under a seed.

    name[:MODEL][?key=value&key=value]      e.g. span?max_words=12, doc2query:FOLDER?top_p=0.9&n=3

Every generator takes `n` (queries per document, default 1) besides its own settings; a setting
it does not declare, a value of the wrong type or out of its range is a UserError naming the spec.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from rankdistill.core.errors import UserError

Document = dict[str, str]  # {"title": ..., "text": ...}, as data.beir.load_corpus gives it


@dataclass(frozen=True)
class Setting:
    """One `key=value` a generator accepts: its type, default and lowest allowed value."""

    kind: Callable[[str], Any]
    default: Any
    low: float | None = None
    high: float | None = None

    def parse(self, spec: str, key: str, text: str) -> Any:
        try:
            value = self.kind(text)
        except ValueError:
            raise UserError(
                f"generator {spec!r}: setting {key!r}: expected {'an' if self.kind is int else 'a'} {self.kind.__name__}, got {text!r}"
            ) from None
        if self.low is not None and value < self.low:
            raise UserError(
                f"generator {spec!r}: setting {key!r}: must be >= {self.low:g}, got {text}"
            )
        if self.high is not None and value > self.high:
            raise UserError(
                f"generator {spec!r}: setting {key!r}: must be <= {self.high:g}, got {text}"
            )
        return value


N = Setting(int, 1, low=1)  # queries per document, every generator


@dataclass(frozen=True)
class GeneratorSpec:
    """A parsed spec: `name`, `model` ("" when the generator takes none) and every setting
    (defaults filled in), so two spellings of the same generator have one `canonical` form."""

    name: str
    model: str
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def n(self) -> int:
        return int(self.settings["n"])

    @property
    def canonical(self) -> str:
        head = f"{self.name}:{self.model}" if self.model else self.name
        return head + "?" + "&".join(f"{k}={v}" for k, v in sorted(self.settings.items()))


class QueryGenerator(Protocol):
    """Pseudo-queries for documents. `generate` returns, per document in order, up to `spec.n`
    queries (none: the generator has nothing to make from that document, e.g. `title` for an
    untitled one; counted by the caller). The same documents and seed give the same queries,
    whatever else is generated in the same call."""

    spec: GeneratorSpec

    def generate(self, documents: list[tuple[str, Document]], seed: int) -> list[list[str]]: ...


def document_rng(seed: int, doc_id: str) -> random.Random:
    """The random stream of one document under `seed`: independent of which other documents are
    generated with it, of their order and of the rank that generates them."""
    return random.Random(f"rankdistill-generate:{seed}:{doc_id}")


# name -> (the class, its settings, whether its spec names a model); filled by @register_generator
GENERATORS: dict[str, tuple[Any, dict[str, Setting], bool]] = {}


def register_generator(
    name: str, settings: dict[str, Setting], *, model: bool = False
) -> Callable[[type], type]:
    """Class decorator: the generator a spec `name[:MODEL][?key=value]` builds. A new generator is
    one module of this package that registers itself (the package imports every module)."""

    def add(cls: type) -> type:
        known = GENERATORS.get(name)
        if known is not None and known[0].__qualname__ != cls.__qualname__:
            raise ValueError(f"query generator {name!r} is registered already")
        GENERATORS[name] = (cls, settings, model)
        return cls

    return add
