"""People, their email addresses and organisations: rows and lookups."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.sql import fetch_map, placeholders


@dataclass(frozen=True, slots=True)
class PersonRow:
    id: int
    display_name: str
    is_colleague: bool
    org_id: int | None
    slack_user_id: str | None
    email: str | None
    opted_out: bool = False


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


async def max_id(db: aiosqlite.Connection, table: str) -> int:
    async with db.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}") as cursor:
        row = await cursor.fetchone()
    return int(row[0])


async def person_ids_for_addresses(
    db: aiosqlite.Connection, keys: Iterable[str]
) -> dict[str, int]:
    return await fetch_map(
        db,
        "SELECT address_key, person_id FROM email_addresses WHERE address_key IN ({})",
        list(keys),
    )


async def org_ids_for_domains(
    db: aiosqlite.Connection, domains: Iterable[str]
) -> dict[str, int]:
    return await fetch_map(
        db, "SELECT domain, org_id FROM org_domains WHERE domain IN ({})", list(domains)
    )


async def insert_organisations(
    db: aiosqlite.Connection, rows: list[tuple[int, str, str, str]]
) -> None:
    """Rows of (id, name, name_key, domain)."""
    created = now_iso()
    await db.executemany(
        "INSERT INTO organisations (id, name, name_key, created_at)"
        " VALUES (?, ?, ?, ?)",
        [(oid, name, key, created) for oid, name, key, _ in rows],
    )
    await db.executemany(
        "INSERT INTO org_domains (domain, org_id) VALUES (?, ?)",
        [(domain, oid) for oid, _, _, domain in rows],
    )


async def insert_people(
    db: aiosqlite.Connection,
    people: list[tuple[int, str, bool, int | None]],
    addresses: list[tuple[str, str, str, int]],
) -> None:
    """Insert people and their addresses.

    People are (id, name, is_colleague, org_id); addresses are
    (key, display, domain, person_id).
    """
    created = now_iso()
    await db.executemany(
        "INSERT INTO people (id, display_name, is_colleague, org_id, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        [
            (pid, name, int(colleague), org, created)
            for pid, name, colleague, org in people
        ],
    )
    await db.executemany(
        "INSERT INTO email_addresses (address_key, display, domain, person_id)"
        " VALUES (?, ?, ?, ?)",
        addresses,
    )


async def fill_missing_names(db: aiosqlite.Connection, names: dict[int, str]) -> None:
    """Give a name to people first seen without one; never overwrite a name."""
    await db.executemany(
        "UPDATE people SET display_name = ? WHERE id = ? AND display_name = ''",
        [(name, pid) for pid, name in names.items()],
    )


async def get_person(db: aiosqlite.Connection, person_id: int) -> PersonRow | None:
    rows = await _people_where(db, "p.id = ?", (person_id,))
    return rows[0] if rows else None


async def people_by_ids(
    db: aiosqlite.Connection, person_ids: Iterable[int]
) -> dict[int, PersonRow]:
    """Many people in one query (no query per person)."""
    ids = sorted(set(person_ids))
    if not ids:
        return {}
    rows = await _people_where(db, f"p.id IN ({placeholders(len(ids))})", tuple(ids))
    return {row.id: row for row in rows}


async def person_by_slack_id(
    db: aiosqlite.Connection, slack_user_id: str
) -> PersonRow | None:
    rows = await _people_where(db, "p.slack_user_id = ?", (slack_user_id,))
    return rows[0] if rows else None


async def person_by_address(db: aiosqlite.Connection, key: str) -> PersonRow | None:
    rows = await _people_where(
        db,
        "p.id = (SELECT person_id FROM email_addresses WHERE address_key = ?)",
        (key,),
    )
    return rows[0] if rows else None


async def _people_where(
    db: aiosqlite.Connection, where: str, params: tuple
) -> list[PersonRow]:
    # The first address by key order is the one shown; stable across runs.
    sql = (
        "SELECT p.id, p.display_name, p.is_colleague, p.org_id, p.slack_user_id,"
        " p.opted_out,"
        " (SELECT display FROM email_addresses e WHERE e.person_id = p.id"
        "  ORDER BY e.address_key LIMIT 1) AS email"
        f" FROM people p WHERE {where}"
    )
    async with db.execute(sql, params) as cursor:
        rows = await cursor.fetchall()
    return [
        PersonRow(
            id=row[0],
            display_name=row[1],
            is_colleague=bool(row[2]),
            org_id=row[3],
            slack_user_id=row[4],
            opted_out=bool(row[5]),
            email=row[6],
        )
        for row in rows
    ]


async def org_id_for_domain(db: aiosqlite.Connection, domain: str) -> int | None:
    async with db.execute(
        "SELECT org_id FROM org_domains WHERE domain = ?", (domain.lower(),)
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def rename_organisation(
    db: aiosqlite.Connection, org_id: int, name: str, name_key: str
) -> None:
    await db.execute(
        "UPDATE organisations SET name = ?, name_key = ?, renamed = 1 WHERE id = ?",
        (name, name_key, org_id),
    )


async def promote_internal_people(
    db: aiosqlite.Connection, internal_domains: tuple[str, ...]
) -> int:
    """Mark everyone with an address on the firm's domains as a colleague.

    People first seen before RAPPORT_INTERNAL_DOMAINS named a domain were
    stored as outside contacts; this puts them right on the next import or
    sync. Nobody is demoted: Slack membership also makes colleagues.
    """
    promoted = 0
    for domain in internal_domains:
        cursor = await db.execute(
            "UPDATE people SET is_colleague = 1, org_id = NULL"
            " WHERE is_colleague = 0 AND id IN (SELECT person_id FROM email_addresses"
            "  WHERE domain = ? OR domain LIKE '%.' || ?)",
            (domain, domain),
        )
        promoted += cursor.rowcount
    return promoted
