"""Metadata from one message's header block: who, to whom, when, and is it bulk.

Only the headers Rapport needs are decoded; Subject and bodies are never
touched, so no message text can leak into storage or logs.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from bot.capture.automated import HEADER_NAMES, automated_reason
from bot.capture.mail_addresses import Address, parse_address_list
from bot.capture.mail_dates import parse_mail_date

logger = logging.getLogger(__name__)

__all__ = ["Address", "MailHeaders", "parse_headers"]


@dataclass(slots=True)
class MailHeaders:
    """What Rapport keeps of one message; see parse_headers for the rules.

    ``date`` is timezone-aware UTC. ``date_status`` is "ok", "missing" or
    "malformed"; in the last two cases ``date`` holds the fallback (or None).
    ``automated`` names why the message is bulk or machine mail, else None.
    ``problems`` holds short notes such as "bad-address:<element>",
    "encoding", "date-zone:<token>", "date-nonstandard", "date-out-of-range",
    "date-future".
    """

    message_id: str | None
    sender: Address | None
    to: list[Address]
    cc: list[Address]
    date: datetime | None
    date_status: str
    automated: str | None
    problems: list[str] = field(default_factory=list)


_WANTED_HEADER = re.compile(
    rb"\n("
    + b"|".join(
        re.escape(name)
        for name in (b"from", b"to", b"cc", b"date", b"message-id")
        + tuple(name.encode() for name in HEADER_NAMES)
    )
    + rb")[ \t]*:([^\n]*(?:\n[ \t][^\n]*)*)",
    re.IGNORECASE,
)
_BASIC = frozenset((b"from", b"to", b"cc", b"date", b"message-id"))
_UTF8_SEQUENCE = re.compile(rb"[\xc2-\xf4][\x80-\xbf]+")
_ANGLE_ID = re.compile(r"<([^<>]*)>")
_ID_NOISE = re.compile(r"\([^()]*\)|\s+")

# Clocks of mail hosts run fast by minutes, now and then by hours across a
# misread zone. A date further ahead than this at import time is a broken
# clock or spam postdated to stay on top of a folder; taken as real it would
# pin "last contact" to the future.
FUTURE_TOLERANCE = timedelta(days=2)
# The wall clock does not go back by days: a date before this process started
# cannot be ahead of it now, so most of an archive never reads the clock.
_STARTED = datetime.now(UTC)


def parse_headers(
    raw: bytes,
    *,
    fallback_date: datetime | None = None,
    now: datetime | None = None,
) -> MailHeaders:
    """Parse the header block of one message (bytes up to the blank line).

    ``fallback_date`` (usually the mbox envelope date) is used when Date is
    missing or unusable; ``date_status`` then says which of the two it was.
    A date more than FUTURE_TOLERANCE after ``now`` (default: the wall clock)
    is unusable, whether it comes from Date or from the fallback.
    """
    found = _collect(raw)
    problems: list[str] = []

    sender = None
    values = found.get(b"from")
    if values:
        # Two From headers happen (broken mailers); the first is the author.
        senders = _addresses(values[0], problems)
        if senders:
            sender = senders[0]

    to = _recipients(found.get(b"to"), problems)
    cc = _recipients(found.get(b"cc"), problems)

    if fallback_date is not None and _too_late(fallback_date, now):
        problems.append("date-future")
        fallback_date = None
    date, date_status = _date(found.get(b"date"), fallback_date, now, problems)

    message_id = None
    values = found.get(b"message-id")
    if values:
        message_id = _message_id(_decode_plain(values[0]))

    flags = {
        name.decode(): _decode_plain(parts[0])
        for name, parts in found.items()
        if name not in _BASIC
    }
    automated = automated_reason(flags, sender.address if sender else None)

    return MailHeaders(
        message_id=message_id,
        sender=sender,
        to=to,
        cc=cc,
        date=date,
        date_status=date_status,
        automated=automated,
        problems=problems,
    )


def _collect(raw: bytes) -> dict[bytes, list[bytes]]:
    """Unfolded raw values of the wanted headers, in order of appearance.

    One regex pass finds them; lines that are neither a header nor a fold
    (a stray "From " envelope line, a broken fold) are passed over.
    """
    found: dict[bytes, list[bytes]] = {}
    for name, value in _WANTED_HEADER.findall(b"\n" + raw):
        name = name.lower()
        values = found.get(name)
        if values is None:
            found[name] = [value]
        else:
            values.append(value)
    return found


def _recipients(values: list[bytes] | None, problems: list[str]) -> list[Address]:
    if not values:
        return []
    result: list[Address] = []
    seen: set[str] = set()
    for value in values:  # repeated To/Cc headers are merged
        for address in _addresses(value, problems):
            key = address.address.lower()
            if key not in seen:
                seen.add(key)
                result.append(address)
    return result


def _too_late(when: datetime, now: datetime | None) -> bool:
    if now is None:
        if when <= _STARTED:
            return False
        now = datetime.now(UTC)
    return when > now + FUTURE_TOLERANCE


def _date(
    values: list[bytes] | None,
    fallback: datetime | None,
    now: datetime | None,
    problems: list[str],
) -> tuple[datetime | None, str]:
    if values:
        text = _decode_plain(values[0])
        if text.strip():
            parsed = parse_mail_date(text)
            problems.extend(parsed.notes)
            if parsed.when is not None and _too_late(parsed.when, now):
                if "date-future" not in problems:
                    problems.append("date-future")
                return fallback, "malformed"
            if parsed.when is not None and "date-nonstandard" not in parsed.notes:
                return parsed.when, "ok"
            if parsed.when is not None:
                # Readable but not RFC 5322 (`2002/09/14 Sat 13:06:03 GMT`):
                # counted as a bad Date, and the envelope's date wins when
                # there is one, since it was written by a real mail system.
                return fallback or parsed.when, "malformed"
            return fallback, "malformed"
    return fallback, "missing"


def _message_id(text: str) -> str | None:
    match = _ANGLE_ID.search(text)
    value = match.group(1) if match is not None else text
    if "(" in value or " " in value or "\n" in value or "\t" in value:
        value = _ID_NOISE.sub("", value)
    value = value.strip()
    return value or None


# The same From and To values recur across a mailbox (one sender, the same
# team on copy): a parsed value is kept and reused when parsing it noted no
# problem. Bounded by clearing, so memory stays flat on any input.
_PARSED: dict[bytes, tuple[Address, ...]] = {}
_PARSED_MAX = 100_000


def _addresses(value: bytes, problems: list[str]) -> list[Address]:
    cached = _PARSED.get(value)
    if cached is not None:
        return list(cached)
    try:
        text = value.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        noted = len(problems)
        parsed = parse_address_list(text, problems)
        if len(problems) == noted:
            if len(_PARSED) >= _PARSED_MAX:
                _PARSED.clear()
            _PARSED[value] = tuple(parsed)
        return parsed
    if "encoding" not in problems:
        problems.append("encoding")
    if _UTF8_SEQUENCE.search(value) is not None:
        # Mostly UTF-8 with a cut or stray byte: keep the readable part.
        text = value.decode("utf-8", "replace")
    else:
        # Raw 8-bit names from old Windows/Latin-1 mailers.
        text = value.decode("cp1252", "replace")
    result = []
    for address in parse_address_list(text, problems):
        if address.address.isascii():
            result.append(address)
        else:
            # Non-ASCII addresses are only meaningful in UTF-8 (RFC 6532);
            # guessed from 8-bit bytes they would never match the real one.
            problems.append("bad-address:" + address.address[:40])
    return result


def _decode_plain(value: bytes) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("latin-1")
