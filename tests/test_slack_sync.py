"""Live Slack capture against the fake Web API on 127.0.0.1: paging, 429s, crashes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.capture.slack_api import SlackSyncSummary, sync_slack
from bot.graph import build_graph
from bot.queries import build_index, who_knows
from bot.settings import Settings
from storage.interactions import count_rows, key_hash
from tests.fakes.slack_api import BOT_USER_ID, DEFAULT_BOT_TOKEN, FakeSlackApi

SETTINGS = Settings(internal_domains=("firm.example",))
NOW = datetime(2024, 3, 1, tzinfo=UTC)
# Old enough to sit below the fake's `latest` (its clock is the real time).
BASE_TS = 1_700_000_000


def ts(n: int) -> str:
    return f"{BASE_TS + n * 60}.000100"


class FakeSleep:
    """Records what the sync asks to wait instead of waiting."""

    def __init__(self) -> None:
        self.durations: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.durations.append(seconds)


class Killed(Exception):
    """Stands for the process dying while the sync waits."""


@pytest.fixture
async def fake():
    async with FakeSlackApi() as api:
        yield api


async def sync(db, fake, *, sleep=None, **options) -> SlackSyncSummary:
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake.base_url)
    return await sync_slack(
        db,
        client,
        settings=options.pop("settings", SETTINGS),
        clock=lambda: NOW,
        sleep=sleep or FakeSleep(),
        **options,
    )


def two_colleagues(fake) -> None:
    fake.state.add_user("UANA", name="ana", email="ana@firm.example")
    fake.state.add_user("UBEN", name="ben", email="ben@firm.example")


def chatty_channel(fake, *, count: int, channel: str = "C1") -> None:
    """`count` messages, each one person mentioning the other."""
    fake.state.add_channel(channel, name="deals", members=["UANA", "UBEN"])
    for n in range(count):
        author, other = ("UANA", "UBEN") if n % 2 else ("UBEN", "UANA")
        fake.state.add_message(channel, text=f"<@{other}> hi", ts=ts(n), user=author)


async def scalar(db, sql: str, *params):
    async with db.execute(sql, params) as cursor:
        return (await cursor.fetchone())[0]


async def channel_cursor(db, channel: str) -> dict:
    text = await scalar(
        db,
        "SELECT cursor FROM sync_state WHERE source = 'slack' AND scope = ?",
        channel,
    )
    return json.loads(text)


async def assert_each_message_once(db, expected: int) -> None:
    assert await scalar(db, "SELECT COUNT(*) FROM interactions") == expected
    # Every stored time is timezone-aware UTC.
    assert (
        await scalar(
            db, "SELECT COUNT(*) FROM interactions WHERE occurred_at NOT LIKE '%+00:00'"
        )
        == 0
    )
    assert (
        await scalar(db, "SELECT COUNT(DISTINCT interaction_id) FROM interaction_keys")
        == expected
    )


# users.list ------------------------------------------------------------------


async def test_1001_people_after_two_calls_when_users_list_has_two_pages(db, fake):
    for n in range(1001):
        fake.state.add_user(f"U{n:05d}", name=f"person{n}", email=f"p{n}@firm.example")

    summary = await sync(db, fake, page_size=1000)

    calls = fake.calls_to("users.list")
    assert len(calls) == 2
    assert "cursor" not in calls[0].params
    assert (
        calls[1].params["cursor"]
        == calls[0].response["response_metadata"]["next_cursor"]
    )
    assert calls[1].response["response_metadata"]["next_cursor"] == ""
    assert await scalar(db, "SELECT COUNT(*) FROM people") == 1001
    assert await scalar(db, "SELECT COUNT(*) FROM people WHERE is_colleague") == 1001
    assert summary.members.seen == 1001
    assert summary.complete


async def test_second_sync_changes_nothing_when_nothing_changed_in_slack(db, fake):
    for n in range(1001):
        fake.state.add_user(f"U{n:05d}", name=f"person{n}", email=f"p{n}@firm.example")
    two_colleagues(fake)
    chatty_channel(fake, count=6)
    fake.state.add_message(
        "C1", text="thread reply", ts=ts(7), user="UANA", thread_ts=ts(0)
    )
    await sync(db, fake, page_size=1000)
    before = await count_rows(db)
    replies_before = len(fake.calls_to("conversations.replies"))

    again = await sync(db, fake, page_size=1000)

    assert await count_rows(db) == before
    assert again.messages.imported == 0
    assert again.messages.duplicates == 6
    # The thread is unchanged, so it is not read again.
    assert len(fake.calls_to("conversations.replies")) == replies_before == 1


# conversations.history and 429 ------------------------------------------------


async def test_waits_retry_after_and_retries_same_cursor_when_page_two_is_rate_limited(
    db, fake
):
    two_colleagues(fake)
    chatty_channel(fake, count=12)
    fake.fail_next(
        "conversations.history",
        status=429,
        retry_after=2,
        match=lambda params: bool(params.get("cursor")),
    )
    sleep = FakeSleep()

    summary = await sync(db, fake, sleep=sleep, page_size=5)

    history = fake.calls_to("conversations.history")
    assert [c.status for c in history] == [200, 429, 200, 200]
    assert history[1].params["cursor"] == history[2].params["cursor"]
    assert sleep.durations == [2.0]
    assert summary.rate_limited == 1
    assert summary.messages.imported == 12
    assert summary.complete
    await assert_each_message_once(db, 12)


async def test_run_ends_with_cursor_saved_when_rate_limited_again_and_again(db, fake):
    two_colleagues(fake)
    chatty_channel(fake, count=12)
    fault = fake.fail_next(
        "conversations.history",
        status=429,
        retry_after=2,
        times=None,
        match=lambda params: bool(params.get("cursor")),
    )
    sleep = FakeSleep()

    stopped = await sync(db, fake, sleep=sleep, page_size=5, max_consecutive_429=3)

    assert stopped.stopped == "conversations.history ratelimited"
    assert stopped.rate_limited == 3
    assert sleep.durations == [2.0, 2.0]
    saved = await channel_cursor(db, "C1")
    limited = fake.calls_to("conversations.history")[-1]
    assert saved["running"] and saved["page"] == limited.params["cursor"]
    await assert_each_message_once(db, 5)

    fake.faults.remove(fault)
    resumed = await sync(db, fake, page_size=5)

    first = [c for c in fake.calls_to("conversations.history") if c.status == 200][-2]
    assert first.params["cursor"] == saved["page"]
    assert resumed.complete
    assert resumed.messages.imported == 7
    await assert_each_message_once(db, 12)
    assert not (await channel_cursor(db, "C1"))["running"]


async def test_waits_one_second_when_429_comes_without_retry_after(db, fake):
    two_colleagues(fake)
    chatty_channel(fake, count=3)
    fake.fail_next("users.list", status=429)
    sleep = FakeSleep()

    summary = await sync(db, fake, sleep=sleep)

    assert sleep.durations == [1.0]
    assert summary.rate_limited == 1 and summary.complete
    await assert_each_message_once(db, 3)


# Crashes ------------------------------------------------------------------------


def third_history_call_and_later():
    seen: list[str] = []

    def match(params) -> bool:
        seen.append(params.get("cursor", ""))
        return len(seen) >= 3

    return match


async def test_resumes_from_last_committed_page_when_page_three_answers_500(db, fake):
    two_colleagues(fake)
    chatty_channel(fake, count=12)
    fault = fake.fail_next(
        "conversations.history",
        status=500,
        times=None,
        match=third_history_call_and_later(),
    )

    failed = await sync(db, fake, page_size=5)

    assert failed.channels_failed == 1
    assert failed.errors["fatal_error"] == 1
    await assert_each_message_once(db, 10)
    saved = await channel_cursor(db, "C1")
    assert saved["running"]
    assert saved["page"] == fake.calls_to("conversations.history")[-1].params["cursor"]

    fake.faults.remove(fault)
    resumed = await sync(db, fake, page_size=5)

    resumed_history = fake.calls_to("conversations.history")[-1]
    assert resumed_history.params["cursor"] == saved["page"]
    assert resumed.complete and resumed.messages.imported == 2
    await assert_each_message_once(db, 12)


async def test_nothing_lost_or_repeated_when_the_process_dies_mid_channel(db, fake):
    two_colleagues(fake)
    chatty_channel(fake, count=12)
    fake.fail_next(
        "conversations.history",
        status=429,
        retry_after=1,
        match=third_history_call_and_later(),
    )

    async def die(seconds: float) -> None:
        raise Killed

    with pytest.raises(Killed):
        await sync(db, fake, sleep=die, page_size=5)
    await assert_each_message_once(db, 10)

    resumed = await sync(db, fake, page_size=5)

    assert resumed.complete and resumed.messages.imported == 2
    await assert_each_message_once(db, 12)


# Incremental --------------------------------------------------------------------


async def test_only_new_messages_and_replies_stored_when_channel_grows(db, fake):
    two_colleagues(fake)
    chatty_channel(fake, count=4)
    await sync(db, fake)
    fake.state.add_message("C1", text="<@UBEN> more", ts=ts(20), user="UANA")
    fake.state.add_message(
        "C1", text="late reply", ts=ts(21), user="UANA", thread_ts=ts(0)
    )

    grown = await sync(db, fake)

    assert grown.messages.imported == 2
    await assert_each_message_once(db, 6)
    history = fake.calls_to("conversations.history")[-1]
    assert float(history.params["oldest"]) < float(ts(3))
    roles = await scalar(
        db,
        "SELECT group_concat(role) FROM interaction_participants ip"
        " JOIN interaction_keys k ON k.interaction_id = ip.interaction_id"
        " WHERE k.key_hash = ?",
        key_hash(f"slack:T0FAKE0001:C1:{ts(21)}"),
    )
    assert sorted(roles.split(",")) == ["from", "reply"]


# Slack Connect and bots -----------------------------------------------------------


def shared_channel_with_outsider_and_bot(fake, *, team_info: bool = True) -> None:
    fake.state.add_user("UANA", name="ana", email="ana@firm.example")
    fake.state.add_user(
        "UBOT", name="deploybot", is_bot=True, profile={"bot_id": "B0DEPLOY"}
    )
    fake.state.add_channel(
        "CSHARED",
        name="acme-shared",
        members=["UANA", "UOUT", "UBOT"],
        is_ext_shared=True,
        is_shared=True,
    )
    outsider = {
        "id": "UOUT",
        "team_id": "TGLOBEX",
        "name": "olga",
        "real_name": "Olga Outside",
        "deleted": False,
        "is_bot": False,
        "is_stranger": True,
        "profile": {"real_name": "Olga Outside", "team": "TGLOBEX"},
    }
    fake.fail_next(
        "users.info",
        body={"ok": True, "user": outsider},
        times=None,
        match=lambda params: params.get("user") == "UOUT",
    )
    if team_info:
        globex = {"id": "TGLOBEX", "name": "Globex Corporation", "domain": "globex"}
        fake.fail_next(
            "team.info",
            body={"ok": True, "team": {**globex, "email_domain": "globex.example"}},
            times=None,
            match=lambda params: params.get("team") == "TGLOBEX",
        )
    else:
        fake.fail_next("team.info", error="missing_scope", times=None)
    state = fake.state
    state.add_message("CSHARED", text="<@UANA> shall we sign?", ts=ts(1), user="UOUT")
    state.add_message("CSHARED", text="yes", ts=ts(2), user="UANA", thread_ts=ts(1))
    state.add_message(
        "CSHARED", text="<@UANA> deployed", ts=ts(3), user="UBOT", bot_id="B0DEPLOY"
    )
    state.add_message("CSHARED", text="<@UBOT> deploy", ts=ts(4), user="UANA")


async def test_outsider_becomes_contact_of_their_org_when_only_users_info_knows_them(
    db, fake
):
    shared_channel_with_outsider_and_bot(fake)

    summary = await sync(db, fake)

    assert summary.complete
    assert summary.members.without_email == 2  # the outsider and the bot
    assert summary.members.external == 1 and summary.members.bots == 1
    row = await (
        await db.execute(
            "SELECT p.display_name, p.slack_team_id, p.is_colleague, o.name, d.domain"
            " FROM people p JOIN organisations o ON o.id = p.org_id"
            " JOIN org_domains d ON d.org_id = o.id WHERE p.slack_user_id = 'UOUT'"
        )
    ).fetchone()
    assert tuple(row) == (
        "Olga Outside",
        "TGLOBEX",
        0,
        "Globex Corporation",
        "globex.example",
    )
    assert summary.messages.imported == 2
    assert summary.messages.skipped["bot"] == 1
    assert summary.messages.skipped["no one else"] == 1


async def test_bot_is_never_ranked_when_it_writes_in_a_shared_channel(db, fake):
    shared_channel_with_outsider_and_bot(fake)
    await sync(db, fake)

    graph = await build_graph(db, as_of=NOW)
    answer = who_knows(graph, build_index(graph), "Globex")

    bot_id = await scalar(db, "SELECT id FROM people WHERE slack_user_id = 'UBOT'")
    assert await scalar(db, "SELECT is_bot FROM people WHERE id = ?", bot_id) == 1
    assert bot_id not in graph.people
    assert [c.name for c in answer.people] == ["Ana"]
    assert [k.name for k in answer.people[0].contacts] == ["Olga Outside"]
    assert not await scalar(
        db, "SELECT COUNT(*) FROM interaction_participants WHERE person_id = ?", bot_id
    )


async def test_outsider_kept_by_slack_id_and_team_when_team_info_is_refused(db, fake):
    shared_channel_with_outsider_and_bot(fake, team_info=False)

    summary = await sync(db, fake)

    assert summary.errors["missing_scope"] == 1
    assert summary.messages.imported == 2
    row = await (
        await db.execute(
            "SELECT slack_team_id, org_id, is_colleague FROM people"
            " WHERE slack_user_id = 'UOUT'"
        )
    ).fetchone()
    assert tuple(row) == ("TGLOBEX", None, 0)


async def test_slack_user_joins_email_person_when_the_address_is_already_known(
    db, fake
):
    await db.execute(
        "INSERT INTO people (id, display_name, created_at) VALUES (7, 'J. Doe', 'x')"
    )
    await db.execute(
        "INSERT INTO email_addresses VALUES ('jane@acme.example', 'Jane@Acme.Example',"
        " 'acme.example', 7)"
    )
    fake.state.add_user(
        "UJANE", name="jane", email="jane+slack@acme.example", team_id="TACME"
    )

    summary = await sync(db, fake)

    assert summary.members.linked_by_email == 1
    assert await scalar(db, "SELECT COUNT(*) FROM people") == 1
    assert await scalar(db, "SELECT slack_user_id FROM people WHERE id = 7") == "UJANE"
    assert await scalar(db, "SELECT display_name FROM people WHERE id = 7") == "Jane"


# Privacy ------------------------------------------------------------------------


async def test_excluded_and_opted_out_people_are_never_captured(db, fake):
    two_colleagues(fake)
    fake.state.add_user("UOPT", name="opal", email="opal@firm.example")
    fake.state.add_user("UEXC", name="exa", email="exa@secret.example")
    fake.state.add_channel("C1", name="deals", members=["UANA", "UOPT", "UEXC"])
    settings = Settings(
        internal_domains=("firm.example",), excluded_domains=("secret.example",)
    )
    await sync(db, fake, settings=settings)
    await db.execute("UPDATE people SET opted_out = 1 WHERE slack_user_id = 'UOPT'")
    fake.state.add_message("C1", text="<@UANA> hi", ts=ts(1), user="UOPT")
    fake.state.add_message("C1", text="<@UANA> hi", ts=ts(2), user="UEXC")
    fake.state.add_message("C1", text="<@UOPT> <@UEXC> <@UBEN>", ts=ts(3), user="UANA")

    summary = await sync(db, fake, settings=settings)

    assert summary.messages.skipped["opted out"] == 1
    assert summary.messages.skipped["excluded"] == 1
    assert summary.members.excluded == 1
    assert (
        await scalar(db, "SELECT COUNT(*) FROM people WHERE slack_user_id = 'UEXC'")
        == 0
    )
    roles = await scalar(
        db,
        "SELECT group_concat(p.slack_user_id || ':' || ip.role)"
        " FROM interaction_participants ip JOIN people p ON p.id = ip.person_id",
    )
    assert sorted(roles.split(",")) == ["UANA:from", "UBEN:mention"]


# Other failures -------------------------------------------------------------------


async def test_other_channels_sync_when_one_answers_not_in_channel(db, fake):
    two_colleagues(fake)
    chatty_channel(fake, count=3, channel="C1")
    chatty_channel(fake, count=3, channel="C2")
    fake.fail_next(
        "conversations.history",
        error="not_in_channel",
        times=None,
        match=lambda params: params.get("channel") == "C1",
    )

    summary = await sync(db, fake)

    assert summary.errors["not_in_channel"] == 1
    assert summary.channels_failed == 1 and summary.channels_done == 1
    await assert_each_message_once(db, 3)


async def test_run_ends_cleanly_with_nothing_written_when_token_is_revoked(db, fake):
    two_colleagues(fake)
    fake.state.revoked_tokens.add(DEFAULT_BOT_TOKEN)

    summary = await sync(db, fake)

    assert summary.stopped == "auth.test token_revoked"
    assert (await count_rows(db))["people"] == 0


async def test_dm_members_counted_when_group_dm_has_three_people(db, fake):
    two_colleagues(fake)
    fake.state.add_user("UCAT", name="cat", email="cat@acme.example", team_id="TACME")
    fake.state.add_channel(
        "G1",
        name="mpdm-ana--ben--cat-1",
        members=[BOT_USER_ID, "UANA", "UBEN", "UCAT"],
        is_mpim=True,
        is_private=True,
    )
    fake.state.add_im("UANA")
    fake.state.add_message("G1", text="lunch?", ts=ts(1), user="UCAT")
    fake.state.add_message(f"D{'UANA'[1:]}", text="help", ts=ts(2), user="UANA")

    summary = await sync(db, fake)

    assert summary.messages.imported == 1
    # A DM with the bot itself is nobody else.
    assert summary.messages.skipped["no one else"] == 1
    roles = await scalar(
        db,
        "SELECT group_concat(p.slack_user_id || ':' || ip.role)"
        " FROM interaction_participants ip JOIN people p ON p.id = ip.person_id",
    )
    assert sorted(roles.split(",")) == ["UANA:member", "UBEN:member", "UCAT:from"]
