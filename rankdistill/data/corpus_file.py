"""A corpus read in place: document ids and byte spans in memory, the texts left on disk.

`load_corpus` reads corpus.jsonl once, validating every line, and keeps only each document's id
and the byte span of its line. A document's title and text are read back with one positioned
read of its line and parsed when asked for (`corpus[doc_id]`; not a memory map, whose pages would
count in the process's resident memory as the corpus is read), so a 1M-document corpus costs its ids and two int64s a
document instead of a Python dict of strings each (about 6x the text's size in memory). It is a
read-only `Mapping[str, dict[str, str]]` in file order, equal to the dict `load_corpus` used to
return, so every stage reads it as it read that dict. It pickles as its path and spans (no text).

The file must not change while a run reads it: the size and modification time seen when it was
read are checked when the file is opened again, and a changed file is an error, never a silently wrong
document.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from rankdistill.core.errors import UserError


class CorpusFile(Mapping[str, dict[str, str]]):
    """The documents of one corpus.jsonl, by id, in file order (see the module docstring)."""

    def __init__(self, path: Path, ids: list[str], starts: Any, ends: Any) -> None:
        self.path = Path(path)
        self._ids = ids
        self._rows = {doc_id: row for row, doc_id in enumerate(ids)}
        self._starts = np.asarray(starts, dtype=np.int64)
        self._ends = np.asarray(ends, dtype=np.int64)
        stat = self.path.stat()
        self._seen = (stat.st_size, stat.st_mtime_ns)
        self._fd: int | None = None

    def __getitem__(self, doc_id: str) -> dict[str, str]:
        return self.document(self._rows[doc_id])

    def __contains__(self, doc_id: object) -> bool:
        return doc_id in self._rows

    def __iter__(self) -> Iterator[str]:
        return iter(self._ids)

    def __len__(self) -> int:
        return len(self._ids)

    def __repr__(self) -> str:
        return f"CorpusFile({str(self.path)!r}, {len(self)} documents)"

    def document(self, row: int) -> dict[str, str]:
        """The document in row `row` (file order, empty documents left out)."""
        start = int(self._starts[row])
        raw = os.pread(self._opened(), int(self._ends[row]) - start, start)
        record = json.loads(raw)  # validated when the corpus was read
        return {"title": record.get("title") or "", "text": record["text"]}

    def _opened(self) -> int:
        if self._fd is None:
            try:
                stat = self.path.stat()
            except OSError as exc:
                raise UserError(
                    f"{self.path}: cannot read the corpus any more ({exc.strerror})"
                ) from None
            if (stat.st_size, stat.st_mtime_ns) != self._seen:
                raise UserError(
                    f"{self.path}: the corpus file changed after it was read (size or modification "
                    "time differ); rerun the command so every stage reads the same documents"
                )
            self._fd = os.open(self.path, os.O_RDONLY)
        return self._fd

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_fd"] = None  # each process opens the file itself
        del state["_rows"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._rows = {doc_id: row for row, doc_id in enumerate(self._ids)}

    def __del__(self) -> None:
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
