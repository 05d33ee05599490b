"""The four faults every artefact read back is tested against, and the check of the one
acceptable error: a UserError (CLI exit 2, one line, no traceback) that names the file."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest

from rankdistill.core.errors import UserError

FAULTS = ["truncated", "garbage", "wrong type", "deleted"]


def inject(path: Path, fault: str, retype: Callable[[bytes], bytes]) -> None:
    """Damage `path`: cut it in half, overwrite it with as many random bytes (the same ones for
    the same file name), `retype` its bytes (one field of another type), or delete it."""
    data = path.read_bytes()
    if fault == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif fault == "garbage":
        path.write_bytes(garbage(len(data), path.name))
    elif fault == "wrong type":
        changed = retype(data)
        assert changed != data, f"{path}: the wrong-type fault changed nothing"
        path.write_bytes(changed)
    elif fault == "deleted":
        path.unlink()
    else:
        raise AssertionError(f"unknown fault {fault!r}")


def garbage(size: int, seed: str) -> bytes:
    """`size` pseudo-random bytes, reproducible from `seed`."""
    out = b""
    counter = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return out[:size]


def user_error(call: Callable[[], object], path: Path, *parts: str) -> str:
    """Run `call`, which must raise a UserError whose one-line message starts with `path` (or
    names it) and holds every one of `parts`; return the message. Any other exception fails."""
    with pytest.raises(UserError) as caught:
        call()
    message = str(caught.value)
    assert str(path) in message, f"the message does not name {path}: {message}"
    assert "\n" not in message, f"not one line: {message!r}"
    for part in parts:
        assert part in message, f"{part!r} is not in: {message}"
    return message
