"""Follow-up reminders: which are due now, in each owner's own time zone.

A follow-up due on a day is reminded at `settings.reminder_hour` (9:00) local
time that day, computed from the calendar day and the zone, so it stays 9:00
across DST changes. Snoozing moves the day, which makes a new reminder.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from bot.delivery import Outgoing
from bot.local_time import at_hour, zone
from bot.services import Services
from handlers.blocks import digest as digest_blocks
from handlers.blocks import reminder as blocks
from storage import crm
from storage.digests import (
    DeliveryKey,
    Recipient,
    followup_owners_due,
    recipients_by_id,
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class DueReminder:
    person: Recipient
    followup: crm.FollowUp
    due_on: date
    due_at: datetime

    @property
    def key(self) -> DeliveryKey:
        return reminder_key(self.person.person_id, self.followup.id, self.due_on)


def reminder_key(person_id: int, followup_id: int, due_on: date) -> DeliveryKey:
    return DeliveryKey(
        "reminder",
        f"person:{person_id}",
        f"followup:{followup_id}:{due_on.isoformat()}",
    )


async def due_reminders(services: Services, *, now: datetime) -> list[DueReminder]:
    """Open follow-ups whose 9:00 local has passed within the grace window."""
    settings = services.settings
    grace = timedelta(hours=settings.delivery_grace_hours)
    # Local days differ from UTC's by at most a day either way.
    first = (now - grace - timedelta(days=2)).date().isoformat()
    last = (now + timedelta(days=2)).date().isoformat()
    owners = await followup_owners_due(services.db, first_day=first, last_day=last)
    if not owners:
        return []
    # Deactivated and opted-out owners are not recipients, so they get nothing.
    people = await recipients_by_id(services.db, owners)
    found = []
    for person in people.values():
        tz = zone(person.tz, settings.default_timezone)
        today = now.astimezone(tz).date()
        open_items = await crm.followups_due(
            services.db, person_id=person.person_id, due_before=today.isoformat()
        )
        for item in open_items:
            try:
                due_on = date.fromisoformat(item.due_on[:10])
            except ValueError:
                continue  # not a date the form could have produced; never due
            due_at = at_hour(due_on, settings.reminder_hour, tz)
            if due_at <= now < due_at + grace:
                found.append(DueReminder(person, item, due_on, due_at))
    found.sort(key=lambda r: (r.due_at, r.followup.id))
    return found


def reminder_outgoing(item: DueReminder) -> Outgoing:
    followup = item.followup
    message = blocks.reminder_message(
        followup_id=followup.id,
        due_on=item.due_on,
        org_id=followup.org_id,
        org_name=followup.org_name,
        kind=followup.kind,
        note=followup.note,
        private=followup.visibility == "private",
    )
    return Outgoing(
        key=item.key,
        # Slack posts a message sent to a user id in the app's DM with them
        # (its Messages tab): one call instead of conversations.open + post.
        channel=item.person.slack_user_id,
        due_at=item.due_at,
        text=message["text"],
        blocks=message["blocks"],
        description=digest_blocks.describe_reminder(item.person.slack_user_id),
    )
