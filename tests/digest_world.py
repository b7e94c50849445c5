"""A small firm in a real SQLite file, a controllable clock and the fake Slack API,
for the digest, reminder and scheduler tests.

    async with digest_world(tmp_path) as world:
        ada = await world.colleague("U0ADA00001", "Ada", tz="Europe/London")
        world.clock.set(datetime(2024, 3, 25, 9, 0, tzinfo=UTC))
        await world.tick()
        assert world.posts_to("U0ADA00001")
"""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import Sender
from bot.due_work import TickSummary, run_due_work
from bot.services import Services, create_services
from bot.settings import Settings
from storage import crm
from storage.connection import transaction
from storage.interactions import NewInteraction, insert_interactions
from storage.people import insert_organisations, max_id
from tests.fakes.slack_api import DEFAULT_BOT_TOKEN, FakeSlackApi
from tests.slack_harness import FakeClock

ADMIN_ID = "U0ADMIN001"
FIRM = "firm.example"


@dataclass(frozen=True)
class Post:
    """One chat.postMessage that Slack (the fake) accepted."""

    channel: str  # as asked: a user id or a channel id
    landed_in: str
    at: datetime
    text: str
    blocks: list[dict]

    @property
    def body(self) -> str:
        """Every text of every block, for content checks."""
        return json.dumps(self.blocks, ensure_ascii=False)


@dataclass
class Process:
    """One bot process: its own connection, services and sender."""

    services: Services
    sender: Sender
    client: AsyncWebClient


@dataclass
class World:
    tmp_path: Path
    fake: FakeSlackApi
    clock: FakeClock
    settings: Settings
    processes: list[Process] = field(default_factory=list)
    sleeps: list[float] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def process(self) -> Process:
        return self.processes[-1]

    @property
    def services(self) -> Services:
        return self.process.services

    @property
    def db(self):
        return self.services.db

    async def start_process(self, **overrides: Any) -> Process:
        """A bot (re)starting: a new connection, new services, a new sender."""
        settings = replace(self.settings, **overrides) if overrides else self.settings
        services = await create_services(settings, clock=self.clock)
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=self.fake.base_url)
        sender = Sender(services, client, sleep=self._sleep)
        process = Process(services, sender, client)
        self.processes.append(process)
        return process

    async def stop_process(self, process: Process | None = None) -> None:
        process = process or self.process
        await process.services.db.close()
        self.processes.remove(process)

    async def restart(self) -> Process:
        await self.stop_process()
        return await self.start_process()

    async def _sleep(self, seconds: float) -> None:
        # Retry-After waits are recorded and skipped: no test waits for real.
        self.sleeps.append(seconds)
        self.clock.advance(seconds=seconds)

    async def tick(self, process: Process | None = None) -> TickSummary:
        process = process or self.process
        return await run_due_work(process.services, process.sender)

    async def run_until(
        self, end: datetime, *, step: timedelta = timedelta(minutes=15)
    ) -> None:
        """Tick at every `step` from the clock's time up to and including `end`."""
        while self.clock.now <= end:
            await self.tick()
            self.clock.advance(seconds=step.total_seconds())
        self.clock.set(end)

    # What Slack received -------------------------------------------------------

    def posts(self) -> list[Post]:
        found = []
        for call in self.fake.calls_to("chat.postMessage"):
            response = call.response or {}
            if call.status != 200 or not response.get("ok"):
                continue
            blocks = call.params.get("blocks") or []
            if isinstance(blocks, str):
                blocks = json.loads(blocks)
            found.append(
                Post(
                    channel=str(call.params.get("channel")),
                    landed_in=response["channel"],
                    # The fake keeps timestamps unique by adding microseconds.
                    at=datetime.fromtimestamp(int(float(response["ts"])), UTC),
                    text=str(call.params.get("text") or ""),
                    blocks=blocks,
                )
            )
        return found

    def posts_to(self, channel: str) -> list[Post]:
        return [p for p in self.posts() if p.channel == channel]

    # Seeding the firm ------------------------------------------------------------

    async def org(self, name: str, domain: str) -> int:
        async with transaction(self.db):
            org_id = await max_id(self.db, "organisations") + 1
            await insert_organisations(self.db, [(org_id, name, name.lower(), domain)])
        return org_id

    async def person(
        self,
        name: str,
        *,
        colleague: bool,
        slack_user_id: str | None = None,
        org_id: int | None = None,
        tz: str | None = None,
        deleted: bool = False,
        opted_out: bool = False,
        in_slack: bool = True,
    ) -> int:
        async with transaction(self.db):
            person_id = await max_id(self.db, "people") + 1
            await self.db.execute(
                "INSERT INTO people (id, display_name, is_colleague, org_id,"
                " slack_user_id, tz, is_deleted, opted_out, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    person_id,
                    name,
                    int(colleague),
                    org_id,
                    slack_user_id,
                    tz,
                    int(deleted),
                    int(opted_out),
                    self.clock.now.isoformat(),
                ),
            )
        if (
            slack_user_id
            and in_slack
            and self.fake.state.find_user(slack_user_id) is None
        ):
            self.fake.state.add_user(
                slack_user_id,
                name=name.lower(),
                email=f"{name.lower()}@{FIRM}",
                tz=tz or "Europe/London",
                deleted=deleted,
            )
        return person_id

    async def colleague(
        self,
        slack_user_id: str,
        name: str,
        *,
        tz: str | None = "Europe/London",
        **flags: Any,
    ) -> int:
        return await self.person(
            name, colleague=True, slack_user_id=slack_user_id, tz=tz, **flags
        )

    async def contact(self, name: str, org_id: int) -> int:
        return await self.person(name, colleague=False, org_id=org_id)

    async def email(self, at: datetime, sender: int, *recipients: int) -> None:
        await self._interaction(
            at,
            kind="email",
            sender=sender,
            participants={sender: "from", **{r: "to" for r in recipients}},
        )

    async def meeting(self, at: datetime, *people: int) -> None:
        await self._interaction(
            at,
            kind="meeting",
            sender=None,
            participants={p: "attendee" for p in people},
        )

    async def _interaction(
        self, at: datetime, *, kind: str, sender: int | None, participants: dict
    ) -> None:
        item = NewInteraction(
            keys=(f"test:{next(self._ids)}",),
            source="test",
            occurred_at=at.astimezone(UTC).isoformat(),
            kind=kind,
            sender_id=sender,
            participants=participants,
        )
        async with transaction(self.db):
            await insert_interactions(self.db, [item])

    async def log(
        self,
        logger_id: int,
        *,
        org_id: int | None,
        at: datetime,
        note: str,
        private: bool = False,
        followup_on: date | None = None,
        contacts: tuple[int, ...] = (),
        kind: str = "call",
    ) -> int:
        item = crm.NewLogged(
            client_token=f"token-{next(self._ids)}",
            logger_id=logger_id,
            kind=kind,
            occurred_at=at.astimezone(UTC).isoformat(),
            note=note,
            visibility="private" if private else "team",
            org_id=org_id,
            contact_ids=contacts,
            followup_on=followup_on.isoformat() if followup_on else None,
        )
        async with transaction(self.db):
            return await crm.insert_logged(
                self.db, item, created_at=at.astimezone(UTC).isoformat()
            )

    async def followup_of(self, logged_id: int) -> crm.FollowUp:
        async with self.db.execute(
            "SELECT id FROM followups WHERE logged_id = ?", (logged_id,)
        ) as cursor:
            row = await cursor.fetchone()
        found = await crm.get_followup(self.db, row[0])
        assert found is not None
        return found


@asynccontextmanager
async def digest_world(
    tmp_path: Path, *, now: datetime | None = None, **settings: Any
) -> AsyncIterator[World]:
    """Fake Slack on 127.0.0.1, a database file and one bot process."""
    clock = FakeClock(now or datetime(2024, 3, 18, 0, 0, tzinfo=UTC))
    async with FakeSlackApi() as fake:
        # Message timestamps follow the test's clock, so "when did it arrive"
        # is read straight off what Slack recorded.
        fake.state.clock = lambda: clock.now.timestamp()
        fake.state.add_user(ADMIN_ID, name="admin", email=f"admin@{FIRM}")
        base = Settings(
            db_path=tmp_path / "rapport.db",
            internal_domains=(FIRM,),
            slack_bot_token=DEFAULT_BOT_TOKEN,
            slack_api_url=fake.base_url,
            admin_user_ids=(ADMIN_ID,),
            default_timezone="Europe/London",
        )
        world = World(tmp_path, fake, clock, replace(base, **settings))
        await world.start_process()
        try:
            yield world
        finally:
            for process in list(world.processes):
                await world.stop_process(process)


def local(
    zone: str,
    year: int,
    month: int,
    day: int,
    hour: int = 0,
    minute: int = 0,
    second: int = 0,
) -> datetime:
    """A wall-clock time in `zone`, as an aware datetime."""
    from zoneinfo import ZoneInfo

    return datetime(year, month, day, hour, minute, second, tzinfo=ZoneInfo(zone))
