"""One `rankdistill run` at a time per run folder: `<run>/run.lock` is held with flock and says
who holds it (pid, host, start time). The kernel releases the lock when its process ends however
it ends (kill -9 included), so a lock file left behind by a dead process is stale by
construction: the next run takes it over and says so."""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path

from rankdistill.core.atomic import storage_errors
from rankdistill.core.errors import UserError

log = logging.getLogger(__name__)

LOCK_FILE = "run.lock"


@contextlib.contextmanager
def run_lock(run_dir: str | Path) -> Iterator[Path]:
    """Hold the run folder's lock for the duration; UserError at once if another process has it."""
    path = Path(run_dir) / LOCK_FILE
    with storage_errors(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise UserError(
                f"{path.parent}: another rankdistill run is working in this run folder ({_describe(fd)}); "
                "wait for it to finish, or stop it, then run again"
            ) from None
        previous = _read(fd)
        if previous:
            log.warning(
                "%s: taking over a stale lock left by a run that ended without releasing it (%s)",
                path,
                _describe(fd),
            )
        holder = json.dumps(
            {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
        )
        with storage_errors(path):
            os.ftruncate(fd, 0)
            os.pwrite(fd, holder.encode() + b"\n", 0)
        try:
            yield path
        finally:
            os.ftruncate(fd, 0)  # empty: released cleanly (the file stays, so no unlink race)
    finally:
        os.close(fd)  # releases the flock


def _read(fd: int) -> str:
    return os.pread(fd, 4096, 0).decode("utf-8", errors="replace").strip()


def _describe(fd: int) -> str:
    text = _read(fd)
    try:
        holder = json.loads(text)
        return f"pid {holder['pid']} on {holder['host']}, started {holder['started']}"
    except (ValueError, KeyError, TypeError):
        return "holder unknown"
