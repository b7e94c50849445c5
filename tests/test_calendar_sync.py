"""Calendar capture against the fake Calendar API, through `run_capture`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest
import pytest_asyncio

from bot.capture import calendar
from bot.capture.sync import run_capture
from bot.capture.sync_summary import SyncSummary
from bot.services import Services
from storage.connection import transaction
from storage.google import forget_account
from storage.interactions import count_rows
from tests.fakes.google_api import FakeGoogle
from tests.google_helpers import (
    ALICE,
    BOB,
    NOW,
    Clock,
    Sleeps,
    add_colleague,
    google_settings,
    make_services,
    scalar,
)

CLIENT = "bob@acme.example"
ROOM = "c_1888@resource.calendar.google.com"


@dataclass
class Env:
    fake: FakeGoogle
    services: Services
    clock: Clock
    sleeps: Sleeps

    @property
    def db(self):
        return self.services.db

    async def sync(self, *, attempts: int = 5) -> SyncSummary:
        backoff = self.sleeps.backoff(attempts=attempts)
        summaries = await run_capture(
            self.services, sources=("calendar",), backoff=backoff
        )
        return summaries[0]

    async def meetings(self) -> int:
        return await scalar(
            self.db, "SELECT COUNT(*) FROM interactions WHERE kind = 'meeting'"
        )

    async def participants(self) -> dict[str, str]:
        """Address -> role on the only meeting stored."""
        async with self.db.execute(
            "SELECT e.address_key, ip.role FROM interaction_participants ip"
            " JOIN email_addresses e ON e.person_id = ip.person_id"
        ) as cursor:
            return {row[0]: row[1] for row in await cursor.fetchall()}

    async def upcoming(self) -> int:
        return await scalar(self.db, "SELECT COUNT(*) FROM calendar_upcoming")

    def meeting(
        self,
        *,
        at: datetime,
        attendees: list,
        calendar_id: str = ALICE,
        organizer: str = ALICE,
        **fields,
    ) -> str:
        return self.fake.add_event(
            calendar_id,
            start=_rfc3339(at),
            end=_rfc3339(at + timedelta(hours=1)),
            organizer=organizer,
            attendees=attendees,
            **fields,
        )


def _rfc3339(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def _accepted(email: str) -> dict[str, str]:
    return {"email": email, "responseStatus": "accepted"}


@pytest_asyncio.fixture
async def env(tmp_path) -> AsyncIterator[Env]:
    async with FakeGoogle() as fake:
        clock = Clock()
        services = await make_services(google_settings(tmp_path, fake), clock)
        await add_colleague(services.db, ALICE, slack_id="UALICE")
        try:
            yield Env(fake, services, clock, Sleeps())
        finally:
            await services.db.close()


# ---- who counts ---------------------------------------------------------------------


async def test_only_organiser_and_accepted_attendees_count_when_a_meeting_took_place(
    env: Env,
) -> None:
    env.meeting(
        at=NOW - timedelta(days=2),
        attendees=[
            _accepted(ALICE),
            _accepted(CLIENT),
            {"email": "carol@acme.example", "responseStatus": "declined"},
            {"email": "dan@acme.example", "responseStatus": "needsAction"},
            {"email": "erin@acme.example", "responseStatus": "tentative"},
            {"email": ROOM, "responseStatus": "accepted", "resource": True},
        ],
    )

    summary = await env.sync()

    assert summary.imported == 1
    assert await env.participants() == {ALICE: "organizer", CLIENT: "attendee"}
    people = await scalar(env.db, "SELECT COUNT(*) FROM people")
    assert people == 2  # nobody who did not accept is even created


async def test_meeting_counts_only_once_it_has_taken_place(env: Env) -> None:
    env.meeting(at=NOW + timedelta(days=1), attendees=[_accepted(CLIENT)])

    first = await env.sync()

    assert first.imported == 0 and await env.meetings() == 0
    assert await env.upcoming() == 1

    env.clock.advance(days=2)
    second = await env.sync()

    assert second.imported == 1 and await env.meetings() == 1
    assert await env.upcoming() == 0


async def test_cancelled_and_unconfirmed_meetings_count_for_nothing(env: Env) -> None:
    past = NOW - timedelta(days=1)
    env.meeting(at=past, attendees=[_accepted(CLIENT)], status="cancelled")
    env.meeting(at=past, attendees=[_accepted(CLIENT)], status="tentative")
    later = env.meeting(at=NOW + timedelta(hours=3), attendees=[_accepted(CLIENT)])
    await env.sync()
    env.fake.cancel_event(ALICE, later)

    summary = await env.sync()

    assert summary.skipped["cancelled"] == 1
    assert await env.upcoming() == 0
    env.clock.advance(days=1)
    await env.sync()
    assert await env.meetings() == 0


async def test_meeting_with_colleagues_only_is_not_stored(env: Env) -> None:
    await add_colleague(env.db, BOB, slack_id="UBOB")
    env.meeting(at=NOW - timedelta(days=1), attendees=[_accepted(BOB)])

    summary = await env.sync()

    assert summary.imported == 0 and summary.skipped["colleagues only"] == 1


async def test_organiser_who_declined_their_own_meeting_does_not_count(
    env: Env,
) -> None:
    env.meeting(
        at=NOW - timedelta(days=1),
        organizer="assistant@firm.example",
        attendees=[
            {"email": "assistant@firm.example", "responseStatus": "declined"},
            _accepted(ALICE),
            _accepted(CLIENT),
        ],
    )

    await env.sync()

    assert await env.participants() == {ALICE: "attendee", CLIENT: "attendee"}


async def test_same_meeting_in_two_calendars_is_one_interaction(env: Env) -> None:
    await add_colleague(env.db, "bea@firm.example", slack_id="UBEA")
    at = NOW - timedelta(days=3)
    people = [_accepted(ALICE), _accepted("bea@firm.example"), _accepted(CLIENT)]
    env.meeting(at=at, attendees=people, iCalUID="weekly-1@google.com")
    env.meeting(
        at=at,
        attendees=people,
        calendar_id="bea@firm.example",
        iCalUID="weekly-1@google.com",
    )

    summary = await env.sync()

    assert summary.imported == 1 and summary.duplicates == 1
    assert await env.meetings() == 1


async def test_meetings_are_scored_as_meetings_in_the_graph(env: Env) -> None:
    env.meeting(at=NOW - timedelta(days=5), attendees=[_accepted(CLIENT)])

    await env.sync()

    graph, _ = await env.services.graphs.current()
    ids = {person.email: pid for pid, person in graph.people.items()}
    assert graph.pair(ids[ALICE], ids[CLIENT]).meetings == 1


# ---- listing ------------------------------------------------------------------------


async def test_first_sync_is_bounded_by_start_date_and_later_ones_use_the_sync_token(
    env: Env,
) -> None:
    env.meeting(at=NOW - timedelta(days=400), attendees=[_accepted(CLIENT)])
    env.meeting(at=NOW - timedelta(days=4), attendees=[_accepted(CLIENT)])
    await env.sync()
    env.meeting(at=NOW - timedelta(hours=2), attendees=[_accepted("x@other.example")])

    summary = await env.sync()

    first, second = env.fake.calls_to("events.list")
    assert first.query["singleEvents"] == ["true"] and "timeMin" in first.query
    assert "syncToken" in second.query and "timeMin" not in second.query
    assert summary.imported == 1
    assert await env.meetings() == 2  # the meeting 400 days ago is before the start


async def test_expired_sync_token_leads_to_a_full_relisting_not_a_failure(
    env: Env,
) -> None:
    env.meeting(at=NOW - timedelta(days=4), attendees=[_accepted(CLIENT)])
    await env.sync()
    env.fake.expire_sync_tokens(ALICE)
    env.meeting(at=NOW - timedelta(hours=2), attendees=[_accepted("x@other.example")])

    summary = await env.sync()

    statuses = [c.status for c in env.fake.calls_to("events.list")]
    assert statuses == [200, 410, 200]
    assert summary.error is None and summary.deferred == []
    assert summary.skipped["sync token expired, re-listed"] == 1
    assert summary.imported == 1 and summary.duplicates == 1
    assert await env.meetings() == 2


async def test_nothing_is_lost_or_doubled_when_a_page_is_cut_and_rerun(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(calendar, "PAGE_SIZE", 10)
    for n in range(25):
        env.meeting(
            at=NOW - timedelta(days=30 - n), attendees=[_accepted(f"c{n}@acme.example")]
        )
    env.fake.fail_next("events.list", status=None, disconnect=True, times=3, after=1)

    first = await env.sync(attempts=3)

    assert first.deferred == [ALICE] and await env.meetings() == 10
    cursor = await scalar(
        env.db, "SELECT cursor FROM sync_state WHERE source = 'calendar'"
    )
    assert cursor is None

    second = await env.sync()

    assert second.imported == 15 and second.duplicates == 10
    assert await env.meetings() == 25


async def test_rate_limits_are_retried_with_backoff_when_calendar_answers_403(
    env: Env,
) -> None:
    env.meeting(at=NOW - timedelta(days=1), attendees=[_accepted(CLIENT)])
    env.fake.fail_next("events.list", status=403, times=2)

    summary = await env.sync()

    assert summary.imported == 1 and summary.retries == 2
    assert len(env.sleeps.waits) == 2


async def test_second_run_changes_nothing_when_the_calendar_is_unchanged(
    env: Env,
) -> None:
    env.meeting(at=NOW - timedelta(days=1), attendees=[_accepted(CLIENT)])
    env.meeting(at=NOW + timedelta(days=1), attendees=[_accepted(CLIENT)])
    await env.sync()
    before = await count_rows(env.db)

    summary = await env.sync()

    assert await count_rows(env.db) == before
    assert summary.imported == 0 and await env.upcoming() == 1


async def test_no_title_description_or_location_is_stored(env: Env, tmp_path) -> None:
    env.meeting(
        at=NOW - timedelta(days=1),
        attendees=[_accepted(CLIENT)],
        summary="Project Nightingale merger",
        description="Strictly confidential agenda",
        location="Board room 7",
    )
    env.meeting(
        at=NOW + timedelta(days=1),
        attendees=[_accepted(CLIENT)],
        summary="Project Nightingale follow-up",
    )

    await env.sync()

    await env.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("rapport.db*"))
    assert await env.meetings() == 1 and await env.upcoming() == 1
    for text in (b"Nightingale", b"confidential", b"Board room"):
        assert text not in stored


async def test_revoked_calendar_access_is_recorded_while_others_sync(
    env: Env,
) -> None:
    await add_colleague(env.db, BOB, slack_id="UBOB")
    env.meeting(at=NOW - timedelta(days=1), attendees=[_accepted(CLIENT)])
    env.meeting(
        at=NOW - timedelta(days=1),
        calendar_id=BOB,
        organizer=BOB,
        attendees=[_accepted("x@other.example")],
    )
    env.fake.revoke_user(BOB)

    summary = await env.sync()

    assert summary.problems == [(BOB, "unauthorized_client")]
    assert summary.imported == 1 and summary.accounts == 1


async def test_forgetting_an_account_drops_its_held_meetings_and_cursor(
    env: Env,
) -> None:
    env.meeting(at=NOW + timedelta(days=1), attendees=[_accepted(CLIENT)])
    await env.sync()

    async with transaction(env.db):
        await forget_account(env.db, ALICE)

    assert await env.upcoming() == 0
    assert await scalar(env.db, "SELECT COUNT(*) FROM sync_state") == 0
