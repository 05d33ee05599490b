"""Atomic file writes: a reader never sees a half-written file, a crash never leaves one.

A write that fails because the disk is full (or over quota, or read-only) is a UserError that
says so: the temp file is removed, every file written before is untouched, and rerunning after
freeing space continues from them.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from rankdistill.core.errors import UserError

_WRITE_FAILURES = re.compile(
    r"No space left on device|Disk quota exceeded|file write failed", re.IGNORECASE
)
STORAGE_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EACCES: "permission denied",
    errno.EPERM: "operation not permitted",
}
# a path the user gave is in the way: a file where a folder goes, or a folder where a file goes
PATH_ERRNOS = {
    errno.ENOTDIR: "a file is in the way where a folder is needed",
    errno.EISDIR: "a folder is in the way where a file is written",
    errno.EEXIST: "a file is in the way where a folder is needed",
}


def path_problem(exc: OSError) -> str | None:
    """What is wrong with the path of an OSError a user's paths can cause, or None for any other
    error (a bug, which should surface as one)."""
    reason = STORAGE_ERRNOS.get(exc.errno) or PATH_ERRNOS.get(exc.errno)
    if reason is None:
        return None
    where = exc.filename if exc.filename is not None else "a path"
    return f"{where}: {reason}; choose another path or fix its permissions"


def atomic_write(path: str | Path, write: Callable[[IO[Any]], None], binary: bool = False) -> Path:
    """Call `write` on a temp file beside `path` (text, or bytes if `binary`), fsync it, then
    rename it over `path`."""
    path = Path(path)
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        try:
            os.fchmod(
                fd, 0o666 & ~_umask()
            )  # mkstemp makes 0600; give the mode a plain open() would
            with os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="utf-8") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    return path


@contextlib.contextmanager
def storage_errors(path: str | Path) -> Iterator[None]:
    """Turn a full disk, a quota or a read-only file system met while writing `path` into a
    UserError naming the path, the problem and the space left."""
    try:
        yield
    except (OSError, RuntimeError) as exc:
        problem = STORAGE_ERRNOS.get(getattr(exc, "errno", None))
        if problem is None and isinstance(exc, RuntimeError) and _WRITE_FAILURES.search(str(exc)):
            problem = f"write failed ({str(exc).strip().splitlines()[-1][:200]})"  # torch.save reports ENOSPC so
        if problem is None:
            raise
        raise UserError(
            f"{path}: cannot write: {problem}{_free_space(Path(path))}. Files finished before are intact; "
            "free space (or fix permissions) and run again: it continues from them"
        ) from None


def check_writable(folder: str | Path, what: str) -> None:
    """Fail now, before any work, if `folder` (created if missing) cannot take new files."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=folder, prefix=".write-probe.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        reason = STORAGE_ERRNOS.get(exc.errno) or exc.strerror or str(exc)
        raise UserError(
            f"{folder}: the {what} is not writable ({reason}); fix its permissions or choose another folder"
        ) from None


def _free_space(path: Path) -> str:
    for folder in (path, *path.parents):
        if folder.exists():
            with contextlib.suppress(OSError):
                return f" ({shutil.disk_usage(folder).free / 1e6:.1f} MB free there)"
            break
    return ""


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write(path, lambda handle: handle.write(text))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    return atomic_write_text(path, json.dumps(data, indent=2, sort_keys=False) + "\n")


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current
