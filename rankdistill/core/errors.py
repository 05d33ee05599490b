"""The one exception type for mistakes a user can fix (bad input, bad config, missing data)."""

from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """A mistake in input or configuration: the CLI prints the message and exits non-zero,
    without a traceback."""


class Line(int):
    """A line number that also names its file: a config that `extends` a base holds nodes from
    both files, and an error must point into the one the value came from."""

    file: str | None

    def __new__(cls, line: int, file: str | None = None) -> Line:
        value = super().__new__(cls, line)
        value.file = file
        return value


class InputError(UserError):
    """Bad content in a file, located by file, line and field (a `Line` moves the error into its
    own file)."""

    def __init__(
        self, path: str | Path, message: str, line: int | None = None, field: str | None = None
    ):
        self.path = getattr(line, "file", None) or str(path)
        self.line = line
        self.field = field
        where = self.path if line is None else f"{self.path}:{line}"
        what = f"field '{field}': " if field else ""
        super().__init__(f"{where}: {what}{message}")
