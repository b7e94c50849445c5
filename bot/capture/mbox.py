"""Streaming mbox reader that yields each message's header bytes only.

The file is read in binary chunks and separators are found with C-level
searches, so body bytes are skipped without being split into lines or
decoded. Python's ``mailbox`` module is not used: it decodes the "From "
separator line as ASCII and raises on the non-ASCII ones real archives have.

A separator is a line starting with "From " at the start of the file or right
after a blank line (mboxo/mboxrd, where body lines starting with "From " are
escaped as ">From "). Exporters that forgot the escaping leave body lines such
as "From the desk of ..." after a blank line; a real separator always carries
an asctime date, so a "From " line without an hh:mm time is taken as body.

Files from classic Mac OS end lines with a lone CR. A file whose first 4 KB
hold a CR and no LF is read with every CR taken as a line end; a file mixing
lone CRs into LF line ends is read by its LFs alone.

A file that cannot be read, or is not a regular file (a FIFO would block
forever, /dev/zero never ends), is logged and passed over, never raised: one
bad file must not stop the import of a folder.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator
from typing import BinaryIO

from bot.capture.mail_dates import parse_envelope_date
from bot.capture.raw_message import (
    NOT_REGULAR,
    UNREADABLE_FILE,
    UNREADABLE_FOLDER,
    FileSkipped,
    NotRegularFile,
    RawMessage,
    open_regular,
    report_skipped,
)

logger = logging.getLogger(__name__)

__all__ = ["RawMessage", "iter_mbox", "iter_mbox_tree"]

_CHUNK = 1 << 20
# A header block larger than this is cut (at a line end) rather than buffered
# without bound; real ones stay far below it (the largest seen is ~200 KB,
# a Subject folded over thousands of lines).
MAX_HEADER_BYTES = 1 << 20

_SEPARATOR = re.compile(rb"\n\r?\nFrom ")
_HEADER_END = re.compile(rb"\n\r?\n")
_TIME = re.compile(rb"\d:\d\d")


def iter_mbox(
    path: str | os.PathLike[str], *, on_skip: FileSkipped | None = None
) -> Iterator[RawMessage]:
    """Yield one RawMessage per message of the mbox file at ``path``.

    A file that cannot be opened or read to its end, or is not a regular file,
    is logged and reported to ``on_skip``; messages before a read error are
    still yielded.
    """
    name = os.fspath(path)
    try:
        stream = open_regular(name)
    except NotRegularFile:
        logger.warning("%s: not a regular file; skipped", name)
        report_skipped(on_skip, name, NOT_REGULAR)
        return
    except OSError as exc:
        logger.warning("cannot read %s: %s", name, exc.strerror or exc)
        report_skipped(on_skip, name, UNREADABLE_FILE)
        return
    with stream:
        try:
            yield from _MboxScanner(stream, name).messages()
        except OSError as exc:
            logger.warning("cannot read %s to its end: %s", name, exc.strerror or exc)
            report_skipped(on_skip, name, UNREADABLE_FILE)


def iter_mbox_tree(
    path: str | os.PathLike[str], *, on_skip: FileSkipped | None = None
) -> Iterator[RawMessage]:
    """Messages of the mbox at ``path``, or of every file in the tree under it.

    Files are taken in path order. Symbolic links to folders are not followed
    (a link to a parent would loop); a folder that cannot be listed is logged
    and reported to ``on_skip`` like an unreadable file.
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        yield from iter_mbox(root, on_skip=on_skip)
        return
    for file_path in _tree_files(root, on_skip):
        yield from iter_mbox(file_path, on_skip=on_skip)


def _tree_files(directory: str, on_skip: FileSkipped | None) -> Iterator[str]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: e.name)
    except OSError as exc:
        logger.warning("cannot list %s: %s", directory, exc.strerror or exc)
        report_skipped(on_skip, directory, UNREADABLE_FOLDER)
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            yield from _tree_files(entry.path, on_skip)
        else:
            # FIFOs, devices and links are offered too: iter_mbox tells them
            # apart and counts what it cannot read, instead of their vanishing.
            yield entry.path


class _MboxScanner:
    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.buf = b""
        self.base = 0  # file offset of buf[0]
        self.eof = False
        self.cr_only = False  # lone-CR line ends, rewritten to LF as read

    def fill(self, keep_from: int) -> int:
        """Drop buf before ``keep_from``, read a chunk; returns the index shift."""
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
        elif self.cr_only:
            chunk = chunk.replace(b"\r", b"\n")  # same length: offsets hold
        self.buf = self.buf[keep_from:] + chunk
        self.base += keep_from
        return keep_from

    def messages(self) -> Iterator[RawMessage]:
        while not self.eof and len(self.buf) < 4096:
            self.fill(0)  # enough to see the first separator whole
        if b"\n" not in self.buf and b"\r" in self.buf:
            logger.info("%s: lone CR line ends read as line ends", self.name)
            self.cr_only = True
            self.buf = self.buf.replace(b"\r", b"\n")
        start = self._first_separator()
        while start is not None:
            message, after, follower = self._message_at(start)
            yield message
            start = follower if follower is not None else self._next_separator(after)

    def _first_separator(self) -> int | None:
        buf = self.buf
        start = 0
        while start < len(buf) and buf[start] in b"\r\n":
            start += 1
        if buf.startswith(b"From ", start):
            return start
        found = self._next_separator(start)
        if found is not None:
            logger.warning(
                "%s: %d bytes before the first mbox separator skipped",
                self.name,
                self.base + found,
            )
        else:
            logger.warning("%s: no mbox separator found; not an mbox file?", self.name)
        return found

    def _next_separator(self, pos: int) -> int | None:
        """Index of the next real separator's "F" at or after ``pos``."""
        while True:
            match = _SEPARATOR.search(self.buf, pos)
            if match is None:
                if self.eof:
                    return None
                # Keep a tail that may hold the start of a split separator.
                pos -= self.fill(max(pos, len(self.buf) - 8))
                continue
            start = match.end() - 5
            end = self.buf.find(b"\n", start)
            if end < 0 and not self.eof:
                shift = self.fill(match.start())
                pos = match.start() - shift
                continue
            line = self.buf[start:end] if end >= 0 else self.buf[start:]
            if _TIME.search(line) is not None:
                return start
            pos = start

    def _message_at(self, start: int) -> tuple[RawMessage, int, int | None]:
        """The message whose separator starts at ``start``.

        Also returns where to look for the next separator, or that separator
        itself when a header-only message runs straight into it.
        """
        while True:
            line_end = self.buf.find(b"\n", start)
            if line_end >= 0 or self.eof:
                break
            start -= self.fill(start)
        if line_end < 0:
            line_end = len(self.buf)
        envelope = self.buf[start:line_end]
        offset = self.base + start

        headers_start = line_end + 1
        while True:
            # Searching from the separator's own newline also finds an empty
            # header block (a blank line right after the separator).
            match = _HEADER_END.search(self.buf, line_end)
            if match is not None:
                header_end = match.start() + 1
                after = match.start()
                break
            if self.eof or len(self.buf) - headers_start > MAX_HEADER_BYTES:
                header_end = after = len(self.buf)
                break
            shift = self.fill(start)
            start -= shift
            line_end -= shift
            headers_start -= shift

        follower = None
        inner = self.buf.find(b"\nFrom ", line_end, header_end)
        while inner >= 0:
            # A header-only message can run straight into the next separator.
            inner_end = self.buf.find(b"\n", inner + 1, header_end)
            line = self.buf[inner + 1 : inner_end if inner_end >= 0 else header_end]
            if _TIME.search(line) is not None:
                header_end = after = follower = inner + 1
                break
            inner = self.buf.find(b"\nFrom ", inner + 1, header_end)

        cut = False
        if header_end - headers_start > MAX_HEADER_BYTES:
            cut = True
            limit = headers_start + MAX_HEADER_BYTES
            line_cut = self.buf.rfind(b"\n", headers_start, limit) + 1
            header_end = line_cut if line_cut > headers_start else limit
            if follower is None and match is None:
                after = header_end
            logger.warning(
                "%s:%d: header block over %d bytes cut",
                self.name,
                offset,
                MAX_HEADER_BYTES,
            )
        headers = self.buf[headers_start:header_end]

        date = parse_envelope_date(envelope)
        message = RawMessage(headers, date, f"{self.name}:{offset}", cut)
        return message, after, follower
