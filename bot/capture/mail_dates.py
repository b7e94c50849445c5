"""Tolerant parsing of email Date headers and mbox envelope dates into UTC."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import parsedate_tz

logger = logging.getLogger(__name__)

_MONTHS = {
    name: number
    for number, name in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct")
        + ("nov", "dec"),
        start=1,
    )
}

# Named zones in minutes east of UTC. RFC 5322 only defines the US ones and
# UT/GMT/Z; the rest are what real mailers (Japanese phones, European MUAs)
# write. Ambiguous abbreviations (IST, CST as China time) are left out on
# purpose: a wrong guess would silently shift the date by hours.
_ZONES = {
    "ut": 0, "utc": 0, "gmt": 0, "z": 0, "wet": 0,
    "est": -300, "edt": -240, "cst": -360, "cdt": -300,
    "mst": -420, "mdt": -360, "pst": -480, "pdt": -420,
    "ast": -240, "adt": -180, "nst": -210, "ndt": -150,
    "akst": -540, "akdt": -480, "hst": -600,
    "bst": 60, "cet": 60, "met": 60, "mez": 60, "west": 60,
    "cest": 120, "mest": 120, "mesz": 120, "eet": 120, "sast": 120,
    "eest": 180, "msk": 180,
    "sgt": 480, "hkt": 480, "awst": 480,
    "jst": 540, "kst": 540,
    "aest": 600, "acst": 570, "aedt": 660, "nzst": 720, "nzdt": 780,
}  # fmt: skip

_TZ_CACHE: dict[int, timezone] = {0: UTC}

# "[Day,] DD Mon YYYY HH:MM[:SS] [zone]": the RFC 5322 shape with the obsolete
# freedoms (two-digit years, missing seconds, any day-name junk before it).
_RFC_DATE = re.compile(
    r"(?:[A-Za-z_]+\s*,?\s*)?(\d{1,2})[\s-]*([A-Za-z]{3})[A-Za-z]*\.?[\s-]*"
    r"(\d{2,4})\s+(\d{1,2})\s*:\s*(\d{1,2})(?:\s*:\s*(\d{1,2}))?(?:\.\d+)?\s*(\S*)"
)
# "2002/09/14 Sat 13:06:03 GMT", "2002-09-14T13:06:03Z", "2002.09.14 13:06".
_NUMERIC_DATE = re.compile(
    r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T\s]+(?:[A-Za-z]+,?\s+)?"
    r"(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*(\S*))?"
)
# asctime, as in mbox "From " lines: "Thu Apr 14 11:06:56 2016", with an
# optional zone either before or after the year.
_ASCTIME = re.compile(
    r"([A-Za-z]{3})[A-Za-z]*\s+(\d{1,2})\s+(\d{1,2}):(\d{2})(?::(\d{2}))?"
    r"(?:\s+([A-Za-z]{1,5}|[+-]\d{4}))?\s+(\d{4})(?:\s+([+-]\d{4}|[A-Za-z]{1,5}))?"
)
_COMMENT = re.compile(r"\([^()]*\)")
_NUMERIC_ZONE = re.compile(r"([+-])(\d{2}):?(\d{2})$|([+-])(\d{1,2})$")

# Dates outside this window come from broken clocks ("Jun 3609"); treating
# them as real would put a contact decades into the future or past.
_MIN_YEAR = 1900
_MAX_YEAR = 2100


class DateParse:
    """Outcome of parsing one Date value: the instant plus notes on its quality."""

    __slots__ = ("when", "notes")

    def __init__(self, when: datetime | None, notes: tuple[str, ...] = ()) -> None:
        self.when = when
        self.notes = notes


def parse_mail_date(value: str) -> DateParse:
    """Parse a Date header value; ``when`` is None when it cannot be trusted."""
    text = value.strip()
    if not text:
        return DateParse(None)
    match = _RFC_DATE.match(text)
    if match is None or match.group(7).startswith("("):
        # Comments may sit anywhere, even between hour and minute (RFC 5322
        # A.6.3); a trailing "(PDT)" after the zone needs no removal.
        text = _without_comments(text)
        if not text:
            return DateParse(None)
        match = _RFC_DATE.match(text)

    if match is not None:
        day, month, year, hour, minute, second, zone = match.groups()
        month_number = _MONTHS.get(month.lower())
        if month_number is not None:
            return _build(
                _full_year(year), month_number, int(day), hour, minute, second, zone
            )

    parsed = _parse_unusual(text)
    if parsed.when is not None:
        return DateParse(parsed.when, ("date-nonstandard",) + parsed.notes)
    return parsed


def _without_comments(text: str) -> str:
    for _ in range(3):  # nested comments come off one level per pass
        if "(" not in text:
            break
        text = _COMMENT.sub(" ", text)
    return " ".join(text.split())


def parse_envelope_date(line: bytes) -> datetime | None:
    """Date from an mbox "From sender asctime" separator line, as UTC."""
    text = line.decode("latin-1")
    match = _ASCTIME.search(text)
    if match is None:
        return None
    month, day, hour, minute, second, zone_a, year, zone_b = match.groups()
    month_number = _MONTHS.get(month.lower())
    if month_number is None:
        return None
    # Envelope times without a zone are the delivery host's clock; UTC is the
    # usual convention (mboxrd from public-inbox, Python's mailbox module).
    parsed = _build(
        int(year), month_number, int(day), hour, minute, second, zone_a or zone_b or ""
    )
    return parsed.when


def _parse_unusual(text: str) -> DateParse:
    match = _NUMERIC_DATE.search(text)
    if match is not None:
        year, month, day, hour, minute, second, zone = match.groups()
        return _build(
            int(year), int(month), int(day), hour or "0", minute or "0", second,
            zone or "",
        )  # fmt: skip
    match = _ASCTIME.search(text)
    if match is not None:
        month, day, hour, minute, second, zone_a, year, zone_b = match.groups()
        month_number = _MONTHS.get(month.lower())
        if month_number is not None:
            return _build(
                int(year), month_number, int(day), hour, minute, second,
                zone_a or zone_b or "",
            )  # fmt: skip
    # Last resort: the standard library knows a few more oddities.
    try:
        fields = parsedate_tz(text)
    except (ValueError, TypeError, IndexError, OverflowError):
        fields = None
    if fields is None:
        return DateParse(None)
    year, month_number, day, hour, minute, second = fields[:6]
    offset = fields[9]
    try:
        when = datetime(year, month_number, day, hour, minute, second, tzinfo=UTC)
    except (ValueError, OverflowError):
        return DateParse(None)
    if offset:
        try:
            when -= timedelta(seconds=offset)
        except OverflowError:
            return DateParse(None, ("date-out-of-range",))
    return _checked(when, ())


def _build(
    year: int,
    month: int,
    day: int,
    hour: str,
    minute: str,
    second: str | None,
    zone: str,
) -> DateParse:
    offset, notes = _zone_offset(zone)
    try:
        local = datetime(
            year, month, day, int(hour), int(minute), int(second or 0),
            tzinfo=_tz(offset),
        )  # fmt: skip
    except (ValueError, OverflowError):
        return DateParse(None)
    try:
        when = local.astimezone(UTC)
    except OverflowError:
        # Year 1 at +23:59 or year 9999 at -23:59 exists locally but not in
        # UTC; such a date is out of range, never a reason to stop an import.
        return DateParse(None, ("date-out-of-range",))
    return _checked(when, notes)


def _checked(when: datetime, notes: tuple[str, ...]) -> DateParse:
    if not _MIN_YEAR <= when.year <= _MAX_YEAR:
        return DateParse(None, ("date-out-of-range",))
    return DateParse(when, notes)


def _zone_offset(zone: str) -> tuple[int, tuple[str, ...]]:
    """Minutes east of UTC for a zone token, plus a note when it was guessed."""
    if not zone:
        return 0, ("date-zone-missing",)
    first = zone[0]
    if first == "+" or first == "-":
        match = _NUMERIC_ZONE.match(zone)
        if match is not None:
            if match.group(1):
                sign, hours, minutes = match.group(1), match.group(2), match.group(3)
            else:
                sign, hours, minutes = match.group(4), match.group(5), "0"
            offset = int(hours) * 60 + int(minutes)
            if int(minutes) < 60 and offset < 24 * 60:
                return (-offset if sign == "-" else offset), ()
        return 0, ("date-zone:" + zone[:12],)
    named = _ZONES.get(zone.lower())
    if named is not None:
        return named, ()
    lowered = zone.lower()
    for prefix in ("gmt", "utc", "ut"):
        # "GMT+0200", "UTC-5": a named base plus a numeric offset.
        if lowered.startswith(prefix) and len(zone) > len(prefix):
            offset, notes = _zone_offset(zone[len(prefix) :])
            if not notes:
                return offset, ()
    return 0, ("date-zone:" + zone[:12],)


def _full_year(text: str) -> int:
    year = int(text)
    if len(text) == 2:
        # RFC 5322 4.3: 00-49 are 2000-2049, 50-99 are 1950-1999.
        return year + (2000 if year < 50 else 1900)
    if len(text) == 3:
        return year + 1900
    return year


def _tz(offset_minutes: int) -> timezone:
    tz = _TZ_CACHE.get(offset_minutes)
    if tz is None:
        tz = timezone(timedelta(minutes=offset_minutes))
        _TZ_CACHE[offset_minutes] = tz
    return tz
