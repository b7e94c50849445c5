"""Small helpers shared by the query modules."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import TypeVar

import aiosqlite

T = TypeVar("T")


async def fetch_map(
    db: aiosqlite.Connection, sql: str, values: Sequence, *, size: int = 500
) -> dict:
    """Run `sql` (two columns, `{}` where the IN list goes) over `values` in chunks."""
    found: dict = {}
    for chunk in chunked(list(values), size):
        async with db.execute(sql.format(placeholders(len(chunk))), chunk) as cursor:
            found.update({row[0]: row[1] for row in await cursor.fetchall()})
    return found


def placeholders(count: int) -> str:
    return ",".join("?" * count)


def chunked(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# [0-9], not \d or str.isdigit(): those also take "²" and other digits int()
# refuses. 19 digits reach SQLite's largest INTEGER, 2**63 - 1.
_ROW_ID_RE = re.compile(r"[0-9]{1,19}")
_MAX_ROW_ID = 2**63 - 1


def parse_row_id(value: object) -> int | None:
    """A database id from a button value or a form ref; None if it cannot be one.

    Anything but ASCII digits within SQLite's 64-bit range reads as None, so a
    forged or garbled value is "not found" rather than an error: a longer
    number makes SQLite raise OverflowError when it is bound.
    """
    if not isinstance(value, str) or not _ROW_ID_RE.fullmatch(value):
        return None
    number = int(value)
    return number if number <= _MAX_ROW_ID else None
