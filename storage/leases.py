"""Named leases in the database: one holder at a time across every process."""

from __future__ import annotations

from datetime import datetime, timedelta

import aiosqlite

from storage.digests import iso


async def acquire_lease(
    db: aiosqlite.Connection,
    name: str,
    *,
    owner: str,
    now: datetime,
    ttl: timedelta,
) -> bool:
    """Take or extend `name` for `owner` unless someone else holds it unexpired.

    One statement, so it is atomic without a transaction of its own (and can
    renew a lease while the holder's own transaction is open). A holder that
    died keeps the lease only until it expires.
    """
    cursor = await db.execute(
        "INSERT INTO leases (name, owner, expires_at) VALUES (?, ?, ?)"
        " ON CONFLICT (name) DO UPDATE"
        " SET owner = excluded.owner, expires_at = excluded.expires_at"
        " WHERE leases.owner = excluded.owner OR leases.expires_at <= ?",
        (name, owner, iso(now + ttl), iso(now)),
    )
    return cursor.rowcount == 1


async def release_lease(db: aiosqlite.Connection, name: str, *, owner: str) -> None:
    await db.execute("DELETE FROM leases WHERE name = ? AND owner = ?", (name, owner))


async def lease_holder(db: aiosqlite.Connection, name: str) -> str | None:
    async with db.execute("SELECT owner FROM leases WHERE name = ?", (name,)) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None
