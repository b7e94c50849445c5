"""Logged interactions, their contacts and follow-ups: rows, lookups, visibility.

Visibility is applied here, in SQL, so no caller can forget it: an entry marked
"only me" (stored as 'private') is returned only when the viewer is its logger.
A call without a viewer sees team entries only.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import aiosqlite

from storage.people import max_id

# Re-exported: the CRM resolves Slack users with the same lookup as capture,
# which also knows people's second Slack accounts.
from storage.slack import person_ids_for_slack_users  # noqa: F401
from storage.sql import chunked, placeholders

KINDS = ("call", "meeting", "email", "note", "other")
VISIBILITIES = ("team", "private")


@dataclass(frozen=True, slots=True)
class NewLogged:
    """One logged interaction ready to store; people and organisation resolved."""

    client_token: str
    logger_id: int
    kind: str
    occurred_at: str  # ISO 8601 UTC
    note: str
    visibility: str = "team"
    org_id: int | None = None
    interaction_id: int | None = None
    permalink: str | None = None
    contact_ids: tuple[int, ...] = ()
    followup_on: str | None = None  # YYYY-MM-DD


@dataclass(frozen=True, slots=True)
class LoggedInteraction:
    id: int
    interaction_id: int | None
    org_id: int | None
    org_name: str | None
    logger_id: int
    logger_name: str
    logger_slack_id: str | None
    kind: str
    occurred_at: str
    note: str
    permalink: str | None
    visibility: str
    created_at: str
    contact_ids: tuple[int, ...] = ()
    contact_names: tuple[str, ...] = ()

    @property
    def private(self) -> bool:
        return self.visibility == "private"


@dataclass(frozen=True, slots=True)
class FollowUp:
    id: int
    logged_id: int
    due_on: str  # the effective date: the snooze date when snoozed
    done_at: str | None
    owner_id: int
    owner_name: str
    owner_slack_id: str | None
    org_id: int | None
    org_name: str | None
    kind: str
    note: str
    visibility: str


@dataclass(frozen=True, slots=True)
class OrgRow:
    id: int
    name: str
    domains: tuple[str, ...]


def iso(moment: datetime | date | str) -> str:
    """The stored spelling of a moment: ISO 8601 in UTC (dates as midnight UTC)."""
    if isinstance(moment, str):
        return moment
    if not isinstance(moment, datetime):
        moment = datetime(moment.year, moment.month, moment.day, tzinfo=UTC)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat()


def day(moment: datetime | date | str) -> str:
    """A YYYY-MM-DD day from a date, a datetime (its UTC day) or such a string."""
    if isinstance(moment, str):
        return moment[:10]
    if isinstance(moment, datetime):
        return iso(moment)[:10]
    return moment.isoformat()


# Logged interactions ------------------------------------------------------------


async def insert_logged(
    db: aiosqlite.Connection, item: NewLogged, *, created_at: str
) -> int:
    """Store an entry with its contacts and follow-up; caller holds transaction()."""
    if item.kind not in KINDS:
        raise ValueError(f"unknown kind {item.kind!r}")
    if item.visibility not in VISIBILITIES:
        raise ValueError(f"unknown visibility {item.visibility!r}")
    logged_id = await max_id(db, "logged_interactions") + 1
    await db.execute(
        "INSERT INTO logged_interactions (id, interaction_id, org_id, logger_id, kind,"
        " occurred_at, note, permalink, visibility, client_token, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            logged_id,
            item.interaction_id,
            item.org_id,
            item.logger_id,
            item.kind,
            item.occurred_at,
            item.note,
            item.permalink,
            item.visibility,
            item.client_token,
            created_at,
        ),
    )
    await db.executemany(
        "INSERT OR IGNORE INTO logged_contacts (logged_id, person_id) VALUES (?, ?)",
        [(logged_id, pid) for pid in item.contact_ids],
    )
    if item.followup_on:
        await db.execute(
            "INSERT INTO followups (logged_id, due_on) VALUES (?, ?)",
            (logged_id, item.followup_on),
        )
    return logged_id


async def logged_id_for_token(
    db: aiosqlite.Connection, client_token: str
) -> int | None:
    async with db.execute(
        "SELECT id FROM logged_interactions WHERE client_token = ?", (client_token,)
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


def _visible(viewer_person_id: int | None, params: dict) -> str:
    if viewer_person_id is None:
        return "li.visibility = 'team'"
    params["viewer"] = viewer_person_id
    return "(li.visibility = 'team' OR li.logger_id = :viewer)"


def _logged_filters(
    *,
    org_id: int | None,
    since: datetime | date | str | None,
    until: datetime | date | str | None,
    viewer_person_id: int | None,
    logger_id: int | None,
) -> tuple[str, dict]:
    params: dict = {}
    where = [_visible(viewer_person_id, params)]
    if org_id is not None:
        where.append("li.org_id = :org")
        params["org"] = org_id
    if logger_id is not None:
        where.append("li.logger_id = :logger")
        params["logger"] = logger_id
    if since is not None:
        where.append("li.occurred_at >= :since")
        params["since"] = iso(since)
    if until is not None:
        where.append("li.occurred_at < :until")
        params["until"] = iso(until)
    return " AND ".join(where), params


async def logged_interactions(
    db: aiosqlite.Connection,
    *,
    org_id: int | None = None,
    since: datetime | date | str | None = None,
    until: datetime | date | str | None = None,
    viewer_person_id: int | None = None,
    logger_id: int | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[LoggedInteraction]:
    """Logged interactions the viewer may see, newest first.

    `since` is inclusive and `until` exclusive. Without a viewer only team
    entries are returned; with one, also that person's own "only me" entries.
    """
    where, params = _logged_filters(
        org_id=org_id,
        since=since,
        until=until,
        viewer_person_id=viewer_person_id,
        logger_id=logger_id,
    )
    return await _select_logged(db, where, params, limit=limit, offset=offset)


async def _select_logged(
    db: aiosqlite.Connection,
    where: str,
    params: dict,
    *,
    limit: int | None = None,
    offset: int = 0,
) -> list[LoggedInteraction]:
    params.update(limit=-1 if limit is None else limit, offset=offset)
    sql = (
        "SELECT li.id, li.interaction_id, li.org_id, o.name, li.logger_id,"
        " p.display_name, p.slack_user_id, li.kind, li.occurred_at, li.note,"
        " li.permalink, li.visibility, li.created_at"
        " FROM logged_interactions li"
        " JOIN people p ON p.id = li.logger_id"
        " LEFT JOIN organisations o ON o.id = li.org_id"
        f" WHERE {where}"
        " ORDER BY li.occurred_at DESC, li.id DESC LIMIT :limit OFFSET :offset"
    )
    async with db.execute(sql, params) as cursor:
        rows = await cursor.fetchall()
    contacts = await _contacts_of([row[0] for row in rows], db)
    return [
        LoggedInteraction(
            id=row[0],
            interaction_id=row[1],
            org_id=row[2],
            org_name=row[3],
            logger_id=row[4],
            logger_name=row[5],
            logger_slack_id=row[6],
            kind=row[7],
            occurred_at=row[8],
            note=row[9],
            permalink=row[10],
            visibility=row[11],
            created_at=row[12],
            contact_ids=tuple(pid for pid, _ in contacts.get(row[0], [])),
            contact_names=tuple(name for _, name in contacts.get(row[0], [])),
        )
        for row in rows
    ]


async def count_logged(
    db: aiosqlite.Connection,
    *,
    org_id: int | None = None,
    viewer_person_id: int | None = None,
    logger_id: int | None = None,
) -> int:
    where, params = _logged_filters(
        org_id=org_id,
        since=None,
        until=None,
        viewer_person_id=viewer_person_id,
        logger_id=logger_id,
    )
    sql = f"SELECT COUNT(*) FROM logged_interactions li WHERE {where}"
    async with db.execute(sql, params) as cursor:
        return (await cursor.fetchone())[0]


async def get_logged(
    db: aiosqlite.Connection, logged_id: int, *, viewer_person_id: int | None
) -> LoggedInteraction | None:
    """One entry, or None when it does not exist or the viewer may not see it."""
    params: dict = {"id": logged_id}
    where = f"li.id = :id AND {_visible(viewer_person_id, params)}"
    found = await _select_logged(db, where, params)
    return found[0] if found else None


async def _contacts_of(
    logged_ids: list[int], db: aiosqlite.Connection
) -> dict[int, list[tuple[int, str]]]:
    found: dict[int, list[tuple[int, str]]] = {}
    for chunk in chunked(logged_ids, 500):
        sql = (
            "SELECT lc.logged_id, p.id, p.display_name,"
            " (SELECT display FROM email_addresses e WHERE e.person_id = p.id"
            "  ORDER BY e.address_key LIMIT 1)"
            " FROM logged_contacts lc JOIN people p ON p.id = lc.person_id"
            f" WHERE lc.logged_id IN ({placeholders(len(chunk))})"
            " ORDER BY p.display_name, p.id"
        )
        async with db.execute(sql, chunk) as cursor:
            for logged_id, pid, name, email in await cursor.fetchall():
                label = name or (email or "").split("@")[0] or f"person {pid}"
                found.setdefault(logged_id, []).append((pid, label))
    return found


# Follow-ups ---------------------------------------------------------------------

_FOLLOWUP_SELECT = (
    "SELECT f.id, f.logged_id, COALESCE(f.snoozed_until, f.due_on), f.done_at,"
    " li.logger_id, p.display_name, p.slack_user_id, li.org_id, o.name, li.kind,"
    " li.note, li.visibility"
    " FROM followups f"
    " JOIN logged_interactions li ON li.id = f.logged_id"
    " JOIN people p ON p.id = li.logger_id"
    " LEFT JOIN organisations o ON o.id = li.org_id"
)


def _followup(row) -> FollowUp:
    return FollowUp(
        id=row[0],
        logged_id=row[1],
        due_on=row[2],
        done_at=row[3],
        owner_id=row[4],
        owner_name=row[5],
        owner_slack_id=row[6],
        org_id=row[7],
        org_name=row[8],
        kind=row[9],
        note=row[10],
        visibility=row[11],
    )


async def followups_due(
    db: aiosqlite.Connection,
    *,
    person_id: int | None = None,
    due_before: datetime | date | str | None,
    org_id: int | None = None,
    viewer_person_id: int | None = None,
    limit: int | None = None,
) -> list[FollowUp]:
    """Open follow-ups due on or before `due_before` (None: any date), soonest first.

    `person_id` keeps the follow-ups that person owns (their own "only me"
    ones included). Without it, only follow-ups of team entries are returned,
    plus the viewer's own when `viewer_person_id` is given.
    """
    params: dict = {"limit": -1 if limit is None else limit}
    viewer = viewer_person_id if viewer_person_id is not None else person_id
    where = ["f.done_at IS NULL", _visible(viewer, params)]
    if person_id is not None:
        where.append("li.logger_id = :owner")
        params["owner"] = person_id
    if org_id is not None:
        where.append("li.org_id = :org")
        params["org"] = org_id
    if due_before is not None:
        where.append("COALESCE(f.snoozed_until, f.due_on) <= :due")
        params["due"] = day(due_before)
    sql = (
        f"{_FOLLOWUP_SELECT} WHERE {' AND '.join(where)}"
        " ORDER BY COALESCE(f.snoozed_until, f.due_on), f.id LIMIT :limit"
    )
    async with db.execute(sql, params) as cursor:
        return [_followup(row) for row in await cursor.fetchall()]


async def get_followup(db: aiosqlite.Connection, followup_id: int) -> FollowUp | None:
    sql = f"{_FOLLOWUP_SELECT} WHERE f.id = ?"
    async with db.execute(sql, (followup_id,)) as cursor:
        row = await cursor.fetchone()
    return _followup(row) if row else None


async def mark_followup_done(
    db: aiosqlite.Connection,
    followup_id: int,
    *,
    done_at: datetime | str,
    by_person_id: int | None = None,
) -> bool:
    """Close a follow-up; False when it was already done or does not exist."""
    cursor = await db.execute(
        "UPDATE followups SET done_at = ?, done_by = ?"
        " WHERE id = ? AND done_at IS NULL",
        (iso(done_at), by_person_id, followup_id),
    )
    return cursor.rowcount > 0


async def snooze_followup(
    db: aiosqlite.Connection, followup_id: int, *, until: datetime | date | str
) -> bool:
    """Move an open follow-up to `until`; False when done or missing."""
    cursor = await db.execute(
        "UPDATE followups SET snoozed_until = ? WHERE id = ? AND done_at IS NULL",
        (day(until), followup_id),
    )
    return cursor.rowcount > 0


# Organisations and people the CRM creates ----------------------------------------


async def get_organisation(db: aiosqlite.Connection, org_id: int) -> OrgRow | None:
    async with db.execute(
        "SELECT o.id, o.name, group_concat(d.domain, ' ') FROM organisations o"
        " LEFT JOIN org_domains d ON d.org_id = o.id WHERE o.id = ? GROUP BY o.id",
        (org_id,),
    ) as cursor:
        row = await cursor.fetchone()
    if row is None:
        return None
    return OrgRow(row[0], row[1], tuple(sorted((row[2] or "").split())))


async def org_id_for_name_key(db: aiosqlite.Connection, key: str) -> int | None:
    async with db.execute(
        "SELECT id FROM organisations WHERE name_key = ? ORDER BY id LIMIT 1", (key,)
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def insert_organisation(
    db: aiosqlite.Connection, *, name: str, key: str, created_at: str
) -> int:
    """An organisation known only by name (no domain yet); caller holds transaction."""
    org_id = await max_id(db, "organisations") + 1
    await db.execute(
        "INSERT INTO organisations (id, name, name_key, renamed, created_at)"
        " VALUES (?, ?, ?, 1, ?)",
        (org_id, name, key, created_at),
    )
    return org_id


async def insert_slack_person(
    db: aiosqlite.Connection,
    *,
    name: str,
    slack_user_id: str,
    team_id: str | None,
    is_colleague: bool,
    org_id: int | None = None,
    tz: str | None = None,
    created_at: str,
) -> int:
    """A person first met in Slack; caller holds transaction()."""
    person_id = await max_id(db, "people") + 1
    await db.execute(
        "INSERT INTO people (id, display_name, is_colleague, org_id, slack_user_id,"
        " slack_team_id, tz, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (
            person_id,
            name,
            int(is_colleague),
            org_id,
            slack_user_id,
            team_id,
            tz,
            created_at,
        ),
    )
    return person_id


async def link_slack_user(
    db: aiosqlite.Connection, person_id: int, *, slack_user_id: str, team_id: str | None
) -> None:
    """Attach a Slack id to a person found by email; an existing link is kept."""
    await db.execute(
        "UPDATE people SET slack_user_id = ?,"
        " slack_team_id = COALESCE(slack_team_id, ?)"
        " WHERE id = ? AND slack_user_id IS NULL",
        (slack_user_id, team_id, person_id),
    )
