"""Reading an input file of `ocrflow ocr` within the input limit: what the path is is checked first (only
regular files are opened, without blocking), the size comes from the file system, and no more than the limit
and one byte is ever read - a 3 GB file, /dev/zero or a FIFO with no writer each get their typed error at once."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from ocrflow.errors import FileTooLargeError, MissingFileError, NotAFileError, UnreadableFileError

_KINDS = ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def _refuse_unless_regular(mode: int) -> None:
    if not stat.S_ISREG(mode):
        kind = next((name for is_kind, name in _KINDS if is_kind(mode)), "not a regular file")
        raise NotAFileError(f"is {kind}, not a file")


def display_name(path: Path | str) -> str:
    """`path` as text that is always valid Unicode: bytes of the name that are not UTF-8 are spelled `\\xff`
    (Python's backslashreplace) - in messages and in the JSON's `source.filename`; the files themselves are
    opened and written under the original bytes."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def read_input(path: Path, max_bytes: int) -> bytes:
    """The bytes of the regular file at `path`, at most `max_bytes` of them; typed errors otherwise."""
    try:
        _refuse_unless_regular(os.stat(path).st_mode)
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening it still does not wait
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise MissingFileError("no such file") from None
    except PermissionError:
        raise UnreadableFileError("permission denied") from None
    except OSError as exc:
        raise UnreadableFileError(f"cannot read: {exc.strerror}") from None
    with open(fd, "rb", buffering=0) as file:
        try:
            status = os.fstat(file.fileno())
            _refuse_unless_regular(status.st_mode)
            if status.st_size > max_bytes:
                raise FileTooLargeError(f"the file is {status.st_size:,} bytes; the limit is {max_bytes:,} bytes",
                                        limit=max_bytes)
            data = file.read(status.st_size + 1)  # one byte more than stated: has the file grown since?
            if len(data) > status.st_size:
                data += file.read(max_bytes + 1 - len(data))
        except OSError as exc:
            raise UnreadableFileError(f"cannot read: {exc.strerror}") from None
    if len(data) > max_bytes:  # it grew past the limit while being read
        raise FileTooLargeError(f"the file is larger than the limit of {max_bytes:,} bytes", limit=max_bytes)
    return data
