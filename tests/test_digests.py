"""Weekly digests: derived from the database, sent once, at local time, rightly."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.digests import preview_digest, set_digests_enabled
from handlers.blocks.common import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from storage.digests import DeliveryKey, all_deliveries, delivery_statuses
from tests.digest_world import ADMIN_ID, World, digest_world, local

ADA, BOB, CAT = "U0ADA00001", "U0BOB00001", "U0CAT00001"
LONDON, NEW_YORK = "Europe/London", "America/New_York"
# Monday 25 March 2024, 09:00 in London (still GMT; BST starts on the 31st).
DUE = local(LONDON, 2024, 3, 25, 9)


async def seed_firm(world: World) -> dict[str, int]:
    """Ada (London) with an account going cold, a new one, a colleague's logs."""
    ids = {
        "ada": await world.colleague(ADA, "Ada", tz=LONDON),
        "bob": await world.colleague(BOB, "Bob", tz=NEW_YORK),
        "acme": await world.org("Acme", "acme.example"),
        "globex": await world.org("Globex", "globex.example"),
    }
    ids["carol"] = await world.contact("Carol", ids["acme"])
    ids["dave"] = await world.contact("Dave", ids["globex"])
    ada, carol, dave = ids["ada"], ids["carol"], ids["dave"]
    # Strong over the quarter before the silence, then silent for 47 days.
    for days in range(110, 46, -7):
        at = DUE - timedelta(days=days)
        await world.email(at, ada, carol)
        await world.email(at + timedelta(hours=2), carol, ada)
    await world.meeting(DUE - timedelta(days=47), ada, carol)
    # Met this week for the first time, both ways.
    await world.email(DUE - timedelta(days=3), ada, dave)
    await world.email(DUE - timedelta(days=2), dave, ada)
    await world.log(
        ids["bob"],
        org_id=ids["acme"],
        at=DUE - timedelta(days=2),
        note="<!channel> renewal & <@U0EVIL0001> pricing",
    )
    await world.log(
        ids["bob"],
        org_id=ids["acme"],
        at=DUE - timedelta(days=1),
        note="bob-only-me-secret",
        private=True,
    )
    await world.log(
        ada,
        org_id=ids["globex"],
        at=DUE - timedelta(days=6),
        note="ada-private-plan",
        private=True,
        followup_on=date(2024, 3, 27),
    )
    return ids


async def test_digest_sent_once_when_bot_is_down_across_its_due_time(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        world.clock.set(DUE - timedelta(minutes=5))
        await world.run_until(DUE - timedelta(seconds=10), step=timedelta(seconds=10))
        assert world.posts_to(ADA) == []

        # Down from 08:59:50 to 09:00:40; the new process ticks as it starts.
        await world.stop_process()
        world.clock.set(DUE + timedelta(seconds=40))
        await world.start_process()
        await world.run_until(DUE + timedelta(hours=2), step=timedelta(minutes=1))

        posts = world.posts_to(ADA)
        assert len(posts) == 1
        assert posts[0].at == DUE + timedelta(seconds=40)
        assert "Week of Mon 25 Mar" in posts[0].body


async def test_each_digest_posted_once_when_two_processes_share_the_database(tmp_path):
    async with digest_world(tmp_path, digest_channel="C0DIGEST01") as world:
        world.fake.state.add_channel("C0DIGEST01", name="clients", members=[ADMIN_ID])
        ids = await seed_firm(world)
        colleagues = [ADA]
        for n in range(8):
            slack_id = f"U0PEER{n:04d}"
            peer = await world.colleague(slack_id, f"Peer{n}", tz=LONDON)
            await world.log(
                peer,
                org_id=ids["acme"],
                at=DUE - timedelta(days=3),
                note=f"peer {n}",
                followup_on=date(2024, 3, 25),
            )
            colleagues.append(slack_id)
        second = await world.start_process()
        first = world.processes[0]
        world.clock.set(DUE)

        await asyncio.gather(
            *(world.tick(p) for _ in range(3) for p in (first, second))
        )

        # Ada gets her digest; each peer a digest and a 9:00 reminder.
        assert len(world.posts_to(ADA)) == 1
        for slack_id in colleagues[1:]:
            assert len(world.posts_to(slack_id)) == 2, slack_id
        assert len(world.posts_to("C0DIGEST01")) == 1
        rows = await all_deliveries(world.db)
        assert {r.status for r in rows} == {"sent"}
        # Both processes did some of the work: the claims really raced.
        assert len({r.owner for r in rows}) == 2


async def test_digests_arrive_once_at_local_time_through_weeks_with_a_restart(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada", tz=LONDON)
        bob = await world.colleague(BOB, "Bob", tz=NEW_YORK)
        acme = await world.org("Acme", "acme.example")
        mondays = [date(2024, 3, 4) + timedelta(weeks=n) for n in range(5)]
        for person in (ada, bob):
            for monday in mondays:
                await world.log(
                    person,
                    org_id=acme,
                    at=local(LONDON, 2024, 3, 1),
                    note=f"plan for {monday}",
                    followup_on=monday + timedelta(days=2),
                )
        world.clock.set(local(LONDON, 2024, 3, 3, 12))

        # Across New York's DST change (10 March) and London's (31 March),
        # restarting on Wednesday 20 March.
        await world.run_until(
            local(LONDON, 2024, 3, 20, 12), step=timedelta(minutes=30)
        )
        await world.restart()
        await world.run_until(local(LONDON, 2024, 4, 2, 12), step=timedelta(minutes=30))

        for slack_id, zone in ((ADA, LONDON), (BOB, NEW_YORK)):
            digests = [p for p in world.posts_to(slack_id) if "Week of" in p.body]
            assert [p.at for p in digests] == [
                local(zone, m.year, m.month, m.day, 9).astimezone(UTC) for m in mondays
            ]
            for post, monday in zip(digests, mondays, strict=True):
                assert f"Week of Mon {monday.day} {monday:%b}" in post.body
                # This week's follow-up is listed as due; earlier ones as overdue.
                wednesday = monday + timedelta(days=2)
                assert f"due Wed {wednesday.day} {wednesday:%b}: plan for {monday}" in (
                    post.body
                )


async def test_digest_lists_followups_cold_new_and_colleague_logs(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        world.clock.set(DUE)
        await world.tick()

        [post] = world.posts_to(ADA)
        body = post.body
        assert "*Follow-ups due this week*" in body
        assert "Globex" in body and "due Wed 27 Mar" in body
        assert "*Going cold*" in body and "Carol (Acme)" in body
        assert "*New relationships*" in body and "Dave (Globex)" in body
        assert "*Logged by colleagues on your accounts*" in body
        assert "<@U0BOB00001>" in body
        # The note is shown literally: no @channel, no mention, no stray ampersand.
        assert "&lt;!channel&gt; renewal &amp; &lt;@U0EVIL0001&gt; pricing" in body
        assert "<!channel>" not in body and "<@U0EVIL0001>" not in body
        assert "Carol" not in post.text and "pricing" not in post.text


async def test_only_me_entries_appear_only_in_their_authors_messages(tmp_path):
    async with digest_world(tmp_path, digest_channel="C0DIGEST01") as world:
        world.fake.state.add_channel("C0DIGEST01", name="clients", members=[ADMIN_ID])
        ids = await seed_firm(world)
        # Bob is connected to Acme too, and has his own private entry there.
        await world.email(DUE - timedelta(days=20), ids["bob"], ids["carol"])
        await world.email(DUE - timedelta(days=19), ids["carol"], ids["bob"])
        world.clock.set(local(NEW_YORK, 2024, 3, 25, 9))
        await world.run_until(local(NEW_YORK, 2024, 3, 25, 10))

        [ada_post] = world.posts_to(ADA)
        [channel_post] = world.posts_to("C0DIGEST01")
        assert "ada-private-plan" in ada_post.body and "(only you)" in ada_post.body
        assert "bob-only-me-secret" not in ada_post.body
        assert "bob-only-me-secret" not in channel_post.body
        assert "ada-private-plan" not in channel_post.body
        everything = " ".join(p.body for p in world.posts())
        assert everything.count("bob-only-me-secret") == 0
        assert everything.count("ada-private-plan") == 1


async def test_channel_digest_lists_busy_and_new_organisations_and_team_logs(tmp_path):
    async with digest_world(tmp_path, digest_channel="C0DIGEST01") as world:
        world.fake.state.add_channel("C0DIGEST01", name="clients", members=[ADMIN_ID])
        ids = await seed_firm(world)
        initech = await world.org("Initech & <Sons>", "initech.example")
        erin = await world.contact("Erin", initech)
        for hours in (1, 2, 3):
            await world.email(DUE - timedelta(days=1, hours=hours), ids["ada"], erin)
        world.clock.set(DUE)
        await world.tick()

        [post] = world.posts_to("C0DIGEST01")
        body = post.body
        assert "*Most active organisations*" in body
        # Initech: 3 interactions this week; Globex: 2 (Dave); Acme: none.
        assert body.index("Initech &amp; &lt;Sons&gt;") < body.index("Globex")
        assert "*New organisations*" in body
        assert "*Logged this week*" in body
        assert "renewal" in body and "bob-only-me-secret" not in body
        # Acme is not new: its first interaction was months ago.
        new_section = next(b for b in post.blocks if "New organisations" in str(b))
        assert "Acme" not in new_section["text"]["text"]


async def test_nobody_gets_a_digest_when_deactivated_opted_out_or_turned_off(tmp_path):
    async with digest_world(tmp_path) as world:
        acme = await world.org("Acme", "acme.example")
        people = {
            ADA: await world.colleague(ADA, "Ada"),
            BOB: await world.colleague(BOB, "Bob", deleted=True),
            CAT: await world.colleague(CAT, "Cat", opted_out=True),
            "U0DAN00001": await world.colleague("U0DAN00001", "Dan"),
        }
        for person in people.values():
            await world.log(
                person,
                org_id=acme,
                at=DUE - timedelta(days=1),
                note="n",
                followup_on=date(2024, 3, 28),
            )
        answer = await set_digests_enabled(world.services, "U0DAN00001", False)
        assert "off" in answer["text"]
        world.clock.set(DUE)
        await world.run_until(DUE + timedelta(hours=3))

        assert len(world.posts_to(ADA)) == 1
        for slack_id in (BOB, CAT, "U0DAN00001"):
            assert world.posts_to(slack_id) == [], slack_id

        # Turned back on after this week's window: next Monday's comes.
        await world.run_until(DUE + timedelta(days=1))
        await set_digests_enabled(world.services, "U0DAN00001", True)
        await world.run_until(DUE + timedelta(days=7, hours=1))
        digests = [p for p in world.posts_to("U0DAN00001") if "Week of" in p.body]
        assert [p.at for p in digests] == [local(LONDON, 2024, 4, 1, 9)]
        for slack_id in (BOB, CAT):
            assert world.posts_to(slack_id) == [], slack_id


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        pytest.param("C0MISSING1", "channel_not_found", id="channel_not_found"),
        pytest.param("C0NOTIN001", "not_in_channel", id="not_in_channel"),
    ],
)
async def test_channel_errors_recorded_and_reported_once(tmp_path, channel, error):
    async with digest_world(tmp_path, digest_channel=channel) as world:
        world.fake.state.add_channel(
            "C0NOTIN001", name="elsewhere", members=[ADMIN_ID], is_member=False
        )
        ids = await seed_firm(world)
        await world.log(
            ids["bob"], org_id=ids["acme"], at=DUE + timedelta(days=3), note="week two"
        )
        world.clock.set(DUE)
        await world.run_until(DUE + timedelta(days=7, hours=2))

        rows = [
            r for r in await all_deliveries(world.db) if r.key.kind == "channel_digest"
        ]
        assert [(r.status, r.error) for r in rows] == [("skipped", error)] * 2
        alerts = world.posts_to(ADMIN_ID)
        assert len(alerts) == 1
        assert error in alerts[0].text
        # Personal digests still went out.
        assert len([p for p in world.posts_to(ADA) if "Week of" in p.body]) == 2


@pytest.mark.parametrize("error", ["account_inactive", "user_not_found"])
async def test_dm_errors_recorded_and_reported_once(tmp_path, error):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        world.fake.fail_next(
            "chat.postMessage",
            error=error,
            times=None,
            match=lambda params: params.get("channel") == ADA,
        )
        world.clock.set(DUE)
        await world.run_until(DUE + timedelta(days=7, hours=2))

        rows = [r for r in await all_deliveries(world.db) if r.key.target == "person:1"]
        assert rows and {(r.status, r.error) for r in rows} == {("skipped", error)}
        alerts = world.posts_to(ADMIN_ID)
        assert len(alerts) == 1 and "<@U0ADA00001>" in alerts[0].text
        # One attempt per message: a refusal is never retried.
        attempts = [
            c
            for c in world.fake.calls_to("chat.postMessage")
            if c.params.get("channel") == ADA
        ]
        assert len(attempts) == len(rows)


async def test_alert_comes_again_after_the_destination_worked_once(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        fault = world.fake.fail_next(
            "chat.postMessage",
            error="account_inactive",
            times=None,
            match=lambda params: params.get("channel") == ADA,
        )
        world.clock.set(DUE)
        await world.tick()
        world.fake.faults.remove(fault)
        await world.run_until(DUE + timedelta(days=7, hours=1))
        world.fake.fail_next(
            "chat.postMessage",
            error="account_inactive",
            match=lambda params: params.get("channel") == ADA,
        )
        await world.run_until(DUE + timedelta(days=14, hours=1))

        assert len(world.posts_to(ADMIN_ID)) == 2


async def test_rate_limited_post_waits_retry_after_then_posts_once(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        world.fake.fail_next("chat.postMessage", status=429, retry_after=3, times=2)
        world.clock.set(DUE)
        await world.tick()

        assert world.sleeps == [3.0, 3.0]
        assert len(world.posts_to(ADA)) == 1
        [row] = await all_deliveries(world.db)
        assert (row.status, row.attempts) == ("sent", 1)
        assert world.posts_to(ADMIN_ID) == []


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 429, "retry_after": 600}, id="long-retry-after"),
        pytest.param({"status": 503}, id="server-error"),
    ],
)
async def test_later_tick_retries_when_slack_is_unavailable(tmp_path, fault):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        world.fake.fail_next("chat.postMessage", **fault)
        world.clock.set(DUE)
        await world.tick()
        assert world.posts_to(ADA) == []
        [row] = await all_deliveries(world.db)
        assert row.status == "retry"

        await world.run_until(DUE + timedelta(minutes=30), step=timedelta(minutes=1))

        assert len(world.posts_to(ADA)) == 1
        [row] = await all_deliveries(world.db)
        assert (row.status, row.attempts) == ("sent", 2)
        assert world.posts_to(ADMIN_ID) == []


async def test_empty_digest_is_recorded_and_not_sent(tmp_path):
    async with digest_world(tmp_path) as world:
        await world.colleague(ADA, "Ada")
        world.clock.set(DUE)
        await world.run_until(DUE + timedelta(hours=1))

        assert world.posts_to(ADA) == []
        statuses = await delivery_statuses(
            world.db, [DeliveryKey("digest", "person:1", "2024-03-25")]
        )
        assert [r.status for r in statuses.values()] == ["empty"]


async def test_digest_missed_beyond_the_grace_window_is_not_sent_late(tmp_path):
    async with digest_world(tmp_path, delivery_grace_hours=12) as world:
        await seed_firm(world)
        world.clock.set(DUE + timedelta(hours=13))
        await world.tick()

        assert world.posts_to(ADA) == []


async def test_large_digest_stays_within_block_kit_limits(tmp_path):
    async with digest_world(tmp_path) as world:
        ids = await seed_firm(world)
        for n in range(60):
            org = await world.org(f"Client {n} " + "x" * 80, f"client{n}.example")
            contact = await world.contact(f"Contact {n}", org)
            await world.email(DUE - timedelta(days=2), ids["ada"], contact)
            await world.email(DUE - timedelta(days=1), contact, ids["ada"])
            await world.log(
                ids["ada"],
                org_id=org,
                at=DUE - timedelta(days=1),
                note="y" * 2900,
                followup_on=date(2024, 3, 26),
            )
        world.clock.set(DUE)
        await world.tick()

        [post] = world.posts_to(ADA)
        assert len(post.blocks) <= MAX_MESSAGE_BLOCKS
        for block in post.blocks:
            if block["type"] == "section":
                assert 1 <= len(block["text"]["text"]) <= MAX_SECTION_TEXT
        assert "more" in post.body


async def test_preview_shows_the_digest_now_without_sending(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        world.clock.set(DUE + timedelta(days=2))

        message = await preview_digest(world.services, ADA)

        assert message["blocks"][0]["text"]["text"] == "Your digest, as of now"
        assert "Dave (Globex)" in str(message["blocks"])
        assert world.posts() == []
        assert await all_deliveries(world.db) == []


async def test_preview_says_so_when_digests_are_off(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        await set_digests_enabled(world.services, ADA, False)
        world.clock.set(DUE)

        message = await preview_digest(world.services, ADA)

        assert "/rapport digest on" in str(message["blocks"])


@pytest.mark.parametrize(
    ("slack_id", "words"),
    [
        pytest.param("U0NOBODY01", "don't know you yet", id="unknown"),
        pytest.param(CAT, "opted out", id="opted-out"),
    ],
)
async def test_preview_explains_who_gets_no_digest(tmp_path, slack_id, words):
    async with digest_world(tmp_path) as world:
        await world.colleague(CAT, "Cat", opted_out=True)

        message = await preview_digest(world.services, slack_id)

        assert words in message["text"]


async def test_turning_digests_on_and_off_is_confirmed(tmp_path):
    async with digest_world(tmp_path) as world:
        await world.colleague(ADA, "Ada")

        off = await set_digests_enabled(world.services, ADA, False)
        on = await set_digests_enabled(world.services, ADA, True)
        unknown = await set_digests_enabled(world.services, "U0NOBODY01", True)

        assert "off" in off["text"] and "Mondays at 09:00" in on["text"]
        assert "don't know you yet" in unknown["text"]


async def test_digest_uses_default_timezone_when_slack_gave_none(tmp_path):
    async with digest_world(tmp_path, default_timezone="Asia/Tokyo") as world:
        person = await world.colleague(ADA, "Ada", tz=None)
        acme = await world.org("Acme", "acme.example")
        await world.log(
            person,
            org_id=acme,
            at=DUE - timedelta(days=3),
            note="n",
            followup_on=date(2024, 3, 26),
        )
        world.clock.set(local("Asia/Tokyo", 2024, 3, 24, 23))
        await world.run_until(local("Asia/Tokyo", 2024, 3, 25, 11))

        posts = [p for p in world.posts_to(ADA) if "Week of" in p.body]
        assert [p.at for p in posts] == [datetime(2024, 3, 25, 0, 0, tzinfo=UTC)]


async def test_digest_that_cannot_be_built_is_recorded_once_and_others_still_go(
    tmp_path, caplog
):
    async with digest_world(tmp_path) as world:
        ids = await seed_firm(world)
        cat = await world.colleague(CAT, "Cat", tz=LONDON)
        logged = await world.log(
            cat,
            org_id=ids["acme"],
            at=DUE - timedelta(days=1),
            note="n",
            followup_on=date(2024, 3, 26),
        )
        # A day no form could produce: building Cat's digest raises.
        await world.db.execute(
            "UPDATE followups SET due_on = '2024-02-30' WHERE logged_id = ?", (logged,)
        )
        world.clock.set(DUE)

        await world.run_until(DUE + timedelta(hours=2), step=timedelta(minutes=5))

        assert world.posts_to(CAT) == []
        assert len(world.posts_to(ADA)) == 1
        rows = await delivery_statuses(
            world.db, [DeliveryKey("digest", f"person:{cat}", "2024-03-25")]
        )
        assert [(r.status, r.error) for r in rows.values()] == [
            ("failed", "build_failed")
        ]
        assert caplog.text.count("Could not build digest") == 1


async def test_timed_out_post_is_not_retried_so_it_never_lands_twice(tmp_path):
    async with digest_world(tmp_path) as world:
        await seed_firm(world)
        # Slack answers too late: the message lands, but the bot never hears.
        world.fake.delay("chat.postMessage", 0.5)
        world.process.client.timeout = 0.2
        world.clock.set(DUE)
        await world.tick()
        world.fake.delay("chat.postMessage", 0.0)
        world.process.client.timeout = 30
        await asyncio.sleep(0.6)

        await world.run_until(DUE + timedelta(hours=1), step=timedelta(minutes=5))

        assert len(world.posts_to(ADA)) == 1
        [row] = [r for r in await all_deliveries(world.db) if r.key.kind == "digest"]
        assert (row.status, row.error) == ("unknown", "connection_lost")
        [alert] = world.posts_to(ADMIN_ID)
        assert "connection_lost" in alert.text
