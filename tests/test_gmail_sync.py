"""Gmail capture against the fake Google APIs, through `run_capture`."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import timedelta

import pytest
import pytest_asyncio

from bot.capture import gmail
from bot.capture.email_import import EmailImporter
from bot.capture.gmail_batch import encode_batch
from bot.capture.mail_headers import parse_headers
from bot.capture.sync import problem_users, run_capture
from bot.capture.sync_summary import SyncSummary
from bot.cli import main
from bot.services import Services
from storage.interactions import count_rows
from tests.fakes.google_api import FakeGoogle
from tests.fakes.google_errors import error_body
from tests.fakes.slack_api import DEFAULT_BOT_TOKEN, FakeSlackApi
from tests.google_helpers import (
    ALICE,
    BOB,
    CAROL,
    NOW,
    Clock,
    Sleeps,
    add_colleague,
    batch_sizes,
    deliver,
    google_settings,
    mail,
    make_services,
    scalar,
)


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
            self.services, sources=("gmail",), backoff=backoff
        )
        return summaries[0]

    async def interactions(self) -> int:
        # Every stored time is timezone-aware UTC, whatever zone the Date had.
        assert not await scalar(
            self.db,
            "SELECT COUNT(*) FROM interactions WHERE occurred_at NOT LIKE '%+00:00'",
        )
        return await scalar(self.db, "SELECT COUNT(*) FROM interactions")

    async def message_keys(self) -> int:
        return await scalar(
            # Keys are stored hashed: a message stored with its Message-ID
            # carries two keys (that and the header fingerprint).
            self.db,
            "SELECT COUNT(*) FROM (SELECT interaction_id FROM interaction_keys"
            " GROUP BY interaction_id HAVING COUNT(*) = 2)",
        )

    async def cursor(self, mailbox: str = ALICE) -> str | None:
        return await scalar(
            self.db,
            "SELECT cursor FROM sync_state WHERE source = 'gmail' AND scope = ?",
            (mailbox,),
        )

    async def pending(self, mailbox: str = ALICE) -> int:
        return await scalar(
            self.db, "SELECT COUNT(*) FROM gmail_pending WHERE mailbox = ?", (mailbox,)
        )

    def history_id(self, message_id: str, mailbox: str = ALICE) -> int:
        return self.fake.mailbox(mailbox).messages[message_id].history_id


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


# ---- batches and back-off -------------------------------------------------------


async def test_only_the_seven_failed_parts_are_retried_when_a_batch_of_fifty_has_429s(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(50))
    env.fake.fail_next("batch_part", status=429, times=7, after=43)

    summary = await env.sync()

    assert batch_sizes(env.fake) == [50, 7]
    assert len(env.sleeps.waits) == 1 and env.sleeps.waits[0] > 0
    refused = [c.path for c in env.fake.calls if c.in_batch and c.status == 429]
    retried = [c.path for c in env.fake.calls if c.in_batch][50:]
    assert sorted(retried) == sorted(refused) and len(refused) == 7
    assert summary.imported == 50 and summary.pending == 0
    assert await env.interactions() == 50
    assert await env.message_keys() == 50


async def test_batches_never_exceed_fifty_parts_when_a_mailbox_holds_many_messages(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(120))

    summary = await env.sync()

    assert batch_sizes(env.fake) == [50, 50, 20]
    assert summary.imported == 120


async def test_failing_parts_stay_pending_and_the_cursor_holds_when_retries_run_out(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(5))
    await env.sync()
    new_ids = deliver(env.fake, ALICE, range(100, 150))
    # The last 7 parts fail in the first batch and in both retries.
    env.fake.fail_next("batch_part", status=429, times=21, after=43)

    summary = await env.sync(attempts=3)

    assert batch_sizes(env.fake)[1:] == [50, 7, 7]
    assert summary.pending == 7 and await env.pending() == 7
    assert await env.interactions() == 5 + 43
    last_stored, first_failing = (
        env.history_id(new_ids[42]),
        env.history_id(new_ids[43]),
    )
    assert int(await env.cursor()) == last_stored < first_failing

    again = await env.sync()

    assert again.pending == 0 and await env.pending() == 0
    assert await env.interactions() == 55
    assert await env.message_keys() == 55
    assert int(await env.cursor()) == env.fake.mailbox(ALICE).history_id


async def test_history_cursor_is_not_set_when_first_listing_leaves_parts_pending(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(50))
    env.fake.fail_next("batch_part", status=503, times=21, after=43)

    first = await env.sync(attempts=3)

    assert first.pending == 7
    assert await env.cursor() is None
    assert first.deferred == [ALICE]

    second = await env.sync()

    assert second.imported == 7 and second.pending == 0
    assert await env.interactions() == 50
    assert int(await env.cursor()) == env.fake.mailbox(ALICE).history_id


async def test_server_errors_are_retried_with_backoff_when_gmail_answers_500(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(30))
    env.fake.fail_next("messages.list", status=500, times=2)
    env.fake.fail_next("batch", status=503, times=1)

    summary = await env.sync()

    assert summary.imported == 30 and summary.deferred == []
    assert len(env.sleeps.waits) == 3
    # Exponential: each wait longer than the one before.
    assert env.sleeps.waits[0] < env.sleeps.waits[1]
    assert summary.retries == 3


async def test_retry_after_of_a_rate_limited_part_is_waited_out(env: Env) -> None:
    deliver(env.fake, ALICE, range(3))
    env.fake.fail_next("batch_part", status=429, headers={"Retry-After": "7"})

    summary = await env.sync()

    assert summary.imported == 3
    assert env.sleeps.waits == [7.0]


def test_a_batch_of_more_than_fifty_parts_is_refused_before_it_is_sent() -> None:
    paths = {f"m{n}": f"/gmail/v1/users/me/messages/{n:x}" for n in range(51)}

    with pytest.raises(ValueError, match="at most 50"):
        encode_batch(paths)


async def test_forbidden_rate_limit_is_retried_when_gmail_answers_403(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(3))
    body = error_body(403, "userRateLimitExceeded")
    env.fake.fail_next("messages.list", status=403, body=body, times=1)

    summary = await env.sync()

    assert summary.imported == 3 and summary.problems == []
    assert len(env.sleeps.waits) == 1


async def test_nothing_is_lost_or_doubled_when_a_listing_page_is_cut_and_rerun(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(gmail, "LIST_PAGE", 40)
    deliver(env.fake, ALICE, range(100))
    env.fake.fail_next("messages.list", status=None, disconnect=True, times=3, after=1)

    first = await env.sync(attempts=3)

    assert first.deferred == [ALICE]
    assert await env.interactions() == 40
    assert await env.cursor() is None
    calls_before = len(env.fake.calls)

    second = await env.sync()

    resumed = [c for c in env.fake.calls[calls_before:] if c.kind == "messages.list"]
    assert "pageToken" in resumed[0].query  # the listing resumed, not restarted
    assert second.imported == 60 and second.duplicates == 0
    assert await env.interactions() == 100
    assert await env.message_keys() == 100


async def test_nothing_is_lost_or_doubled_when_batches_are_cut_and_rerun(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(60))
    env.fake.fail_next("batch", status=None, disconnect=True, times=3, after=1)

    first = await env.sync(attempts=3)

    assert first.deferred == [ALICE]
    assert await env.interactions() == 50
    assert first.pending == 10

    second = await env.sync()

    assert second.imported == 10 and second.pending == 0
    assert await env.interactions() == 60
    assert await env.message_keys() == 60


async def test_nothing_is_lost_or_doubled_when_the_run_is_killed_mid_sync(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(120))
    env.fake.fail_next("batch", status=None, delay=1.0, after=1)
    run = asyncio.create_task(env.sync())
    while len(batch_sizes(env.fake)) < 2:
        await asyncio.sleep(0.01)

    run.cancel()  # killed while the second batch is on the wire
    with pytest.raises(asyncio.CancelledError):
        await run
    assert await env.interactions() == 50

    summary = await env.sync()

    assert summary.imported == 70 and summary.pending == 0
    assert await env.interactions() == 120
    assert await env.message_keys() == 120


# ---- history --------------------------------------------------------------------


async def test_later_runs_read_history_when_the_first_listing_is_done(env: Env) -> None:
    deliver(env.fake, ALICE, range(10))
    await env.sync()
    deliver(env.fake, ALICE, range(10, 13))
    calls_before = len(env.fake.calls)

    summary = await env.sync()

    kinds = {c.kind for c in env.fake.calls[calls_before:]}
    assert "history.list" in kinds and "messages.list" not in kinds
    assert summary.imported == 3
    assert int(await env.cursor()) == env.fake.mailbox(ALICE).history_id


async def test_expired_history_id_leads_to_a_bounded_relisting_not_a_failure(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    deliver(env.fake, ALICE, range(120))
    await env.sync()
    env.clock.advance(days=1)
    deliver(env.fake, ALICE, range(500, 505), when=NOW + timedelta(hours=20))
    env.fake.expire_history(ALICE)
    monkeypatch.setattr(gmail, "LIST_PAGE", 50)
    calls_before = len(env.fake.calls)

    summary = await env.sync()

    new_calls = env.fake.calls[calls_before:]
    assert [c.status for c in new_calls if c.kind == "history.list"] == [404]
    # Listing stopped at mail older than the last sync: one page, not three.
    assert len([c for c in new_calls if c.kind == "messages.list"]) == 1
    assert summary.error is None and summary.deferred == []
    assert summary.skipped["history expired, re-listed"] == 1
    assert summary.imported == 5 and summary.duplicates == 0
    assert await env.interactions() == 125
    assert int(await env.cursor()) == env.fake.mailbox(ALICE).history_id


async def test_second_run_changes_nothing_when_the_mailbox_is_unchanged(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(20))
    await env.sync()
    before = await count_rows(env.db)
    batches = len(batch_sizes(env.fake))

    summary = await env.sync()

    assert await count_rows(env.db) == before
    assert summary.imported == 0 and summary.duplicates == 0
    assert len(batch_sizes(env.fake)) == batches


# ---- several mailboxes ----------------------------------------------------------


async def test_one_revoked_user_is_skipped_and_recorded_while_the_others_sync(
    env: Env,
) -> None:
    await add_colleague(env.db, BOB, slack_id="UBOB")
    await add_colleague(env.db, CAROL, slack_id="UCAROL")
    deliver(env.fake, ALICE, range(3))
    deliver(env.fake, BOB, range(10, 13), to=BOB)
    deliver(env.fake, CAROL, range(20, 23), to=CAROL)
    env.fake.revoke_user(BOB)

    summary = await env.sync()

    assert summary.problems == [(BOB, "unauthorized_client")]
    assert summary.imported == 6 and summary.accounts == 2
    problems = await problem_users(env.db)
    assert [(p.mailbox, p.api, p.reason) for p in problems] == [
        (BOB, "gmail", "unauthorized_client")
    ]

    env.fake.revoked_users.discard(BOB)
    again = await env.sync()

    assert again.problems == [] and again.imported == 3
    assert await problem_users(env.db) == []


async def test_user_is_recorded_as_unauthenticated_when_gmail_keeps_answering_401(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(3))
    await env.sync()
    env.fake.fail_next("history.list", status=401, times=2)

    summary = await env.sync()

    assert summary.problems == [(ALICE, "unauthenticated")]
    # One fresh token was tried before giving up.
    assert len(env.fake.calls_to("token")) == 3


async def test_same_message_in_two_mailboxes_is_one_interaction(env: Env) -> None:
    await add_colleague(env.db, BOB, slack_id="UBOB")
    headers = mail(1, to=f"{ALICE}, {BOB}")
    env.fake.add_message(ALICE, headers)
    env.fake.add_message(BOB, headers)

    summary = await env.sync()

    assert summary.imported == 1 and summary.duplicates == 1
    assert await env.interactions() == 1


async def test_message_already_imported_from_mbox_is_not_stored_again(
    env: Env,
) -> None:
    headers = mail(1)
    raw = "".join(f"{k}: {v}\n" for k, v in headers.items()).encode()
    importer = EmailImporter(env.db, source="mbox", internal_domains=("firm.example",))
    await importer.add(parse_headers(raw), channel=None)
    await importer.flush()
    env.fake.add_message(ALICE, headers)

    summary = await env.sync()

    assert summary.imported == 0 and summary.duplicates == 1
    assert await env.interactions() == 1


async def test_opted_out_and_departed_colleagues_mailboxes_are_never_read(
    env: Env,
) -> None:
    await add_colleague(env.db, BOB, slack_id="UBOB", opted_out=True)
    await add_colleague(env.db, CAROL, slack_id="UCAROL", deleted=True)
    deliver(env.fake, BOB, range(3), to=BOB)
    deliver(env.fake, CAROL, range(3, 6), to=CAROL)

    summary = await env.sync()

    subjects = {grant.subject for grant in env.fake.grants.values()}
    assert subjects == {ALICE}
    assert summary.imported == 0 and summary.accounts == 1


# ---- what is kept of a message --------------------------------------------------


async def test_malformed_metadata_is_counted_when_date_or_from_is_bad(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(3))
    received = NOW - timedelta(days=3)
    env.fake.add_message(
        ALICE, mail(10, Date="not a date at all"), internal_date=received
    )
    env.fake.add_message(ALICE, mail(11, From="undisclosed-recipients:;"))
    # The last part (the oldest message) answers 200 without any payload.
    env.fake.fail_next("batch_part", status=200, body={"id": "0"}, times=1, after=4)

    summary = await env.sync()

    assert summary.imported == 3  # the badly dated one counts, dated on arrival
    assert summary.skipped["dated from internalDate"] == 1
    assert summary.skipped["no usable From"] == 1
    assert summary.skipped["malformed metadata"] == 1
    assert summary.pending == 0
    assert (
        await scalar(
            env.db,
            "SELECT COUNT(*) FROM interactions WHERE occurred_at = ?",
            (received.isoformat(),),
        )
        == 1
    )
    before = await count_rows(env.db)

    again = await env.sync()

    # The bad ones were counted, not left pending: the next run completes and
    # changes nothing.
    assert again.ok and again.imported == 0 and again.pending == 0
    assert await count_rows(env.db) == before


async def test_only_metadata_headers_are_asked_for_and_no_subject_is_stored(
    env: Env, tmp_path
) -> None:
    deliver(env.fake, ALICE, range(3))

    await env.sync()

    asked = [c for c in env.fake.calls if c.kind == "messages.get"]
    assert all(c.query["format"] == ["metadata"] for c in asked)
    assert all("Subject" not in c.query["metadataHeaders"] for c in asked)
    assert all("q" not in c.query for c in env.fake.calls_to("messages.list"))
    await env.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    stored = b"".join(p.read_bytes() for p in tmp_path.glob("rapport.db*"))
    assert b"Confidential subject" not in stored


async def test_automated_mail_is_skipped_when_it_carries_list_headers(
    env: Env,
) -> None:
    env.fake.add_message(ALICE, mail(1, **{"List-Id": "<news.acme.example>"}))
    env.fake.add_message(ALICE, mail(2))

    summary = await env.sync()

    assert summary.imported == 1 and summary.skipped["automated"] == 1


# ---- the run as a whole -----------------------------------------------------------


async def test_one_info_line_is_logged_and_the_graph_refreshed_after_a_sync(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    deliver(env.fake, ALICE, range(2))
    caplog.set_level(logging.INFO, logger="bot.capture.sync")

    await env.sync()

    lines = [r.getMessage() for r in caplog.records if r.name == "bot.capture.sync"]
    assert len(lines) == 1 and lines[0].startswith("gmail: 1 accounts, 2 imported")
    graph, _ = await env.services.graphs.current()
    assert any(not person.is_colleague for person in graph.people.values())


async def test_a_failing_source_is_logged_once_and_the_others_still_run(
    env: Env, caplog: pytest.LogCaptureFixture, tmp_path
) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    env.services.settings = replace(
        env.services.settings, google_service_account_file=broken
    )
    caplog.set_level(logging.INFO)

    summaries = await run_capture(env.services, sources=("gmail", "calendar"))

    assert [s.ok for s in summaries] == [False, False]
    assert "RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE" in summaries[0].error
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage().split()[0] for r in errors] == ["gmail", "calendar"]


async def test_tokens_and_keys_never_reach_the_log_when_syncing_at_debug_level(
    env: Env, caplog: pytest.LogCaptureFixture
) -> None:
    deliver(env.fake, ALICE, range(3))
    env.fake.fail_next("batch_part", status=429, times=1)
    caplog.set_level(logging.DEBUG)

    await env.sync()

    text = caplog.text
    assert env.fake.grants and not any(token in text for token in env.fake.grants)
    assert "PRIVATE KEY" not in text and "assertion" not in text


def test_sync_command_prints_a_summary_when_google_is_not_configured(
    tmp_path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in (
        "RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE",
        "RAPPORT_GOOGLE_OAUTH_TOKENS_DIR",
    ):
        monkeypatch.delenv(name, raising=False)

    code = main(["--db", str(tmp_path / "cli.db"), "sync", "gmail"])

    assert code == 0
    assert capsys.readouterr().out.strip() == (
        "gmail: not configured (set RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE"
        " or RAPPORT_GOOGLE_OAUTH_TOKENS_DIR)"
    )


async def test_all_sources_in_one_run_read_the_mailboxes_of_slack_members(
    env: Env,
) -> None:
    async with FakeSlackApi() as slack:
        slack.state.add_user("U0BEA0001", name="bea", email="bea@firm.example")
        slack.state.add_user("U0ALICE01", name="alice", email=ALICE)
        env.services.settings = replace(
            env.services.settings,
            slack_bot_token=DEFAULT_BOT_TOKEN,
            slack_api_url=slack.base_url,
        )
        deliver(env.fake, "bea@firm.example", range(2), to="bea@firm.example")

        summaries = await run_capture(env.services, backoff=env.sleeps.backoff())

    assert [s.source for s in summaries] == ["slack", "gmail", "calendar"]
    assert all(s.ok for s in summaries)
    assert summaries[0].line().startswith("slack sync:")
    # Bea is known from Slack only, and her mailbox is read in the same run.
    assert summaries[1].imported == 2 and summaries[1].accounts == 2
    subjects = {grant.subject for grant in env.fake.grants.values()}
    assert "bea@firm.example" in subjects


async def test_two_overlapping_runs_in_one_process_never_interleave(
    env: Env,
) -> None:
    deliver(env.fake, ALICE, range(3))
    env.fake.fail_next("messages.list", status=None, delay=0.2)

    first, second = await asyncio.gather(env.sync(), env.sync())

    kinds = [c.kind for c in env.fake.calls]
    second_token = [i for i, kind in enumerate(kinds) if kind == "token"][1]
    assert kinds.index("history.list") > second_token > kinds.index("batch")
    assert first.imported + second.imported == 3


async def test_user_token_mailboxes_sync_like_delegated_ones(
    env: Env, tmp_path
) -> None:
    folder = tmp_path / "tokens"
    folder.mkdir()
    env.fake.add_refresh_token(
        "1//alice",
        client_id="client-1",
        client_secret="secret",
        user=ALICE,
        scopes=["https://www.googleapis.com/auth/gmail.metadata"],
    )
    info = {"client_id": "client-1", "client_secret": "secret"}
    info |= {"refresh_token": "1//alice", "account": ALICE}
    (folder / "alice.json").write_text(json.dumps(info), encoding="utf-8")
    env.services.settings = replace(
        env.services.settings,
        google_service_account_file=None,
        google_oauth_tokens_dir=folder,
    )
    deliver(env.fake, ALICE, range(4))

    summary = await env.sync()

    assert summary.imported == 4 and summary.problems == []
    assert env.fake.calls_to("token")[0].form["grant_type"] == "refresh_token"


async def test_admins_are_told_once_when_a_users_google_access_is_revoked(
    env: Env,
) -> None:
    from dataclasses import replace

    from slack_sdk.web.async_client import AsyncWebClient

    from bot.delivery import report_capture_problems

    await add_colleague(env.db, BOB, slack_id="UBOB")
    deliver(env.fake, ALICE, range(2))
    env.fake.revoke_user(BOB)
    settings = replace(env.services.settings, admin_user_ids=("UADMIN0001",))
    services = replace(env.services, settings=settings)
    async with FakeSlackApi() as slack:
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=slack.base_url)

        await env.sync()
        first = await report_capture_problems(services, client)
        await env.sync()
        repeated = await report_capture_problems(services, client)
        env.fake.revoked_users.discard(BOB)
        await env.sync()
        await report_capture_problems(services, client)
        env.fake.revoke_user(BOB)
        await env.sync()
        again = await report_capture_problems(services, client)

        posts = slack.calls_to("chat.postMessage")

    assert (first, repeated, again) == (1, 0, 1)
    assert [p.params["channel"] for p in posts] == ["UADMIN0001", "UADMIN0001"]
    assert BOB in posts[0].params["text"] and "gmail" in posts[0].params["text"]
