"""The loss registry. A loss module registers its class with what it declares:

    @register_loss("listwise_kl")                                  # a list loss, any student
    class ListwiseKL(ListLoss): ...

    @register_loss("hidden_mse", kind="term", families=("cross-encoder",),
                   note="it matches a cross-encoder's token hidden states to its teacher's")
    class HiddenStateMSE(nn.Module): ...

`kind`: "list" (scores a (query, positive, negatives) list) or "term" (reads a model's insides,
beside a list loss); `teacher`: whether it reads the teacher's scores (labels); `families`: the
students it trains (dense, sparse, cross-encoder), `note` saying why where that is not all of
them. Query-side training takes the list losses of dense students (cosine similarity).
`rankdistill.losses` imports every module of the package, so a new loss is one new module; a loss
from outside the package registers the same way before a spec names it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from torch import nn

FAMILIES = ("dense", "sparse", "cross-encoder")
KINDS = ("list", "term")


@dataclass(frozen=True)
class LossEntry:
    name: str
    cls: type[nn.Module]
    kind: str
    teacher: bool
    families: tuple[str, ...]
    note: str = ""

    def refuses(self, family: str) -> str | None:
        """Why this loss cannot train a `family` student, or None."""
        if family in self.families:
            return None
        why = self.note or f"it trains {', '.join(self.families)} students"
        if len(self.families) == 1:
            return f"loss {self.name!r} is for {self.families[0]} students: {why}"
        return f"loss {self.name!r} is not for {family} students: {why}"


REGISTRY: dict[str, LossEntry] = {}
# live views of REGISTRY, updated by every registration
LOSSES: dict[str, type[nn.Module]] = {}  # list losses
CROSS_ENCODER_TERMS: dict[str, type[nn.Module]] = {}  # terms beside a list loss
ONLY_FOR_CROSS_ENCODERS: dict[str, str] = {}  # name -> why


def register_loss(
    name: str,
    *,
    kind: str = "list",
    teacher: bool = True,
    families: tuple[str, ...] = FAMILIES,
    note: str = "",
) -> Callable[[type[nn.Module]], type[nn.Module]]:
    """Class decorator: register a loss under `name` (its spec key) with its capabilities."""
    if set(families) - set(FAMILIES) or not families or kind not in KINDS:
        raise ValueError(
            f"loss {name!r}: kind in {KINDS} and families among {FAMILIES}, got {kind!r}, {families}"
        )

    def add(cls: type[nn.Module]) -> type[nn.Module]:
        if name in REGISTRY and REGISTRY[name].cls.__qualname__ != cls.__qualname__:
            raise ValueError(
                f"loss {name!r} is registered already (by {REGISTRY[name].cls.__module__})"
            )
        cls.name = name
        REGISTRY[name] = LossEntry(name, cls, kind, teacher, tuple(families), note)
        if kind == "list":
            LOSSES[name] = cls
        else:
            CROSS_ENCODER_TERMS[name] = cls
            if tuple(families) == ("cross-encoder",):
                ONLY_FOR_CROSS_ENCODERS[name] = note or "a cross-encoder term"
        return cls

    return add
