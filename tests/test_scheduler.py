"""The scheduler: its jobs and triggers, one capture at a time, due work at start."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, date, datetime, timedelta

from apscheduler.triggers.interval import IntervalTrigger
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import Sender
from bot.due_work import run_due_work
from bot.scheduler import (
    CAPTURE_JOB,
    CAPTURE_LEASE,
    DUE_WORK_JOB,
    LEASE_TTL,
    capture_exclusively,
    capture_now,
    start_scheduler,
)
from storage.digests import DeliveryKey, all_deliveries, claim_delivery
from storage.leases import acquire_lease, lease_holder
from tests.digest_world import World, digest_world, local
from tests.fakes.slack_api import DEFAULT_BOT_TOKEN
from tests.slack_harness import wait_for

ADA = "U0ADA00001"
LONDON = "Europe/London"


class SlowCapture:
    """A capture that runs until released, counting how many run at once."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started = 0
        self.release = asyncio.Event()

    async def __call__(self, services) -> None:
        self.started += 1
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await self.release.wait()
        finally:
            self.running -= 1


async def stop(scheduler) -> None:
    """Shut down, then let jobs already running finish with their connections."""
    scheduler.shutdown(wait=False)
    current = asyncio.current_task()
    running = [t for t in asyncio.all_tasks() if t is not current and not t.done()]
    if running:
        await asyncio.wait(running, timeout=2.0)


def client_for(world: World) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=world.fake.base_url)


async def test_jobs_registered_with_interval_triggers_and_one_instance_each(tmp_path):
    async with digest_world(tmp_path, sync_interval_minutes=17) as world:
        capture = SlowCapture()
        scheduler = start_scheduler(world.services, client_for(world), capture=capture)
        try:
            capture_job = scheduler.get_job(CAPTURE_JOB)
            due_job = scheduler.get_job(DUE_WORK_JOB)

            assert isinstance(capture_job.trigger, IntervalTrigger)
            assert capture_job.trigger.interval == timedelta(minutes=17)
            assert isinstance(due_job.trigger, IntervalTrigger)
            assert due_job.trigger.interval == timedelta(minutes=1)
            for job in (capture_job, due_job):
                assert job.max_instances == 1
                assert job.coalesce is True
                assert job.misfire_grace_time and job.misfire_grace_time > 1
            # Capture waits for the server to come up; due work starts at once.
            assert capture_job.next_run_time > due_job.next_run_time
        finally:
            await stop(scheduler)
            capture.release.set()


async def test_missed_digest_is_sent_when_the_scheduler_starts(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada", tz=LONDON)
        acme = await world.org("Acme", "acme.example")
        await world.log(
            ada,
            org_id=acme,
            at=local(LONDON, 2024, 3, 20),
            note="n",
            followup_on=date(2024, 3, 27),
        )
        # The bot comes back at 09:00:40 after missing Monday's 09:00.
        world.clock.set(local(LONDON, 2024, 3, 25, 9, 0, 40))
        capture = SlowCapture()

        scheduler = start_scheduler(world.services, client_for(world), capture=capture)
        try:
            await wait_for(lambda: _sent(world), message="the digest recorded as sent")
        finally:
            await stop(scheduler)
            capture.release.set()

        [post] = world.posts_to(ADA)
        assert "Week of Mon 25 Mar" in post.body


async def _sent(world: World) -> bool:
    rows = await all_deliveries(world.db)
    return bool(rows) and all(row.status == "sent" for row in rows)


async def test_second_capture_in_one_process_is_skipped_while_first_runs(tmp_path):
    async with digest_world(tmp_path) as world:
        capture = SlowCapture()
        first = asyncio.create_task(capture_now(world.services, capture=capture))
        await wait_for(lambda: capture.started, message="first capture")

        skipped = await capture_now(world.services, capture=capture)
        capture.release.set()

        assert skipped is False
        assert await first is True
        assert capture.started == 1 and capture.most == 1


async def test_capture_in_another_process_is_skipped_while_the_lease_is_held(tmp_path):
    async with digest_world(tmp_path) as world:
        other = await world.start_process()
        first_process = world.processes[0]
        capture = SlowCapture()
        first = asyncio.create_task(
            capture_now(first_process.services, capture=capture, owner="one")
        )
        await wait_for(lambda: capture.started, message="first capture")

        skipped = await capture_now(other.services, capture=capture, owner="two")
        assert await lease_holder(other.services.db, CAPTURE_LEASE) == "one"
        capture.release.set()
        assert await first is True
        ran = await capture_now(other.services, capture=capture, owner="two")

        assert skipped is False and ran is True
        assert capture.most == 1 and capture.started == 2
        assert await lease_holder(other.services.db, CAPTURE_LEASE) is None


async def test_capture_lease_is_taken_over_once_a_dead_holder_lets_it_expire(tmp_path):
    async with digest_world(tmp_path) as world:
        now = world.clock.now
        assert await acquire_lease(
            world.db, CAPTURE_LEASE, owner="died", now=now, ttl=LEASE_TTL
        )

        async with capture_exclusively(world.services, owner="alive") as early:
            assert early is False
        world.clock.advance(seconds=LEASE_TTL.total_seconds() + 1)
        async with capture_exclusively(world.services, owner="alive") as later:
            assert later is True
            assert await lease_holder(world.db, CAPTURE_LEASE) == "alive"


async def test_scheduler_never_runs_two_captures_at_once(tmp_path, caplog):
    async with digest_world(tmp_path) as world:
        capture = SlowCapture()
        scheduler = start_scheduler(world.services, client_for(world), capture=capture)
        try:
            job = scheduler.get_job(CAPTURE_JOB)
            job.modify(next_run_time=datetime.now(UTC))
            await wait_for(lambda: capture.started, message="first capture")
            with caplog.at_level(logging.WARNING, logger="apscheduler"):
                job.modify(next_run_time=datetime.now(UTC))
                await wait_for(
                    lambda: "maximum number of running instances" in caplog.text,
                    message="APScheduler to refuse a second instance",
                )
            assert capture.started == 1 and capture.most == 1
        finally:
            capture.release.set()
            await wait_for(lambda: _no_lease(world), message="the capture to end")
            await stop(scheduler)


async def test_failed_capture_is_logged_and_the_next_run_still_works(tmp_path, caplog):
    async with digest_world(tmp_path) as world:
        calls = []

        async def flaky(services) -> None:
            calls.append(1)
            if len(calls) == 1:
                raise RuntimeError("gmail fell over")

        scheduler = start_scheduler(world.services, client_for(world), capture=flaky)
        try:
            job = scheduler.get_job(CAPTURE_JOB)
            job.modify(next_run_time=datetime.now(UTC))
            await wait_for(lambda: len(calls) == 1, message="first capture")
            await wait_for(
                lambda: "Scheduled capture failed" in caplog.text, message="the log"
            )
            job.modify(next_run_time=datetime.now(UTC))
            await wait_for(lambda: len(calls) == 2, message="second capture")
            # The failed run gave its lease back.
            await wait_for(
                lambda: _no_lease(world), message="lease released after the runs"
            )
        finally:
            await stop(scheduler)


async def _no_lease(world: World) -> bool:
    return await lease_holder(world.db, CAPTURE_LEASE) is None


async def test_second_claim_of_the_same_message_is_refused(tmp_path):
    async with digest_world(tmp_path) as world:
        key = DeliveryKey("digest", "person:1", "2024-03-25")
        now = world.clock.now

        first = await claim_delivery(world.db, key, owner="a", now=now, due_at=now)
        second = await claim_delivery(world.db, key, owner="b", now=now, due_at=now)

        assert (first, second) == (1, 0)


async def test_claim_left_by_a_dead_process_is_never_resent(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada", tz=LONDON)
        acme = await world.org("Acme", "acme.example")
        await world.log(
            ada,
            org_id=acme,
            at=local(LONDON, 2024, 3, 20),
            note="n",
            followup_on=date(2024, 3, 27),
        )
        due = local(LONDON, 2024, 3, 25, 9)
        world.clock.set(due)
        # A process claimed the digest and died before recording the outcome.
        key = DeliveryKey("digest", f"person:{ada}", "2024-03-25")
        await claim_delivery(world.db, key, owner="died", now=due, due_at=due)

        await world.run_until(due + timedelta(hours=3), step=timedelta(minutes=5))

        assert world.posts_to(ADA) == []
        [row] = await all_deliveries(world.db)
        assert (row.status, row.error) == ("unknown", "abandoned_claim")


async def test_sender_records_the_message_where_slack_put_it(tmp_path):
    async with digest_world(tmp_path) as world:
        ada = await world.colleague(ADA, "Ada", tz=LONDON)
        acme = await world.org("Acme", "acme.example")
        await world.log(
            ada,
            org_id=acme,
            at=local(LONDON, 2024, 3, 20),
            note="n",
            followup_on=date(2024, 3, 27),
        )
        world.clock.set(local(LONDON, 2024, 3, 25, 9))
        sender = Sender(world.services, client_for(world), owner="me")

        await run_due_work(world.services, sender)

        [row] = await all_deliveries(world.db)
        [post] = world.posts_to(ADA)
        assert (row.owner, row.slack_channel) == ("me", post.landed_in)
        assert row.slack_ts is not None
