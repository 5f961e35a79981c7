"""Reading a file nn-tui was pointed at: only a regular file, and only up to a bound.

A path a user (or a file they were sent) names may be a named pipe, which blocks the
reader until someone writes to it, or a device such as ``/dev/zero``, which never ends.
``read_regular_file`` looks before it opens (``os.stat``), opens without waiting
(``O_NONBLOCK``: opening a pipe blocks until a writer comes), then checks the opened file
again (``fstat``: the name may have been swapped in between), and refuses a file larger
than the bound before reading a byte of it. Every refusal is an ``OSError`` whose
``strerror`` says why, so callers that already report ``OSError`` say it in their words.

Here, in the lowest layer that reads files (CSV data), so that the config (TOML) and run
files (``engine.io``) use it too; standard library only.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

_KINDS = (
    (stat.S_ISFIFO, "a named pipe"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


class NotRegularFileError(OSError):
    """The path names a pipe, a device or a socket: not read, since it may never end."""


class FileTooLargeError(OSError):
    """The file is larger than the reader's bound: refused before it is read."""

    def __init__(self, path: str, size: int, max_bytes: int) -> None:
        super().__init__(errno.EFBIG, f"larger than {max_bytes:,} bytes", path)
        self.size = size
        self.max_bytes = max_bytes


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def _check(path: str, mode: int) -> None:
    if stat.S_ISDIR(mode):
        raise IsADirectoryError(errno.EISDIR, "is a folder", path)
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(errno.EINVAL, f"not a regular file ({_kind(mode)})", path)


def read_regular_file(path: str | os.PathLike[str], max_bytes: int) -> bytes:
    """The bytes of ``path``, a regular file of at most ``max_bytes`` bytes.

    Raises FileNotFoundError, IsADirectoryError, PermissionError (as ``open`` does),
    NotRegularFileError for a pipe, device or socket (never opened for reading, so never
    waited on), and FileTooLargeError, before reading, for a larger file (also for one
    that grew past the bound while it was read).
    """
    name = os.fspath(Path(path))
    _check(name, os.stat(name).st_mode)  # a device is not even opened (a tape rewinds)
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(name, flags)
    try:
        info = os.fstat(fd)  # the file opened, which may not be the one looked at
        _check(name, info.st_mode)
        if info.st_size > max_bytes:
            raise FileTooLargeError(name, info.st_size, max_bytes)
        chunks, total = [], 0
        while chunk := os.read(fd, min(max_bytes + 1 - total, 2**20) or 1):
            chunks.append(chunk)
            total += len(chunk)
            if total > max_bytes:
                raise FileTooLargeError(name, total, max_bytes)
        return b"".join(chunks)
    finally:
        os.close(fd)


__all__ = ["FileTooLargeError", "NotRegularFileError", "read_regular_file"]
