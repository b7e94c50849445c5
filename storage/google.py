"""Gmail and Calendar capture state: cursors, pending messages, problem users."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from storage.sql import chunked, placeholders

GMAIL = "gmail"
CALENDAR = "calendar"


@dataclass(frozen=True, slots=True)
class FullSync:
    mailbox: str
    history_id: str
    page_token: str | None
    listed: int
    floor: str
    listing_done: bool


@dataclass(frozen=True, slots=True)
class Pending:
    message_id: str
    history_id: int | None
    attempts: int


@dataclass(frozen=True, slots=True)
class Upcoming:
    calendar: str
    event_id: str
    meeting_key: str
    starts_at: str
    organizer: str | None
    attendees: str  # JSON


@dataclass(frozen=True, slots=True)
class ProblemUser:
    mailbox: str
    api: str
    reason: str
    first_seen_at: str
    last_seen_at: str


# ---- whose mail and calendar are read -------------------------------------------


async def colleague_addresses(
    db: aiosqlite.Connection,
) -> list[tuple[int, bool, str, str]]:
    """(person id, has a Slack id, address key, domain) of readable colleagues.

    Colleagues who opted out, left (deleted) or are bots are never read.
    """
    sql = (
        "SELECT p.id, p.slack_user_id IS NOT NULL, e.address_key, e.domain"
        " FROM people p JOIN email_addresses e ON e.person_id = p.id"
        " WHERE p.is_colleague = 1 AND p.opted_out = 0 AND p.is_deleted = 0"
        " AND p.is_bot = 0 ORDER BY p.id, e.address_key"
    )
    async with db.execute(sql) as cursor:
        return [(r[0], bool(r[1]), r[2], r[3]) for r in await cursor.fetchall()]


async def unreadable_addresses(
    db: aiosqlite.Connection, keys: Iterable[str]
) -> set[str]:
    """Those of `keys` that belong to people who opted out, left or are bots."""
    found: set[str] = set()
    for chunk in chunked(list(keys), 500):
        sql = (
            "SELECT e.address_key FROM email_addresses e"
            " JOIN people p ON p.id = e.person_id"
            f" WHERE e.address_key IN ({placeholders(len(chunk))})"
            " AND (p.opted_out = 1 OR p.is_deleted = 1 OR p.is_bot = 1)"
        )
        async with db.execute(sql, chunk) as cursor:
            found.update(row[0] for row in await cursor.fetchall())
    return found


# ---- cursors (sync_state) ---------------------------------------------------------


async def get_cursor(
    db: aiosqlite.Connection, source: str, scope: str
) -> tuple[str | None, str | None]:
    """(cursor, updated_at) for one source and mailbox; (None, None) if never set."""
    async with db.execute(
        "SELECT cursor, updated_at FROM sync_state WHERE source = ? AND scope = ?",
        (source, scope),
    ) as cursor:
        row = await cursor.fetchone()
    return (row[0], row[1]) if row else (None, None)


async def set_cursor(
    db: aiosqlite.Connection, source: str, scope: str, value: str | None, *, now: str
) -> None:
    await db.execute(
        "INSERT INTO sync_state (source, scope, cursor, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (source, scope) DO UPDATE"
        " SET cursor = excluded.cursor, updated_at = excluded.updated_at",
        (source, scope, value, now),
    )


# ---- Gmail full listings ----------------------------------------------------------


async def get_full_sync(db: aiosqlite.Connection, mailbox: str) -> FullSync | None:
    async with db.execute(
        "SELECT mailbox, history_id, page_token, listed, floor, listing_done"
        " FROM gmail_full_syncs WHERE mailbox = ?",
        (mailbox,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return FullSync(row[0], row[1], row[2], row[3], row[4], bool(row[5]))


async def start_full_sync(
    db: aiosqlite.Connection, mailbox: str, *, history_id: str, floor: str, now: str
) -> FullSync:
    await db.execute(
        "INSERT OR REPLACE INTO gmail_full_syncs"
        " (mailbox, history_id, page_token, listed, floor, listing_done, started_at)"
        " VALUES (?, ?, NULL, 0, ?, 0, ?)",
        (mailbox, history_id, floor, now),
    )
    return FullSync(mailbox, history_id, None, 0, floor, False)


async def advance_full_sync(
    db: aiosqlite.Connection,
    mailbox: str,
    *,
    page_token: str | None,
    listed: int,
    listing_done: bool,
) -> None:
    await db.execute(
        "UPDATE gmail_full_syncs SET page_token = ?, listed = ?, listing_done = ?"
        " WHERE mailbox = ?",
        (page_token, listed, int(listing_done), mailbox),
    )


async def end_full_sync(db: aiosqlite.Connection, mailbox: str) -> None:
    await db.execute("DELETE FROM gmail_full_syncs WHERE mailbox = ?", (mailbox,))


# ---- Gmail pending messages -------------------------------------------------------


async def add_pending(
    db: aiosqlite.Connection, mailbox: str, items: Iterable[tuple[str, int | None]]
) -> None:
    """Queue (message id, history record id) pairs; queued ids are left alone."""
    await db.executemany(
        "INSERT OR IGNORE INTO gmail_pending (mailbox, message_id, history_id)"
        " VALUES (?, ?, ?)",
        [(mailbox, message_id, hid) for message_id, hid in items],
    )


async def pending(db: aiosqlite.Connection, mailbox: str) -> list[Pending]:
    async with db.execute(
        "SELECT message_id, history_id, attempts FROM gmail_pending"
        " WHERE mailbox = ? ORDER BY history_id, message_id",
        (mailbox,),
    ) as cursor:
        return [Pending(r[0], r[1], r[2]) for r in await cursor.fetchall()]


async def count_pending(db: aiosqlite.Connection, mailbox: str) -> int:
    async with db.execute(
        "SELECT COUNT(*) FROM gmail_pending WHERE mailbox = ?", (mailbox,)
    ) as cursor:
        return (await cursor.fetchone())[0]


async def lowest_pending_history(db: aiosqlite.Connection, mailbox: str) -> int | None:
    async with db.execute(
        "SELECT MIN(history_id) FROM gmail_pending WHERE mailbox = ?", (mailbox,)
    ) as cursor:
        return (await cursor.fetchone())[0]


async def remove_pending(
    db: aiosqlite.Connection, mailbox: str, message_ids: Iterable[str]
) -> None:
    await db.executemany(
        "DELETE FROM gmail_pending WHERE mailbox = ? AND message_id = ?",
        [(mailbox, message_id) for message_id in message_ids],
    )


async def count_failed_attempt(
    db: aiosqlite.Connection, mailbox: str, message_ids: Iterable[str]
) -> None:
    await db.executemany(
        "UPDATE gmail_pending SET attempts = attempts + 1"
        " WHERE mailbox = ? AND message_id = ?",
        [(mailbox, message_id) for message_id in message_ids],
    )


async def abandon_pending(
    db: aiosqlite.Connection, mailbox: str, *, max_attempts: int
) -> int:
    """Drop messages that failed in `max_attempts` runs; return how many."""
    cursor = await db.execute(
        "DELETE FROM gmail_pending WHERE mailbox = ? AND attempts >= ?",
        (mailbox, max_attempts),
    )
    return cursor.rowcount


# ---- upcoming meetings ------------------------------------------------------------


async def put_upcoming(db: aiosqlite.Connection, rows: Iterable[Upcoming]) -> None:
    await db.executemany(
        "INSERT OR REPLACE INTO calendar_upcoming"
        " (calendar, event_id, meeting_key, starts_at, organizer, attendees)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        [
            (
                r.calendar,
                r.event_id,
                r.meeting_key,
                r.starts_at,
                r.organizer,
                r.attendees,
            )
            for r in rows
        ],
    )


async def delete_upcoming(
    db: aiosqlite.Connection, calendar: str, event_ids: Iterable[str]
) -> None:
    await db.executemany(
        "DELETE FROM calendar_upcoming WHERE calendar = ? AND event_id = ?",
        [(calendar, event_id) for event_id in event_ids],
    )


async def due_upcoming(
    db: aiosqlite.Connection, calendar: str, *, before: str
) -> list[Upcoming]:
    """Kept meetings of `calendar` that started before `before` (ISO UTC)."""
    async with db.execute(
        "SELECT calendar, event_id, meeting_key, starts_at, organizer, attendees"
        " FROM calendar_upcoming WHERE calendar = ? AND starts_at < ?"
        " ORDER BY starts_at",
        (calendar, before),
    ) as cursor:
        return [Upcoming(*row) for row in await cursor.fetchall()]


# ---- problem users ----------------------------------------------------------------


async def record_problem(
    db: aiosqlite.Connection, mailbox: str, api: str, reason: str, *, now: str
) -> None:
    await db.execute(
        "INSERT INTO google_problem_users"
        " (mailbox, api, reason, first_seen_at, last_seen_at) VALUES (?, ?, ?, ?, ?)"
        " ON CONFLICT (mailbox, api) DO UPDATE"
        " SET reason = excluded.reason, last_seen_at = excluded.last_seen_at",
        (mailbox, api, reason, now, now),
    )


async def clear_problem(db: aiosqlite.Connection, mailbox: str, api: str) -> None:
    await db.execute(
        "DELETE FROM google_problem_users WHERE mailbox = ? AND api = ?",
        (mailbox, api),
    )


async def problem_users(db: aiosqlite.Connection) -> list[ProblemUser]:
    """Colleagues whose Google data cannot be read, for telling admins."""
    async with db.execute(
        "SELECT mailbox, api, reason, first_seen_at, last_seen_at"
        " FROM google_problem_users ORDER BY mailbox, api"
    ) as cursor:
        return [ProblemUser(*row) for row in await cursor.fetchall()]


# ---- forgetting an account --------------------------------------------------------


async def forget_account(db: aiosqlite.Connection, mailbox: str) -> None:
    """Drop every Google capture state kept for `mailbox` (on opt-out).

    Cursors, queued message ids and meetings held from their calendar go, so
    nothing read before the opt-out is stored later and a later opt-in
    starts from a fresh listing. The caller holds the transaction.
    """
    for sql in (
        "DELETE FROM sync_state WHERE source IN ('gmail', 'calendar') AND scope = ?",
        "DELETE FROM gmail_full_syncs WHERE mailbox = ?",
        "DELETE FROM gmail_pending WHERE mailbox = ?",
        "DELETE FROM calendar_upcoming WHERE calendar = ?",
        "DELETE FROM google_problem_users WHERE mailbox = ?",
    ):
        await db.execute(sql, (mailbox,))
