"""Digest preferences, delivery claims and alerts, and the activity digests count."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

import aiosqlite

from storage.connection import transaction
from storage.sql import chunked, placeholders


def iso(moment: datetime) -> str:
    """One fixed UTC format, so stored times compare correctly as text."""
    return moment.astimezone(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A colleague Rapport may message: in Slack, active, not opted out."""

    person_id: int
    name: str
    slack_user_id: str
    tz: str | None
    digests_enabled: bool


@dataclass(frozen=True, slots=True, order=True)
class DeliveryKey:
    kind: str  # digest, channel_digest, reminder
    target: str  # person:<id> or channel:<id>
    period: str


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    key: DeliveryKey
    status: str
    owner: str
    attempts: int
    error: str | None
    slack_channel: str | None
    slack_ts: str | None
    due_at: str
    claimed_at: str
    finished_at: str | None
    next_attempt_at: str | None


# Who can receive anything at all. Outside contacts in shared channels have
# Slack ids too, so only colleagues qualify.
_RECIPIENT_SQL = """
SELECT p.id, p.display_name, p.slack_user_id, p.tz,
       COALESCE(d.enabled, 1)
FROM people p
LEFT JOIN digest_preferences d ON d.person_id = p.id
WHERE p.slack_user_id IS NOT NULL AND p.slack_user_id != ''
  AND p.is_colleague = 1 AND p.is_deleted = 0 AND p.opted_out = 0 AND p.is_bot = 0
"""


def _recipient(row: aiosqlite.Row) -> Recipient:
    return Recipient(
        person_id=row[0],
        name=row[1] or row[2],
        slack_user_id=row[2],
        tz=row[3],
        digests_enabled=bool(row[4]),
    )


async def recipients(db: aiosqlite.Connection) -> list[Recipient]:
    async with db.execute(_RECIPIENT_SQL + " ORDER BY p.id") as cursor:
        return [_recipient(row) for row in await cursor.fetchall()]


async def recipients_by_id(
    db: aiosqlite.Connection, person_ids: Iterable[int]
) -> dict[int, Recipient]:
    found: dict[int, Recipient] = {}
    for chunk in chunked(sorted(set(person_ids)), 500):
        sql = _RECIPIENT_SQL + f" AND p.id IN ({placeholders(len(chunk))})"
        async with db.execute(sql, chunk) as cursor:
            found.update({row[0]: _recipient(row) for row in await cursor.fetchall()})
    return found


async def recipient_by_slack_id(
    db: aiosqlite.Connection, slack_user_id: str
) -> Recipient | None:
    async with db.execute(
        _RECIPIENT_SQL + " AND p.slack_user_id = ?", (slack_user_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return _recipient(row) if row else None


async def person_id_for_slack(
    db: aiosqlite.Connection, slack_user_id: str
) -> int | None:
    async with db.execute(
        "SELECT id FROM people WHERE slack_user_id = ?", (slack_user_id,)
    ) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


async def set_digest_preference(
    db: aiosqlite.Connection, person_id: int, *, enabled: bool, now: datetime
) -> None:
    await db.execute(
        "INSERT INTO digest_preferences (person_id, enabled, updated_at)"
        " VALUES (?, ?, ?) ON CONFLICT (person_id) DO UPDATE"
        " SET enabled = excluded.enabled, updated_at = excluded.updated_at",
        (person_id, int(enabled), iso(now)),
    )


# Deliveries ------------------------------------------------------------------


async def delivery_statuses(
    db: aiosqlite.Connection, keys: Iterable[DeliveryKey]
) -> dict[DeliveryKey, DeliveryRow]:
    """The rows already recorded for `keys` (a cheap look before claiming)."""
    found: dict[DeliveryKey, DeliveryRow] = {}
    for chunk in chunked(sorted(set(keys)), 300):
        where = " OR ".join(["(kind = ? AND target = ? AND period = ?)"] * len(chunk))
        params = [
            value for key in chunk for value in (key.kind, key.target, key.period)
        ]
        async with db.execute(_DELIVERY_SQL + f" WHERE {where}", params) as cursor:
            for row in await cursor.fetchall():
                delivery = _delivery(row)
                found[delivery.key] = delivery
    return found


async def all_deliveries(db: aiosqlite.Connection) -> list[DeliveryRow]:
    async with db.execute(_DELIVERY_SQL + " ORDER BY id") as cursor:
        return [_delivery(row) for row in await cursor.fetchall()]


_DELIVERY_SQL = (
    "SELECT kind, target, period, status, owner, attempts, error, slack_channel,"
    " slack_ts, due_at, claimed_at, finished_at, next_attempt_at FROM deliveries"
)


def _delivery(row: aiosqlite.Row) -> DeliveryRow:
    return DeliveryRow(
        key=DeliveryKey(row[0], row[1], row[2]),
        status=row[3],
        owner=row[4],
        attempts=row[5],
        error=row[6],
        slack_channel=row[7],
        slack_ts=row[8],
        due_at=row[9],
        claimed_at=row[10],
        finished_at=row[11],
        next_attempt_at=row[12],
    )


async def claim_delivery(
    db: aiosqlite.Connection,
    key: DeliveryKey,
    *,
    owner: str,
    now: datetime,
    due_at: datetime,
) -> int:
    """Take the right to post `key`, in a transaction of its own.

    Returns the attempt number (1 for a new key), or 0: skip it. A row waiting
    for a retry is taken over once its time has come; everything else (sent,
    skipped, empty, claimed by someone else, unknown) is somebody else's.
    """
    stamp = iso(now)
    async with transaction(db):
        cursor = await db.execute(
            "INSERT INTO deliveries (kind, target, period, status, owner, due_at,"
            " claimed_at) VALUES (?, ?, ?, 'claimed', ?, ?, ?)"
            " ON CONFLICT (kind, target, period) DO NOTHING",
            (key.kind, key.target, key.period, owner, iso(due_at), stamp),
        )
        if cursor.rowcount == 1:
            return 1
        async with db.execute(
            "UPDATE deliveries SET status = 'claimed', owner = ?, claimed_at = ?,"
            " attempts = attempts + 1, next_attempt_at = NULL"
            " WHERE kind = ? AND target = ? AND period = ?"
            " AND status = 'retry' AND next_attempt_at <= ? RETURNING attempts",
            (owner, stamp, key.kind, key.target, key.period, stamp),
        ) as cursor:
            rows = await cursor.fetchall()
        return rows[0][0] if rows else 0


async def finish_delivery(
    db: aiosqlite.Connection,
    key: DeliveryKey,
    *,
    owner: str,
    status: str,
    now: datetime,
    error: str | None = None,
    slack_channel: str | None = None,
    slack_ts: str | None = None,
    next_attempt_at: datetime | None = None,
) -> None:
    """Record how a claimed send ended; only the claim's owner may."""
    await db.execute(
        "UPDATE deliveries SET status = ?, finished_at = ?, error = ?,"
        " slack_channel = ?, slack_ts = ?, next_attempt_at = ?"
        " WHERE kind = ? AND target = ? AND period = ? AND owner = ?"
        " AND status = 'claimed'",
        (
            status,
            iso(now),
            error,
            slack_channel,
            slack_ts,
            iso(next_attempt_at) if next_attempt_at else None,
            key.kind,
            key.target,
            key.period,
            owner,
        ),
    )


async def record_alert(
    db: aiosqlite.Connection, *, target: str, error: str, now: datetime
) -> bool:
    """True the first time (target, error) is seen: the caller reports it."""
    cursor = await db.execute(
        "INSERT INTO delivery_alerts (target, error, reported_at) VALUES (?, ?, ?)"
        " ON CONFLICT (target, error) DO NOTHING",
        (target, error, iso(now)),
    )
    return cursor.rowcount == 1


async def clear_alerts(db: aiosqlite.Connection, target: str) -> None:
    await db.execute("DELETE FROM delivery_alerts WHERE target = ?", (target,))


# Activity for the channel digest ------------------------------------------------


@dataclass(frozen=True, slots=True)
class OrgActivity:
    org_id: int
    name: str
    interactions: int
    contacts: int


# Interactions that touched an outside contact of the organisation, whatever
# the channel; opted-out people and bots do not count.
_ORG_ACTIVITY_SQL = """
SELECT o.id, o.name, COUNT(DISTINCT i.id), COUNT(DISTINCT p.id)
FROM interactions i
JOIN interaction_participants ip ON ip.interaction_id = i.id
JOIN people p ON p.id = ip.person_id
JOIN organisations o ON o.id = p.org_id
WHERE i.occurred_at >= :since AND i.occurred_at < :until
  AND p.is_colleague = 0 AND p.opted_out = 0 AND p.is_bot = 0
GROUP BY o.id
ORDER BY COUNT(DISTINCT i.id) DESC, o.name
LIMIT :limit
"""

# An organisation is new in the week its first interaction happened, which
# stays true when a years-old mailbox is imported today.
_NEW_ORGS_SQL = """
SELECT o.id, o.name, COUNT(DISTINCT i.id), COUNT(DISTINCT p.id)
FROM organisations o
JOIN people p ON p.org_id = o.id AND p.is_colleague = 0 AND p.opted_out = 0
     AND p.is_bot = 0
JOIN interaction_participants ip ON ip.person_id = p.id
JOIN interactions i ON i.id = ip.interaction_id AND i.occurred_at < :until
GROUP BY o.id
HAVING MIN(i.occurred_at) >= :since
ORDER BY MIN(i.occurred_at), o.name
LIMIT :limit
"""


async def busiest_organisations(
    db: aiosqlite.Connection, *, since: datetime, until: datetime, limit: int
) -> list[OrgActivity]:
    return await _org_rows(db, _ORG_ACTIVITY_SQL, since=since, until=until, limit=limit)


async def new_organisations(
    db: aiosqlite.Connection, *, since: datetime, until: datetime, limit: int
) -> list[OrgActivity]:
    return await _org_rows(db, _NEW_ORGS_SQL, since=since, until=until, limit=limit)


async def _org_rows(
    db: aiosqlite.Connection, sql: str, *, since: datetime, until: datetime, limit: int
) -> list[OrgActivity]:
    # Interactions store isoformat() of UTC times, as the graph compares them.
    params = {
        "since": since.astimezone(UTC).isoformat(),
        "until": until.astimezone(UTC).isoformat(),
        "limit": limit,
    }
    async with db.execute(sql, params) as cursor:
        return [OrgActivity(*row) for row in await cursor.fetchall()]


async def mark_stale_claims(
    db: aiosqlite.Connection, *, claimed_before: datetime, now: datetime
) -> list[DeliveryKey]:
    """Claims nobody finished (the process died mid-send) become `unknown`."""
    # Looked for first: most ticks find none and need not take the write lock.
    async with db.execute(
        "SELECT 1 FROM deliveries WHERE status = 'claimed' AND claimed_at < ? LIMIT 1",
        (iso(claimed_before),),
    ) as cursor:
        if await cursor.fetchone() is None:
            return []
    async with db.execute(
        "UPDATE deliveries SET status = 'unknown', error = 'abandoned_claim',"
        " finished_at = ? WHERE status = 'claimed' AND claimed_at < ?"
        " RETURNING kind, target, period",
        (iso(now), iso(claimed_before)),
    ) as cursor:
        rows = await cursor.fetchall()
    return [DeliveryKey(*row) for row in rows]


# Follow-ups ------------------------------------------------------------------------


async def followup_owners_due(
    db: aiosqlite.Connection, *, first_day: str, last_day: str
) -> list[int]:
    """Loggers with an open follow-up due between two YYYY-MM-DD days (inclusive).

    "Only me" follow-ups count too: a reminder goes to its own author.

    Only ids: the follow-ups themselves are read through storage.crm, per owner,
    which applies the visibility rule. This saves a query per colleague per tick.
    """
    async with db.execute(
        "SELECT DISTINCT li.logger_id FROM followups f"
        " JOIN logged_interactions li ON li.id = f.logged_id"
        " WHERE f.done_at IS NULL"
        " AND COALESCE(f.snoozed_until, f.due_on) BETWEEN ? AND ?"
        " ORDER BY li.logger_id",
        (first_day, last_day),
    ) as cursor:
        return [row[0] for row in await cursor.fetchall()]


async def clear_alerts_except(
    db: aiosqlite.Connection, *, prefix: str, keep: set[str]
) -> None:
    """Forget alerts under `prefix` whose target is no longer a problem.

    A colleague whose access came back and is later revoked again is then
    reported again.
    """
    async with db.execute(
        "SELECT DISTINCT target FROM delivery_alerts WHERE target LIKE ? || '%'",
        (prefix,),
    ) as cursor:
        targets = [row[0] for row in await cursor.fetchall()]
    for target in targets:
        if target not in keep:
            await clear_alerts(db, target)
