"""Derive the bundled header-only sample from the public Enron mailboxes.

Run from the repository root with the project's shared data beside it:

    python samples/make_sample.py ../shared/data/email/enron-subset \
        samples/enron-headers.mbox

Only From, To, Cc, Date and Message-ID are kept (plus the Lotus Notes X-From
display name folded into From when From carries none): no subjects, no
bodies. The output is deterministic, so re-running it gives the same file.
"""

from __future__ import annotations

import re
import sys
from datetime import UTC
from email.parser import BytesHeaderParser
from email.policy import compat32
from email.utils import formataddr, parseaddr, parsedate_to_datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.capture.mbox import iter_mbox  # noqa: E402

KEEP = ("From", "To", "Cc", "Date", "Message-ID")
_NOTES_SUFFIX = re.compile(r"\s*</?O=.*$|\s*<[^>]*>.*$")


def display_name(x_from: str | None, from_value: str) -> str:
    name, address = parseaddr(from_value)
    if name or not x_from:
        return from_value
    candidate = _NOTES_SUFFIX.sub("", x_from).strip().strip('"')
    if not candidate or "@" in candidate:
        return from_value
    return formataddr((candidate, address))


def envelope_line(date_value: str | None) -> str:
    """The separator, dated when the message was sent.

    The origin's separators all carry the day of the 2022 conversion, which
    would date a message with a broken Date header twenty years late; an
    undated separator leaves such a message undated, as it truly is.
    """
    try:
        sent = parsedate_to_datetime(date_value or "")
    except (TypeError, ValueError):
        sent = None
    if sent is None or not 1970 <= sent.year <= 2030:
        return "From MAILER-DAEMON\n"
    return f"From MAILER-DAEMON {sent.astimezone(UTC):%a %b %d %H:%M:%S %Y}\n"


def main(source: Path, target: Path) -> None:
    parser = BytesHeaderParser(policy=compat32)
    count = 0
    with target.open("w", encoding="utf-8", newline="\n") as out:
        for path in sorted(source.iterdir()):
            for raw in iter_mbox(path):
                msg = parser.parsebytes(raw.headers)
                out.write(envelope_line(msg.get("Date")))
                for name in KEEP:
                    value = msg.get(name)
                    if value is None:
                        continue
                    value = " ".join(str(value).split())
                    if name == "From":
                        value = display_name(msg.get("X-From"), value)
                    out.write(f"{name}: {value}\n")
                out.write(f"X-Folder: {path.name}\n\n")
                count += 1
    print(f"wrote {count} messages to {target}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
