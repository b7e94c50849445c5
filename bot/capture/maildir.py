"""Reader for trees of one-message-per-file mail: Maildir and the Enron layout.

Each file is read only as far as the blank line that ends its headers. A
directory holding ``cur`` or ``new`` is a Maildir: messages are taken from
those two; ``tmp`` (deliveries still being written) and the index files
beside them are skipped, and dot-named Maildir++ sub-folders are walked. Any
other directory (the Enron corpus: ``allen-p/inbox/1.``) is walked whole,
every regular file taken as a message. Dotfiles are always skipped.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator

from bot.capture.mail_dates import parse_envelope_date
from bot.capture.mbox import MAX_HEADER_BYTES
from bot.capture.raw_message import RawMessage

logger = logging.getLogger(__name__)

_FIRST_READ = 1 << 16
# An mbox-style envelope line ("From sender date"), not a "From  :" header
# written with the obsolete space before the colon.
_ENVELOPE = re.compile(rb"From [^\s:]")
_HEADER_END = re.compile(rb"\n\r?\n")
_DIGITS = re.compile(r"(\d+)")


def iter_maildir(path: str | os.PathLike[str]) -> Iterator[RawMessage]:
    """Yield one RawMessage per message file under ``path``, in a stable order.

    A single file is read as one message. Unreadable files are logged and
    skipped so one bad file does not stop an import.
    """
    root = os.fspath(path)
    if os.path.isfile(root):
        message = _read_message(root)
        if message is not None:
            yield message
        return
    for file_path in _message_files(root):
        message = _read_message(file_path)
        if message is not None:
            yield message


def _message_files(directory: str) -> Iterator[str]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: _natural_key(e.name))
    except OSError as exc:
        logger.warning("cannot list %s: %s", directory, exc.strerror)
        return
    names = {e.name for e in entries if e.is_dir(follow_symlinks=False)}
    # Either sub-folder alone is enough: copies (git, some backup tools)
    # drop the empty ones.
    is_maildir = "cur" in names or "new" in names

    for entry in entries:
        if entry.name.startswith("."):
            if is_maildir and entry.is_dir(follow_symlinks=False):
                yield from _message_files(entry.path)  # Maildir++ sub-folder
            continue
        if entry.is_dir(follow_symlinks=False):
            # In a Maildir only cur/ and new/ hold mail; tmp/ holds deliveries
            # still being written, other folders (courierimapkeywords/) state.
            if not is_maildir or entry.name in ("cur", "new"):
                yield from _message_files(entry.path)
        elif entry.is_file(follow_symlinks=False) and not is_maildir:
            # In a Maildir the files next to cur/new are indexes, not mail.
            yield entry.path


def _read_message(file_path: str) -> RawMessage | None:
    try:
        with open(file_path, "rb") as stream:
            data = stream.read(_FIRST_READ)
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
                data += more
                if len(data) - start > MAX_HEADER_BYTES:
                    end = data.rfind(b"\n", start, start + MAX_HEADER_BYTES) + 1
                    end = max(end, start)
                    logger.warning(
                        "%s: header block over %d bytes cut",
                        file_path,
                        MAX_HEADER_BYTES,
                    )
                    break
    except OSError as exc:
        logger.warning("cannot read %s: %s", file_path, exc.strerror)
        return None
    return RawMessage(data[start:end], envelope_date, f"{file_path}:0")


def _natural_key(name: str) -> list[object]:
    """Sort "2." before "10." as the Enron folders number their files."""
    return [int(part) if part.isdigit() else part for part in _DIGITS.split(name)]
