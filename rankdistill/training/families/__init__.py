"""Student families: each kind of student owns its training loop and its save behind one protocol
(`StudentFamily`), and `train_student` dispatches to the one a config selects.

    dense, sparse, cross-encoder   sentence-transformers' trainers over a mined training set
                                   (`rankdistill.training.train`)
    query-side                     only a query encoder trains, over a corpus encoded once by the
                                   starting model (`student.frozen_documents: true`)
    embeddings                     the student's vectors are aligned with an embedding teacher's
                                   (`student.distill: embeddings`; no training set)

Each family is one module of this package that registers itself with `@register_family`; the
package imports every module when the registry is first read, so a new family is one new module.
"""

from __future__ import annotations

from rankdistill.training.families.base import (
    FAMILIES,
    StudentFamily,
    TrainingInputs,
    family_for,
    register_family,
    train_student,
)

__all__ = [
    "FAMILIES",
    "StudentFamily",
    "TrainingInputs",
    "family_for",
    "register_family",
    "train_student",
]
