"""Follow-up reminders: 9:00 local on both sides of DST, once, with working buttons."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import Sender
from bot.digests import set_digests_enabled
from handlers.blocks import reminder as blocks
from storage import crm
from storage.digests import all_deliveries
from tests.digest_world import Process, World, digest_world, local
from tests.fakes.slack_api import DEFAULT_BOT_TOKEN
from tests.slack_harness import DEFAULT_USER_ID, FakeClock, running_slack_app

ADA, BOB = "U0ADA00001", "U0BOB00001"
LONDON, NEW_YORK = "Europe/London", "America/New_York"


async def followup(
    world: World, person: int, due: date, *, note: str = "call back", private=False
) -> int:
    n = next(world._ids)
    acme = await world.org(f"Acme {n}", f"acme-{n}.example")
    return await world.log(
        person,
        org_id=acme,
        at=datetime.combine(due - timedelta(days=10), datetime.min.time(), UTC),
        note=note,
        private=private,
        followup_on=due,
    )


def reminders(world: World, slack_id: str) -> list:
    return [p for p in world.posts_to(slack_id) if "Follow-up due today" in p.body]


@pytest.mark.parametrize(
    ("zone", "before", "after"),
    [
        pytest.param(LONDON, date(2024, 3, 29), date(2024, 4, 2), id="london-march"),
        pytest.param(
            LONDON, date(2024, 10, 25), date(2024, 10, 29), id="london-october"
        ),
        pytest.param(
            NEW_YORK, date(2024, 3, 8), date(2024, 3, 12), id="new-york-march"
        ),
        pytest.param(
            NEW_YORK, date(2024, 11, 1), date(2024, 11, 5), id="new-york-november"
        ),
    ],
)
async def test_reminder_arrives_at_nine_local_on_both_sides_of_dst(
    tmp_path, zone, before, after
):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada", tz=zone)
        for due in (before, after):
            await followup(world, ada, due)
        start = before - timedelta(days=1)
        world.clock.set(local(zone, start.year, start.month, start.day))

        await world.run_until(
            local(zone, after.year, after.month, after.day, 23),
            step=timedelta(minutes=15),
        )

        arrived = [
            p.at.astimezone(local(zone, 2024, 1, 1).tzinfo)
            for p in reminders(world, ADA)
        ]
        assert [(a.date(), a.hour, a.minute) for a in arrived] == [
            (before, 9, 0),
            (after, 9, 0),
        ]
        # One of the two is an hour apart in UTC from the other: the zone moved.
        offsets = {a.utcoffset() for a in arrived}
        assert len(offsets) == 2


async def test_reminder_uses_default_timezone_when_slack_gave_none(tmp_path):
    async with digest_world(tmp_path, default_timezone=NEW_YORK) as world:
        ada = await world.colleague(ADA, "Ada", tz=None)
        await followup(world, ada, date(2024, 3, 20))
        world.clock.set(local(NEW_YORK, 2024, 3, 20))

        await world.run_until(local(NEW_YORK, 2024, 3, 20, 12))

        [post] = reminders(world, ADA)
        assert post.at == local(NEW_YORK, 2024, 3, 20, 9).astimezone(UTC)


async def test_reminder_shows_escaped_note_and_three_buttons(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada")
        logged = await followup(
            world,
            ada,
            date(2024, 3, 20),
            note="<!here> ask about <@U0X> & fees",
            private=True,
        )
        item = await world.followup_of(logged)
        world.clock.set(local(LONDON, 2024, 3, 20, 9))

        await world.tick()

        [post] = reminders(world, ADA)
        assert "&lt;!here&gt; ask about &lt;@U0X&gt; &amp; fees" in post.body
        assert "<!here>" not in post.body and "fees" not in post.text
        assert "Only you can see this entry." in post.body
        [buttons] = [b["elements"] for b in post.blocks if b["type"] == "actions"]
        assert [(b["text"]["text"], b["action_id"]) for b in buttons] == [
            ("Done", blocks.DONE_ACTION),
            ("Snooze a week", blocks.SNOOZE_ACTION),
            ("Log interaction", blocks.LOG_ACTION),
        ]
        assert buttons[0]["value"] == str(item.id)
        # DMs go straight to the user id; Slack puts them in the app's DM.
        assert post.channel == ADA and post.landed_in.startswith("D")
        assert world.fake.calls_to("conversations.open") == []


async def test_each_reminder_posted_once_when_two_processes_tick_together(tmp_path):
    async with digest_world(tmp_path) as world:
        people = [await world.colleague(f"U0P{n:07d}", f"P{n}") for n in range(6)]
        for person in people:
            for _ in range(3):
                await followup(world, person, date(2024, 3, 20))
        second = await world.start_process()
        first = world.processes[0]
        world.clock.set(local(LONDON, 2024, 3, 20, 9))

        await asyncio.gather(
            *(world.tick(p) for _ in range(2) for p in (first, second))
        )

        for n in range(6):
            assert len(reminders(world, f"U0P{n:07d}")) == 3
        rows = await all_deliveries(world.db)
        assert len(rows) == 18 and {r.status for r in rows} == {"sent"}
        # Both processes won some claims: the race was real.
        assert len({r.owner for r in rows}) == 2


async def test_reminder_missed_while_down_is_sent_once_on_restart(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada")
        await followup(world, ada, date(2024, 3, 20))
        world.clock.set(local(LONDON, 2024, 3, 20, 8, 50))
        await world.run_until(local(LONDON, 2024, 3, 20, 8, 59, 50))
        await world.stop_process()

        world.clock.set(local(LONDON, 2024, 3, 20, 10, 30))
        await world.start_process()
        await world.run_until(local(LONDON, 2024, 3, 21, 12))

        [post] = reminders(world, ADA)
        assert post.at == local(LONDON, 2024, 3, 20, 10, 30).astimezone(UTC)


async def test_reminder_not_sent_after_the_grace_window(tmp_path):
    async with digest_world(tmp_path, delivery_grace_hours=6) as world:
        ada = await world.colleague(ADA, "Ada")
        await followup(world, ada, date(2024, 3, 20))
        world.clock.set(local(LONDON, 2024, 3, 20, 15, 1))

        await world.run_until(local(LONDON, 2024, 3, 22))

        assert reminders(world, ADA) == []


async def test_no_reminder_for_deactivated_or_opted_out_owner_or_done_followup(
    tmp_path,
):
    async with digest_world(tmp_path) as world:
        gone = await world.colleague(ADA, "Ada", deleted=True)
        out = await world.colleague(BOB, "Bob", opted_out=True)
        cat = await world.colleague("U0CAT00001", "Cat")
        for person in (gone, out, cat):
            await followup(world, person, date(2024, 3, 20))
        done = await world.followup_of(
            await followup(world, cat, date(2024, 3, 20), note="finished")
        )
        await crm.mark_followup_done(world.db, done.id, done_at=world.clock.now)
        world.clock.set(local(LONDON, 2024, 3, 20))

        await world.run_until(local(LONDON, 2024, 3, 21))

        assert reminders(world, ADA) == [] and reminders(world, BOB) == []
        [post] = reminders(world, "U0CAT00001")
        assert "finished" not in post.body


async def test_reminders_still_come_when_digests_are_off(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada")
        await followup(world, ada, date(2024, 3, 20))
        await set_digests_enabled(world.services, ADA, False)
        world.clock.set(local(LONDON, 2024, 3, 18))

        await world.run_until(local(LONDON, 2024, 3, 21))

        assert len(reminders(world, ADA)) == 1
        assert [p for p in world.posts_to(ADA) if "Week of" in p.body] == []


# The buttons, through the real Bolt app -------------------------------------------


async def reminder_in_app(slack, *, due: date, private: bool = False):
    """Seed Ada's follow-up in the app's database and send its reminder."""
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.fake.base_url)
    world = World(
        slack.services.settings.db_path.parent,
        slack.fake,
        slack.clock,
        slack.settings,
        processes=[Process(slack.services, Sender(slack.services, client), client)],
    )
    slack.fake.state.clock = lambda: slack.clock.now.timestamp()
    ada = await world.person(
        "Ada", colleague=True, slack_user_id=DEFAULT_USER_ID, tz=LONDON
    )
    logged = await followup(world, ada, due, private=private)
    slack.clock.set(local(LONDON, due.year, due.month, due.day, 9))
    await world.tick()
    [post] = reminders(world, DEFAULT_USER_ID)
    return world, post, await world.followup_of(logged)


def click(slack, post, action_id: str, *, user_id: str = DEFAULT_USER_ID) -> dict:
    [buttons] = [b for b in post.blocks if b["type"] == "actions"]
    button = next(e for e in buttons["elements"] if e["action_id"] == action_id)
    return slack.block_actions(
        action_id,
        value=button["value"],
        block_id=buttons["block_id"],
        user_id=user_id,
        channel_id=post.landed_in,
        message={
            "type": "message",
            "ts": "1.0",
            "text": post.text,
            "blocks": post.blocks,
        },
    )


async def test_done_closes_the_followup_and_replaces_the_reminder(tmp_path):
    clock = FakeClock(datetime(2024, 3, 19, tzinfo=UTC))
    async with running_slack_app(tmp_path, clock=clock) as slack:
        world, post, item = await reminder_in_app(slack, due=date(2024, 3, 20))

        result = await slack.interactive(click(slack, post, blocks.DONE_ACTION))
        [answer] = await slack.wait_for_posts(result)

        assert result.status == 200
        assert answer.body["replace_original"] is True
        assert "marked done" in answer.body["text"]
        closed = await crm.get_followup(slack.db, item.id)
        assert closed is not None and closed.done_at is not None
        await world.run_until(local(LONDON, 2024, 3, 28))
        assert len(reminders(world, DEFAULT_USER_ID)) == 1


async def test_snooze_brings_the_reminder_back_a_week_later_at_nine(tmp_path):
    clock = FakeClock(datetime(2024, 3, 26, tzinfo=UTC))
    async with running_slack_app(tmp_path, clock=clock) as slack:
        world, post, item = await reminder_in_app(slack, due=date(2024, 3, 27))

        result = await slack.interactive(click(slack, post, blocks.SNOOZE_ACTION))
        [answer] = await slack.wait_for_posts(result)
        await world.run_until(local(LONDON, 2024, 4, 4), step=timedelta(minutes=30))

        assert "snoozed until Wed 3 Apr" in answer.body["text"]
        assert answer.body["replace_original"] is True
        arrived = [p.at for p in reminders(world, DEFAULT_USER_ID)]
        # The second one is after London's clocks went forward: still 9:00 local.
        assert arrived == [
            local(LONDON, 2024, 3, 27, 9).astimezone(UTC),
            local(LONDON, 2024, 4, 3, 9).astimezone(UTC),
        ]


async def test_someone_else_cannot_close_a_private_followup(tmp_path):
    clock = FakeClock(datetime(2024, 3, 19, tzinfo=UTC))
    async with running_slack_app(tmp_path, clock=clock) as slack:
        _, post, item = await reminder_in_app(
            slack, due=date(2024, 3, 20), private=True
        )

        result = await slack.interactive(
            click(slack, post, blocks.DONE_ACTION, user_id="U0MALLORY1")
        )
        [answer] = await slack.wait_for_posts(result)

        assert answer.body.get("replace_original") is False
        still_open = await crm.get_followup(slack.db, item.id)
        assert still_open is not None and still_open.done_at is None


async def test_log_button_opens_the_log_form_for_the_organisation(tmp_path):
    clock = FakeClock(datetime(2024, 3, 19, tzinfo=UTC))
    async with running_slack_app(tmp_path, clock=clock) as slack:
        _, post, item = await reminder_in_app(slack, due=date(2024, 3, 20))

        result = await slack.interactive(click(slack, post, blocks.LOG_ACTION))
        await slack.wait_for(
            lambda: slack.fake.calls_to("views.update"), message="views.update"
        )

        assert result.status == 200
        [opened] = slack.fake.calls_to("views.open")
        [updated] = slack.fake.calls_to("views.update")
        view = updated.params["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view["callback_id"] == "crm_log_form"
        assert item.org_name in json.dumps(view)
        assert updated.response["ok"] is True
