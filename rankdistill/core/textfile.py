"""The one way rankdistill decodes a text file it reads (corpus, queries, qrels, training sets,
configs, run files): UTF-8, with or without the byte-order mark Windows tools write.

Anything else is an InputError naming the file, the line and the problem: a UTF-16 or UTF-32
file (by its byte-order mark, or by the NUL bytes UTF-16 puts in ASCII text), a byte sequence
that is not UTF-8. Lines are decoded one at a time, so a corpus never has to fit in memory as
bytes and the line of a bad byte is known without a second pass.
"""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from pathlib import Path

from rankdistill.core.errors import InputError, UserError

_OTHER_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "UTF-32"),
    (codecs.BOM_UTF16_LE, "UTF-16"),
    (codecs.BOM_UTF16_BE, "UTF-16"),
)
RESAVE = "save it as UTF-8"


def text_lines(path: str | Path) -> Iterator[tuple[int, str]]:
    """(line number from 1, decoded line without its line ending) for each line of a UTF-8 file."""
    for line_no, _, _, text in located_lines(path):
        yield line_no, text


def located_lines(path: str | Path) -> Iterator[tuple[int, int, int, str]]:
    """(line number, first byte, byte after the last, decoded line) for each line, as `text_lines`
    reads them: the byte span (after a byte-order mark, line ending included) lets a reader fetch
    the line again later without holding it (rankdistill.data.corpus_file)."""
    path = Path(path)
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise UserError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a folder, expected a file") from None
    except PermissionError:
        raise UserError(f"{path}: not readable (permission denied)") from None
    with handle:
        start = 0
        for line_no, raw in enumerate(handle, start=1):
            end = start + len(raw)
            if line_no == 1:
                raw = _strip_utf8_bom(path, raw)
            yield line_no, end - len(raw), end, decode_line(path, raw, line_no)
            start = end


def read_text(path: str | Path) -> str:
    """A whole UTF-8 file as one string (configs, small sidecars); located errors as `text_lines`."""
    return "\n".join(line for _, line in text_lines(path))


def decode_line(path: Path, raw: bytes, line_no: int) -> str:
    nul = raw.find(b"\0")
    if nul >= 0:
        raise InputError(
            path,
            f"NUL byte at byte {nul + 1} of the line: the file looks like UTF-16 or binary; {RESAVE}",
            line_no,
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = raw[exc.start : exc.end].hex(" ")
        raise InputError(
            path,
            f"not valid UTF-8 at byte {exc.start + 1} of the line (bytes {bad}: {exc.reason}); {RESAVE}",
            line_no,
        ) from None
    if text.endswith("\n"):
        text = text[:-1]
    return text[:-1] if text.endswith("\r") else text


def _strip_utf8_bom(path: Path, raw: bytes) -> bytes:
    if raw.startswith(codecs.BOM_UTF8):
        return raw[len(codecs.BOM_UTF8) :]
    for bom, name in _OTHER_BOMS:
        if raw.startswith(bom):
            raise InputError(
                path, f"encoded as {name} (byte-order mark {bom.hex(' ')}); {RESAVE}", 1
            )
    return raw
