"""Reader for trees of one-message-per-file mail: Maildir and the Enron layout.

Each file is read only as far as the blank line that ends its headers. A
directory holding ``cur`` or ``new`` is a Maildir: messages are taken from
those two; ``tmp`` (deliveries still being written) and the index files
beside them are skipped, and dot-named Maildir++ sub-folders are walked. Any
other directory (the Enron corpus: ``allen-p/inbox/1.``) is walked whole,
every regular file taken as a message. Dotfiles are always skipped.

Files that cannot be read or are not regular files (FIFOs, devices, broken
links), and folders that cannot be listed, are logged, reported to the
caller's ``on_skip`` and passed over. A file whose headers end lines with a
lone CR (classic Mac OS) is read with each CR taken as a line end.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

from bot.capture.mail_dates import parse_envelope_date
from bot.capture.mbox import MAX_HEADER_BYTES
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

_FIRST_READ = 1 << 16
# An mbox-style envelope line ("From sender date"), not a "From  :" header
# written with the obsolete space before the colon.
_ENVELOPE = re.compile(rb"From [^\s:]")
_HEADER_END = re.compile(rb"\n\r?\n")
_DIGITS = re.compile(r"(\d+)")


def iter_maildir(
    path: str | os.PathLike[str], *, on_skip: FileSkipped | None = None
) -> Iterator[RawMessage]:
    """Yield one RawMessage per message file under ``path``, in a stable order.

    Anything but a folder is read as one message. Unreadable files and
    folders are logged, reported to ``on_skip`` and skipped so one bad file
    does not stop an import.
    """
    root = os.fspath(path)
    if not os.path.isdir(root):
        message = _read_message(root, on_skip)
        if message is not None:
            yield message
        return
    for file_path in _message_files(root, on_skip):
        message = _read_message(file_path, on_skip)
        if message is not None:
            yield message


def _message_files(directory: str, on_skip: FileSkipped | None) -> Iterator[str]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: _natural_key(e.name))
    except OSError as exc:
        logger.warning("cannot list %s: %s", directory, exc.strerror or exc)
        report_skipped(on_skip, directory, UNREADABLE_FOLDER)
        return
    names = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    # Either sub-folder alone is enough: copies (git, some backup tools)
    # drop the empty ones.
    is_maildir = "cur" in names or "new" in names

    for entry in entries:
        if entry.name.startswith("."):
            if is_maildir and entry.is_dir(follow_symlinks=False):
                # Maildir++ sub-folder
                yield from _message_files(entry.path, on_skip)
            continue
        if entry.is_dir(follow_symlinks=False):
            # In a Maildir only cur/ and new/ hold mail; tmp/ holds deliveries
            # still being written, other folders (courierimapkeywords/) state.
            if not is_maildir or entry.name in ("cur", "new"):
                yield from _message_files(entry.path, on_skip)
        elif not is_maildir:
            # In a Maildir the files next to cur/new are indexes, not mail.
            # Links, FIFOs and devices are offered too: _read_message follows
            # a link to a file and counts the rest instead of their vanishing.
            yield entry.path


def _read_message(file_path: str, on_skip: FileSkipped | None) -> RawMessage | None:
    cut = False
    try:
        with open_regular(file_path) as stream:
            data = stream.read(_FIRST_READ)
            cr_only = b"\n" not in data and b"\r" in data
            if cr_only:
                data = data.replace(b"\r", b"\n")
            envelope_date = None
            start = 0
            if _ENVELOPE.match(data) is not None:
                line_end = data.find(b"\n")
                if line_end < 0:
                    line_end = len(data)
                envelope_date = parse_envelope_date(data[:line_end])
                start = line_end + 1
            if data.startswith((b"\n", b"\r\n"), start):
                return RawMessage(b"", envelope_date, f"{file_path}:0")
            while True:
                match = _HEADER_END.search(data, max(start - 1, 0))
                if match is not None:
                    end = max(match.start() + 1, start)
                    break
                more = stream.read(_FIRST_READ)
                if not more:
                    end = len(data)
                    break
                data += more.replace(b"\r", b"\n") if cr_only else more
                if len(data) - start > MAX_HEADER_BYTES:
                    cut = True
                    end = data.rfind(b"\n", start, start + MAX_HEADER_BYTES) + 1
                    end = max(end, start)
                    logger.warning(
                        "%s: header block over %d bytes cut",
                        file_path,
                        MAX_HEADER_BYTES,
                    )
                    break
    except NotRegularFile:
        logger.warning("%s: not a regular file; skipped", file_path)
        report_skipped(on_skip, file_path, NOT_REGULAR)
        return None
    except OSError as exc:
        logger.warning("cannot read %s: %s", file_path, exc.strerror or exc)
        report_skipped(on_skip, file_path, UNREADABLE_FILE)
        return None
    return RawMessage(data[start:end], envelope_date, f"{file_path}:0", cut)


def _natural_key(name: str) -> list[object]:
    """Sort "2." before "10." as the Enron folders number their files."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]
