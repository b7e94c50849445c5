"""Interactions, the keys that recognise them again, and their participants."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field

import aiosqlite

from storage.people import max_id
from storage.sql import chunked, placeholders


@dataclass(slots=True)
class NewInteraction:
    """One interaction ready to store; people already resolved to ids."""

    keys: tuple[str, ...]
    source: str
    occurred_at: str  # ISO 8601 UTC
    kind: str  # email, slack, meeting, logged
    sender_id: int | None
    participants: dict[int, str] = field(default_factory=dict)  # person id -> role
    channel: str | None = None


def key_hash(key: str) -> int:
    """The stored form of an interaction key: a signed 64-bit hash.

    With two keys per message, a collision between different interactions
    has odds of about one in 10^7 at a billion keys; the cost of one would be
    a single message counted as a duplicate.
    """
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


async def existing_keys(db: aiosqlite.Connection, keys: Iterable[str]) -> set[str]:
    """Those of `keys` that an earlier interaction already carries."""
    by_hash = {key_hash(key): key for key in keys}
    found: set[str] = set()
    hashes = list(by_hash)
    for chunk in chunked(hashes, 900):
        sql = (
            "SELECT key_hash FROM interaction_keys"
            f" WHERE key_hash IN ({placeholders(len(chunk))})"
        )
        async with db.execute(sql, chunk) as cursor:
            found.update(by_hash[row[0]] for row in await cursor.fetchall())
    return found


async def insert_interactions(
    db: aiosqlite.Connection, items: list[NewInteraction]
) -> list[int]:
    """Insert in one go; the caller holds the write transaction and checked keys."""
    if not items:
        return []
    # Ids are allocated here rather than read back row by row: the caller's
    # IMMEDIATE transaction holds the write lock, so nobody else can take them.
    next_id = await max_id(db, "interactions") + 1
    ids = list(range(next_id, next_id + len(items)))
    await db.executemany(
        "INSERT INTO interactions (id, source, occurred_at, kind, channel, sender_id,"
        " participant_count) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
            (
                iid,
                it.source,
                it.occurred_at,
                it.kind,
                it.channel,
                it.sender_id,
                len(it.participants),
            )
            for iid, it in zip(ids, items, strict=True)
        ],
    )
    await db.executemany(
        "INSERT OR IGNORE INTO interaction_keys (key_hash, interaction_id)"
        " VALUES (?, ?)",
        [
            (key_hash(key), iid)
            for iid, it in zip(ids, items, strict=True)
            for key in it.keys
        ],
    )
    await db.executemany(
        "INSERT INTO interaction_participants (interaction_id, person_id, role)"
        " VALUES (?, ?, ?)",
        [
            (iid, pid, role)
            for iid, it in zip(ids, items, strict=True)
            for pid, role in it.participants.items()
        ],
    )
    return ids


async def count_rows(db: aiosqlite.Connection) -> dict[str, int]:
    """Row counts of the captured tables (used to prove re-imports change nothing)."""
    counts = {}
    for table in (
        "people",
        "email_addresses",
        "organisations",
        "org_domains",
        "interactions",
        "interaction_keys",
        "interaction_participants",
    ):
        async with db.execute(f"SELECT COUNT(*) FROM {table}") as cursor:
            counts[table] = (await cursor.fetchone())[0]
    return counts


async def record_import_run(
    db: aiosqlite.Connection,
    *,
    source: str,
    target: str,
    started_at: str,
    finished_at: str,
    counts: dict[str, int],
    details: str,
) -> None:
    """Keep a history of imports and syncs for admins (`import_runs`)."""
    await db.execute(
        "INSERT INTO import_runs (source, target, started_at, finished_at, imported,"
        " duplicates, automated, bad, details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            source,
            target,
            started_at,
            finished_at,
            counts.get("imported", 0),
            counts.get("duplicates", 0),
            counts.get("automated", 0),
            counts.get("bad", 0),
            details,
        ),
    )
