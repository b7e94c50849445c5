"""Seeding a test database for the CRM tests: an organisation, people, mail, logs.

Everything goes through the storage functions the app itself uses, so the rows
look exactly like captured ones. Names and addresses are made up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import aiosqlite

from bot import crm
from bot.identity.organisations import name_key
from bot.services import Services
from storage.connection import transaction
from storage.interactions import NewInteraction, insert_interactions
from storage.people import insert_organisations, insert_people, max_id

ADA_SLACK_ID = "U0ADA00001"  # the harness's default user
BEA_SLACK_ID = "U0BEA00002"
SEED_TIME = datetime(2025, 2, 1, 10, 0, tzinfo=UTC)
# The harness clock: 10 Mar 2025, 12:00 UTC.
NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)


@dataclass
class Seeded:
    org_id: int
    ada_id: int
    bea_id: int
    contact_ids: list[int] = field(default_factory=list)
    other_org_id: int | None = None


async def add_org(db: aiosqlite.Connection, *, name: str, domain: str) -> int:
    async with transaction(db):
        org_id = await max_id(db, "organisations") + 1
        await insert_organisations(db, [(org_id, name, name_key(name), domain)])
    return org_id


async def add_person(
    db: aiosqlite.Connection,
    *,
    name: str,
    email: str,
    colleague: bool = False,
    org_id: int | None = None,
    slack_user_id: str | None = None,
) -> int:
    async with transaction(db):
        person_id = await max_id(db, "people") + 1
        domain = email.partition("@")[2]
        await insert_people(
            db,
            [(person_id, name, colleague, org_id)],
            [(email.lower(), email, domain, person_id)],
        )
        if slack_user_id:
            await db.execute(
                "UPDATE people SET slack_user_id = ? WHERE id = ?",
                (slack_user_id, person_id),
            )
    return person_id


async def add_emails(
    db: aiosqlite.Connection, pairs: list[tuple[int, int]], *, when: datetime
) -> None:
    """One email each way for every (colleague, contact) pair."""
    items = []
    for n, (colleague, contact) in enumerate(pairs):
        for direction, (sender, recipient) in enumerate(
            ((colleague, contact), (contact, colleague))
        ):
            items.append(
                NewInteraction(
                    keys=(f"msgid:seed-{colleague}-{contact}-{n}-{direction}",),
                    source="mbox",
                    occurred_at=(when + timedelta(minutes=n)).isoformat(),
                    kind="email",
                    sender_id=sender,
                    participants={sender: "from", recipient: "to"},
                )
            )
    async with transaction(db):
        await insert_interactions(db, items)


async def seed_acme(
    db: aiosqlite.Connection, *, contacts: int = 12, with_mail: int = 5
) -> Seeded:
    """Acme (acme.example) with `contacts` people; Ada and Bea are colleagues."""
    org_id = await add_org(db, name="Acme", domain="acme.example")
    other = await add_org(db, name="Globex", domain="globex.example")
    ada = await add_person(
        db,
        name="Ada Lovelace",
        email="ada@firm.example",
        colleague=True,
        slack_user_id=ADA_SLACK_ID,
    )
    bea = await add_person(
        db,
        name="Bea Moreno",
        email="bea@firm.example",
        colleague=True,
        slack_user_id=BEA_SLACK_ID,
    )
    seeded = Seeded(org_id=org_id, ada_id=ada, bea_id=bea, other_org_id=other)
    for n in range(contacts):
        seeded.contact_ids.append(
            await add_person(
                db,
                name=f"Contact {n:03d}",
                email=f"contact{n:03d}@acme.example",
                org_id=org_id,
            )
        )
    pairs = [(ada, c) for c in seeded.contact_ids[:with_mail]]
    pairs += [(bea, c) for c in seeded.contact_ids[:2]]
    await add_emails(db, pairs, when=SEED_TIME)
    return seeded


async def log_note(
    services: Services,
    *,
    org_id: int,
    note: str,
    token: str,
    slack_user_id: str = ADA_SLACK_ID,
    visibility: str = "team",
    contacts: tuple[int, ...] = (),
    kind: str = "call",
    day: str = "2025-03-01",
    followup_on: str | None = None,
) -> crm.LogResult:
    values = crm.FormValues(
        org=f"org:{org_id}",
        kind=kind,
        occurred_on=day,
        note=note,
        followup_on=followup_on,
        visibility=visibility,
        contacts=tuple(f"p:{c}" for c in contacts),
    )
    return await crm.log_interaction(
        services,
        slack_user_id=slack_user_id,
        team_id="T0FAKE0001",
        values=values,
        client_token=token,
    )


async def make_services(tmp_path, *, now: datetime | None = None) -> Services:
    """Real services on a temp database, with a fixed clock."""
    from bot.services import create_services
    from bot.settings import Settings
    from tests.slack_harness import FakeClock

    settings = Settings(
        db_path=tmp_path / "rapport.db", internal_domains=("firm.example",)
    )
    return await create_services(settings, clock=FakeClock(now or NOW))
