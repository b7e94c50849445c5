"""The frequent tick: find what is due from the database, and send it once.

Nothing here depends on the scheduler having fired at the right moment. Each
tick asks "what should have arrived by now and has no delivery row yet?", so a
tick after a restart (or a missed one) catches up, within
`settings.delivery_grace_hours`, and the delivery claim keeps every message to
one copy however many ticks or processes ask.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.delivery import Outgoing, Sender
from bot.digests import GraphsAt, channel_digest, personal_digest
from bot.local_time import last_weekly, zone
from bot.reminders import due_reminders, reminder_outgoing
from bot.services import Services
from handlers.blocks import digest as blocks
from storage.digests import (
    DeliveryKey,
    DeliveryRow,
    delivery_statuses,
    iso,
    mark_stale_claims,
    recipients,
)

logger = logging.getLogger(__name__)

# A claim older than this was left by a process that died mid-send.
STALE_CLAIM = timedelta(minutes=15)
_LOCK_KEY = "due_work_lock"


@dataclass
class TickSummary:
    outcomes: Counter = field(default_factory=Counter)
    seconds: float = 0.0

    def add(self, outcome: str) -> None:
        self.outcomes[outcome] += 1


async def run_due_work(services: Services, sender: Sender) -> TickSummary:
    """Send every digest and reminder due by `services.clock()` and not yet sent.

    Ticks of one process take turns (their claims share a connection, and two
    transactions on one connection would interleave); ticks of different
    processes race freely and the claims sort them out.
    """
    lock: asyncio.Lock = services.extras.setdefault(_LOCK_KEY, asyncio.Lock())
    async with lock:
        return await _run(services, sender)


async def _run(services: Services, sender: Sender) -> TickSummary:
    started = time.perf_counter()
    now = services.clock()
    summary = TickSummary()
    stale = await mark_stale_claims(
        services.db, claimed_before=now - STALE_CLAIM, now=now
    )
    for key in stale:
        logger.warning("Abandoned claim for %s to %s; not resent", key.kind, key.target)

    graphs = GraphsAt(services)
    await _channel_digest(services, sender, now=now, graphs=graphs, summary=summary)
    await _personal_digests(services, sender, now=now, graphs=graphs, summary=summary)
    await _reminders(services, sender, now=now, summary=summary)

    summary.seconds = time.perf_counter() - started
    if summary.outcomes:
        logger.info(
            "Due work: %s in %.2fs",
            ", ".join(
                f"{n} {outcome}" for outcome, n in sorted(summary.outcomes.items())
            ),
            summary.seconds,
        )
    return summary


def _due_window(now: datetime, due_at: datetime, services: Services) -> bool:
    return (
        due_at <= now < due_at + timedelta(hours=services.settings.delivery_grace_hours)
    )


async def _pending(
    services: Services, keys: list[DeliveryKey], *, now: datetime
) -> set[DeliveryKey]:
    """Keys with no row yet, or waiting for a retry whose time has come."""
    rows = await delivery_statuses(services.db, keys)
    return {key for key in keys if _open(rows.get(key), now=now)}


def _open(row: DeliveryRow | None, *, now: datetime) -> bool:
    if row is None:
        return True
    return row.status == "retry" and (row.next_attempt_at or "") <= iso(now)


async def _deliver(
    sender: Sender,
    key: DeliveryKey,
    *,
    due_at: datetime,
    build: Callable[[], Awaitable[Outgoing | None]],
    summary: TickSummary,
) -> None:
    """Build one message (None: nothing to say) and send it under its claim.

    A message that cannot even be built is recorded as failed, so the error
    is logged once rather than at every tick of its window.
    """
    try:
        message = await build()
    except Exception:
        logger.exception("Could not build %s for %s", key.kind, key.target)
        if await sender.record_final(
            key, due_at=due_at, status="failed", error="build_failed"
        ):
            summary.add("failed")
        return
    if message is None:
        if await sender.record_final(key, due_at=due_at, status="empty"):
            summary.add("empty")
        return
    result = await sender.send(message)
    summary.add(result.outcome)


async def _channel_digest(
    services: Services,
    sender: Sender,
    *,
    now: datetime,
    graphs: GraphsAt,
    summary: TickSummary,
) -> None:
    settings = services.settings
    channel = settings.digest_channel
    if not channel:
        return
    tz = zone(None, settings.default_timezone)
    due_at = last_weekly(
        now, tz=tz, weekday=settings.digest_weekday, hour=settings.digest_hour
    )
    if not _due_window(now, due_at, services):
        return
    key = DeliveryKey(
        "channel_digest", f"channel:{channel}", due_at.astimezone(tz).date().isoformat()
    )
    if not await _pending(services, [key], now=now):
        return

    async def build() -> Outgoing | None:
        digest = await channel_digest(services, as_of=due_at)
        if digest.empty:
            return None
        message = blocks.channel_digest_message(digest, tz=tz)
        return Outgoing(
            key=key,
            channel=channel,
            due_at=due_at,
            text=message["text"],
            blocks=message["blocks"],
            description=blocks.describe_channel(channel),
        )

    await _deliver(sender, key, due_at=due_at, build=build, summary=summary)


async def _personal_digests(
    services: Services,
    sender: Sender,
    *,
    now: datetime,
    graphs: GraphsAt,
    summary: TickSummary,
) -> None:
    settings = services.settings
    due = []
    for person in await recipients(services.db):
        if not person.digests_enabled:
            continue
        tz = zone(person.tz, settings.default_timezone)
        due_at = last_weekly(
            now, tz=tz, weekday=settings.digest_weekday, hour=settings.digest_hour
        )
        if _due_window(now, due_at, services):
            period = due_at.astimezone(tz).date().isoformat()
            key = DeliveryKey("digest", f"person:{person.person_id}", period)
            due.append((key, person, tz, due_at))
    if not due:
        return
    pending = await _pending(services, [item[0] for item in due], now=now)
    for key, person, tz, due_at in due:
        if key not in pending:
            continue

        async def build(
            key=key, person=person, tz=tz, due_at=due_at
        ) -> Outgoing | None:
            digest = await personal_digest(
                services, person, as_of=due_at, graphs=graphs
            )
            if digest.empty:
                return None
            message = blocks.personal_digest_message(digest, tz=tz)
            return Outgoing(
                key=key,
                channel=person.slack_user_id,
                due_at=due_at,
                text=message["text"],
                blocks=message["blocks"],
                description=blocks.describe_personal(person.slack_user_id),
            )

        await _deliver(sender, key, due_at=due_at, build=build, summary=summary)


async def _reminders(
    services: Services, sender: Sender, *, now: datetime, summary: TickSummary
) -> None:
    due = await due_reminders(services, now=now)
    if not due:
        return
    pending = await _pending(services, [item.key for item in due], now=now)
    for item in due:
        if item.key not in pending:
            continue

        async def build(item=item) -> Outgoing | None:
            return reminder_outgoing(item)

        await _deliver(
            sender, item.key, due_at=item.due_at, build=build, summary=summary
        )
