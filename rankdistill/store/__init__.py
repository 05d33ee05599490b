"""The teacher score store: scores keyed by (teacher, query, doc) content, kept across runs."""

from rankdistill.store.keys import pair_digest, pair_key, rank_of, text_hash
from rankdistill.store.score_store import ScoreStore, read_shard, write_shard
from rankdistill.store.scoring import score_with_store

__all__ = [
    "ScoreStore",
    "pair_digest",
    "pair_key",
    "rank_of",
    "read_shard",
    "score_with_store",
    "text_hash",
    "write_shard",
]
