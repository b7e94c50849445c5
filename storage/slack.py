"""Slack accounts, Slack Connect workspaces, thread progress and sync cursors."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aiosqlite

from storage.people import now_iso
from storage.sql import chunked, placeholders


@dataclass(frozen=True, slots=True)
class PersonFlags:
    """What Slack capture needs to know about a person already stored."""

    id: int
    display_name: str
    is_colleague: bool
    org_id: int | None
    slack_user_id: str | None
    is_bot: bool
    opted_out: bool


@dataclass(frozen=True, slots=True)
class SlackPersonFields:
    """The columns a Slack profile decides, for one person."""

    person_id: int
    display_name: str
    is_colleague: bool
    org_id: int | None
    team_id: str | None
    is_bot: bool
    is_deleted: bool
    tz: str | None


@dataclass(frozen=True, slots=True)
class TeamRow:
    team_id: str
    name: str
    email_domain: str | None
    org_id: int | None


async def person_ids_for_slack_users(
    db: aiosqlite.Connection, user_ids: Iterable[str]
) -> dict[str, int]:
    """Person id per Slack user id, from either the person row or the account map."""
    found: dict[str, int] = {}
    for chunk in chunked(sorted(set(user_ids)), 400):
        marks = placeholders(len(chunk))
        sql = (
            f"SELECT person_id, slack_user_id FROM slack_users"
            f" WHERE slack_user_id IN ({marks})"
        )
        async with db.execute(sql, chunk) as cursor:
            found.update({row[1]: row[0] for row in await cursor.fetchall()})
        # The person row wins: another part of the product may set it alone.
        sql = f"SELECT id, slack_user_id FROM people WHERE slack_user_id IN ({marks})"
        async with db.execute(sql, chunk) as cursor:
            found.update({row[1]: row[0] for row in await cursor.fetchall()})
    return found


async def people_flags(
    db: aiosqlite.Connection, person_ids: Iterable[int]
) -> dict[int, PersonFlags]:
    found: dict[int, PersonFlags] = {}
    for chunk in chunked(sorted(set(person_ids)), 500):
        sql = (
            "SELECT id, display_name, is_colleague, org_id, slack_user_id, is_bot,"
            f" opted_out FROM people WHERE id IN ({placeholders(len(chunk))})"
        )
        async with db.execute(sql, chunk) as cursor:
            for row in await cursor.fetchall():
                found[row[0]] = PersonFlags(
                    id=row[0],
                    display_name=row[1],
                    is_colleague=bool(row[2]),
                    org_id=row[3],
                    slack_user_id=row[4],
                    is_bot=bool(row[5]),
                    opted_out=bool(row[6]),
                )
    return found


async def insert_slack_people(
    db: aiosqlite.Connection, rows: list[tuple[int, str, str]]
) -> None:
    """Bare people known only by a Slack account: (id, display name, slack user id)."""
    created = now_iso()
    await db.executemany(
        "INSERT INTO people (id, display_name, slack_user_id, created_at)"
        " VALUES (?, ?, ?, ?)",
        [(pid, name, user_id, created) for pid, name, user_id in rows],
    )


async def insert_addresses(
    db: aiosqlite.Connection, rows: list[tuple[str, str, str, int]]
) -> None:
    """Addresses as (key, display, domain, person_id) for people already stored."""
    await db.executemany(
        "INSERT OR IGNORE INTO email_addresses"
        " (address_key, display, domain, person_id) VALUES (?, ?, ?, ?)",
        rows,
    )


async def update_slack_people(
    db: aiosqlite.Connection, rows: list[SlackPersonFields]
) -> None:
    """Write what the profiles say; an empty Slack name never erases a known one."""
    await db.executemany(
        "UPDATE people SET"
        " display_name = CASE WHEN ? != '' THEN ? ELSE display_name END,"
        " is_colleague = ?, org_id = ?, slack_team_id = ?, is_bot = ?,"
        " is_deleted = ?, tz = ?"
        " WHERE id = ?",
        [
            (
                r.display_name,
                r.display_name,
                int(r.is_colleague),
                r.org_id,
                r.team_id,
                int(r.is_bot),
                int(r.is_deleted),
                r.tz,
                r.person_id,
            )
            for r in rows
        ],
    )


async def link_slack_users(
    db: aiosqlite.Connection, rows: list[tuple[str, str | None, int]]
) -> None:
    """Map (slack user id, team id, person id); a person's first account is theirs."""
    await db.executemany(
        "INSERT INTO slack_users (slack_user_id, team_id, person_id) VALUES (?, ?, ?)"
        " ON CONFLICT(slack_user_id) DO UPDATE SET"
        " team_id = excluded.team_id, person_id = excluded.person_id",
        rows,
    )
    await db.executemany(
        "UPDATE people SET slack_user_id = ? WHERE id = ? AND slack_user_id IS NULL"
        " AND NOT EXISTS (SELECT 1 FROM people WHERE slack_user_id = ?)",
        [(user_id, pid, user_id) for user_id, _, pid in rows],
    )


async def org_ids_for_name_key(db: aiosqlite.Connection, key: str) -> list[int]:
    async with db.execute(
        "SELECT id FROM organisations WHERE name_key = ? ORDER BY id", (key,)
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def insert_organisation(
    db: aiosqlite.Connection,
    *,
    name: str,
    key: str,
    domain: str | None,
) -> int:
    """A new organisation (its domain optional: a workspace may show none); its id."""
    async with db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM organisations") as cur:
        org_id = int((await cur.fetchone())[0])
    await db.execute(
        "INSERT INTO organisations (id, name, name_key, created_at)"
        " VALUES (?, ?, ?, ?)",
        (org_id, name, key, now_iso()),
    )
    if domain:
        await db.execute(
            "INSERT INTO org_domains (domain, org_id) VALUES (?, ?)", (domain, org_id)
        )
    return org_id


async def teams(
    db: aiosqlite.Connection, team_ids: Iterable[str]
) -> dict[str, TeamRow]:
    found: dict[str, TeamRow] = {}
    for chunk in chunked(sorted(set(team_ids)), 500):
        sql = (
            "SELECT team_id, name, email_domain, org_id FROM slack_teams"
            f" WHERE team_id IN ({placeholders(len(chunk))})"
        )
        async with db.execute(sql, chunk) as cursor:
            for row in await cursor.fetchall():
                found[row[0]] = TeamRow(row[0], row[1], row[2], row[3])
    return found


async def save_team(db: aiosqlite.Connection, team: TeamRow) -> None:
    await db.execute(
        "INSERT INTO slack_teams (team_id, name, email_domain, org_id, updated_at)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT(team_id) DO UPDATE SET"
        " name = excluded.name, email_domain = excluded.email_domain,"
        " org_id = excluded.org_id, updated_at = excluded.updated_at",
        (team.team_id, team.name, team.email_domain, team.org_id, now_iso()),
    )


async def thread_progress(
    db: aiosqlite.Connection, channel_id: str, thread_ts: Iterable[str]
) -> dict[str, str]:
    """The newest reply already read, per thread of one channel."""
    found: dict[str, str] = {}
    for chunk in chunked(sorted(set(thread_ts)), 400):
        sql = (
            "SELECT thread_ts, latest_reply FROM slack_threads WHERE channel_id = ?"
            f" AND thread_ts IN ({placeholders(len(chunk))})"
        )
        async with db.execute(sql, [channel_id, *chunk]) as cursor:
            found.update({row[0]: row[1] for row in await cursor.fetchall()})
    return found


async def save_thread_progress(
    db: aiosqlite.Connection, channel_id: str, latest: dict[str, str]
) -> None:
    await db.executemany(
        "INSERT INTO slack_threads (channel_id, thread_ts, latest_reply)"
        " VALUES (?, ?, ?)"
        " ON CONFLICT(channel_id, thread_ts) DO UPDATE SET"
        " latest_reply = excluded.latest_reply",
        [(channel_id, ts, reply) for ts, reply in latest.items()],
    )


async def load_cursor(
    db: aiosqlite.Connection, *, source: str, scope: str
) -> str | None:
    async with db.execute(
        "SELECT cursor FROM sync_state WHERE source = ? AND scope = ?", (source, scope)
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def save_cursor(
    db: aiosqlite.Connection,
    *,
    source: str,
    scope: str,
    cursor: str | None,
    updated_at: str,
) -> None:
    """Call inside the transaction that committed the rows the cursor moves past."""
    await db.execute(
        "INSERT INTO sync_state (source, scope, cursor, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT(source, scope) DO UPDATE SET"
        " cursor = excluded.cursor, updated_at = excluded.updated_at",
        (source, scope, cursor, updated_at),
    )
