"""Content addresses for (teacher, query, document) pairs."""

from __future__ import annotations

import hashlib

KEY_BYTES = 16  # 128 bits: collisions are out of reach for any number of pairs a store will hold


def text_hash(text: str) -> str:
    """The hex sha256 of a text's UTF-8 bytes."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def pair_digest(fingerprint: str, query: str, doc: str) -> bytes:
    """The 16-byte key of one pair: sha256 over the fingerprint, sha256(query) and sha256(doc)."""
    query_digest = hashlib.sha256(query.encode("utf-8")).digest()
    return _digest(
        fingerprint.encode("utf-8"), query_digest, hashlib.sha256(doc.encode("utf-8")).digest()
    )


def pair_key(fingerprint: str, query: str, doc: str) -> str:
    """`pair_digest` as 32 hex characters."""
    return pair_digest(fingerprint, query, doc).hex()


def pair_digests(fingerprint: str, queries: list[str], docs: list[str]) -> list[bytes]:
    """`pair_digest` for every pair of zip(queries, docs), hashing each distinct text once
    (a query is usually paired with many documents)."""
    if len(queries) != len(docs):
        raise ValueError(f"{len(queries)} queries but {len(docs)} docs: pairs need one of each")
    prefix = fingerprint.encode("utf-8")
    text_digests: dict[str, bytes] = {}

    def digest_of(text: str) -> bytes:
        found = text_digests.get(text)
        if found is None:
            found = text_digests[text] = hashlib.sha256(text.encode("utf-8")).digest()
        return found

    return [_digest(prefix, digest_of(query), digest_of(doc)) for query, doc in zip(queries, docs)]


def rank_of(digest: bytes, world_size: int) -> int:
    """Which of `world_size` workers owns a pair. It depends on the key alone, so workers that
    opened the store at different moments (and see different missing sets) still split the pairs
    disjointly and completely."""
    return int.from_bytes(digest[:8], "little") % world_size


def _digest(fingerprint: bytes, query_digest: bytes, doc_digest: bytes) -> bytes:
    # The two text digests have a fixed length, so the concatenation is unambiguous.
    return hashlib.sha256(fingerprint + query_digest + doc_digest).digest()[:KEY_BYTES]
