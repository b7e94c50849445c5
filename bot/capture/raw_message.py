"""The unit the mail readers hand to the importer, and how they open files."""

from __future__ import annotations

import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

# Told (path, reason) for each file or folder a reader passes over, so an
# import can count them; reason is a short summary label such as
# "unreadable file". The reader has already logged the details.
FileSkipped = Callable[[str, str], None]

UNREADABLE_FILE = "unreadable file"
UNREADABLE_FOLDER = "unreadable folder"
NOT_REGULAR = "not a regular file"


def report_skipped(on_skip: FileSkipped | None, path: str, reason: str) -> None:
    if on_skip is not None:
        on_skip(path, reason)


@dataclass(slots=True)
class RawMessage:
    """Header block of one message; the body is never read into memory.

    ``headers`` runs up to, not including, the blank line that ends the
    header section. ``envelope_date`` comes from an mbox "From " separator
    line (UTC), else None. ``position`` is "path:byte-offset" for log lines.
    ``header_cut`` is True when the header block was longer than the readers'
    cap and ``headers`` holds only its start.
    """

    headers: bytes
    envelope_date: datetime | None
    position: str
    header_cut: bool = False


_NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # POSIX only


class NotRegularFile(OSError):
    """A FIFO, device, socket or directory where a mail file was expected."""


def open_regular(path: str) -> BinaryIO:
    """Open ``path`` for binary reading, refusing anything but a regular file.

    The open is non-blocking so that a FIFO with no writer is refused rather
    than waited on forever; /dev/zero and the like would never end.
    """
    fd = os.open(path, os.O_RDONLY | _NONBLOCK | getattr(os, "O_BINARY", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise NotRegularFile(0, NOT_REGULAR, path)
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
