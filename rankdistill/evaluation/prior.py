"""The document prior in the judgements, made visible: evaluation queries with a relevant document
that was also a training positive, and those without.

A query encoder trained on judged positives learns which documents tend to be relevant (on SciFact
64% of the test-relevant documents are train positives, on NFCorpus 99.6%). That is fair in-domain
fine-tuning, but it is not what a teacher supplies: a student that only learned the prior gains on
the first group alone. The two groups partition the evaluated queries.
"""

from __future__ import annotations

from collections.abc import Collection

WITH, WITHOUT = "relevant doc was a training positive", "no relevant doc was a training positive"


def prior_split(
    training_positives: Collection[str],
    qrels: dict[str, dict[str, int]],
    query_ids: Collection[str],
) -> dict[str, list[str]]:
    """{group: query ids} over `query_ids` (the evaluated queries): WITH when one of the query's
    relevant documents (grade > 0) is among `training_positives`, else WITHOUT."""
    positives = set(training_positives)
    groups: dict[str, list[str]] = {WITH: [], WITHOUT: []}
    for query_id in query_ids:
        relevant = {d for d, grade in qrels.get(query_id, {}).items() if grade > 0}
        groups[WITH if relevant & positives else WITHOUT].append(query_id)
    return groups


def group_means(
    per_query: dict[str, dict[str, float]], groups: dict[str, list[str]], metric: str
) -> dict[str, float | None]:
    """Mean `metric` of each group (None for an empty one); queries missing from `per_query` count 0."""
    return {
        name: (sum(per_query.get(q, {}).get(metric, 0.0) for q in ids) / len(ids) if ids else None)
        for name, ids in groups.items()
    }
