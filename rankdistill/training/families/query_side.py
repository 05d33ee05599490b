"""Query-side students: only a query encoder trains, over the corpus vectors the starting model
wrote once (`student.frozen_documents: true`; `rankdistill.training.query_side`)."""

from __future__ import annotations

from typing import Any

from rankdistill.training.config import StudentConfig, TrainConfig
from rankdistill.training.families.base import TrainingInputs, register_family


def encode_frozen_documents(config: TrainConfig, inputs: TrainingInputs) -> Any:
    """The training dataset's corpus encoded by the starting model, through the shared chunked
    cache (`retrieval.encode.encode_cached`): what an index of the starting model would hold."""
    from rankdistill.data.open import corpus_texts
    from rankdistill.encoders.models import EncodingSettings
    from rankdistill.retrieval.encode import encode_cached
    from rankdistill.training.query_side import FrozenDocuments

    doc_ids, texts, _ = corpus_texts(config.data.dataset, config.data_root)
    vectors, record = encode_cached(
        config.student.model,
        doc_ids,
        texts,
        inputs.encodings_root(config),
        encoding=EncodingSettings(precision=inputs.precision),
    )
    return FrozenDocuments(
        doc_ids, vectors, record["weights_sha256"], record["max_length"], record["encodings"]
    )


@register_family
class QuerySideFamily:
    name = "query-side"

    def selects(self, student: StudentConfig) -> bool:
        return student.kind == "dense" and student.frozen_documents

    def train(self, config: TrainConfig, inputs: TrainingInputs) -> Any:
        from rankdistill.training.query_side import train_query_side

        documents = inputs.frozen_documents
        if documents is None:
            documents = encode_frozen_documents(config, inputs)
        return train_query_side(config, documents, inputs.source)
