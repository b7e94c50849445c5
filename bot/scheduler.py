"""What `rapport serve` runs by itself: capture every N minutes, due work each minute.

APScheduler only says *when to look*; what to do comes from the database. Its
in-memory jobs are re-created at each start (the next capture is N minutes
away, a missed 9:00 is not replayed), which is why digests and reminders are
derived from the database by the due-work tick rather than scheduled as jobs.

Each run opens a database connection of its own: SQLite transactions belong
to a connection, and a job's BEGIN must not land inside a transaction that a
Slack handler has open on the shared one.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery import Sender, process_owner, report_capture_problems
from bot.due_work import run_due_work
from bot.services import Services
from storage.connection import open_db
from storage.leases import acquire_lease, release_lease

logger = logging.getLogger(__name__)

CAPTURE_JOB = "capture"
DUE_WORK_JOB = "due-work"
DUE_WORK_SECONDS = 60
# A capture that could not start on time still runs if it is this late.
CAPTURE_MISFIRE_GRACE_SECONDS = 300
# A late tick is simply skipped: the next one finds the same due work.
DUE_WORK_MISFIRE_GRACE_SECONDS = 30
# Give the server a moment to come up before the first capture.
FIRST_CAPTURE_DELAY = timedelta(seconds=10)

CAPTURE_LEASE = "capture"
LEASE_TTL = timedelta(minutes=10)
LEASE_RENEW_SECONDS = 120.0
# Not bot.capture.sync's own "capture_lock", which run_capture waits on while
# this one is held: one lock inside the other would deadlock.
_GUARD_KEY = "capture_guard"

Capture = Callable[[Services], Awaitable[object]]


def start_scheduler(
    services: Services,
    client: AsyncWebClient,
    *,
    capture: Capture | None = None,
) -> AsyncIOScheduler:
    """Register and start both jobs on the running event loop.

    `capture` replaces `bot.capture.sync.run_capture` (tests pass a stand-in).
    """
    settings = services.settings
    jobs = _Jobs(services, client, capture=capture)
    scheduler = AsyncIOScheduler(timezone=UTC)
    now = datetime.now(UTC)
    scheduler.add_job(
        jobs.capture,
        "interval",
        minutes=settings.sync_interval_minutes,
        id=CAPTURE_JOB,
        name="capture Slack, Gmail and Calendar metadata",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=CAPTURE_MISFIRE_GRACE_SECONDS,
        next_run_time=now + FIRST_CAPTURE_DELAY,
    )
    scheduler.add_job(
        jobs.due_work,
        "interval",
        seconds=DUE_WORK_SECONDS,
        id=DUE_WORK_JOB,
        name="send due digests and reminders",
        max_instances=1,
        coalesce=True,
        misfire_grace_time=DUE_WORK_MISFIRE_GRACE_SECONDS,
        # At once: whatever fell due while the bot was down goes out now.
        next_run_time=now,
    )
    scheduler.start()
    logger.info(
        "Scheduler started: capture every %d min, due work every %d s",
        settings.sync_interval_minutes,
        DUE_WORK_SECONDS,
    )
    return scheduler


class _Jobs:
    def __init__(
        self, services: Services, client: AsyncWebClient, *, capture: Capture | None
    ) -> None:
        self._services = services
        self._client = client
        self._capture = capture
        # One owner for every claim and lease this process makes.
        self._owner = process_owner()

    async def capture(self) -> None:
        try:
            async with self._own_connection() as services:
                ran = await capture_now(
                    services, capture=self._capture, owner=self._owner
                )
                if ran:
                    await report_capture_problems(services, self._client)
        except Exception:
            # Logged once here; the next run resumes from the last committed cursor.
            logger.exception("Scheduled capture failed")

    async def due_work(self) -> None:
        try:
            async with self._own_connection() as services:
                sender = Sender(services, self._client, owner=self._owner)
                await run_due_work(services, sender)
        except Exception:
            logger.exception("Due work failed; the next tick tries again")

    @asynccontextmanager
    async def _own_connection(self) -> AsyncIterator[Services]:
        """The services with a connection opened for this run and closed after it.

        Per run rather than per process: a run cut short by shutdown still
        closes what it opened, and nothing outlives the scheduler.
        """
        path = str(self._services.settings.db_path)
        if path == ":memory:":
            yield self._services
            return
        async with open_db(path) as db:
            yield replace(self._services, db=db)


async def capture_now(
    services: Services, *, capture: Capture | None = None, owner: str | None = None
) -> bool:
    """Run one capture unless one is already running; False when it skipped.

    Skipped when another run holds this process's guard or the database lease
    (a `rapport sync` from the command line, a second bot on the same file).
    `bot.capture.sync.run_capture` rebuilds the graph at its end.
    """
    async with capture_exclusively(services, owner=owner) as acquired:
        if not acquired:
            logger.info("A capture is already running; skipping this one")
            return False
        started = time.perf_counter()
        runner = capture or _default_capture
        await runner(services)
        logger.debug("Capture took %.1fs", time.perf_counter() - started)
    return True


@asynccontextmanager
async def capture_exclusively(
    services: Services, *, owner: str | None = None
) -> AsyncIterator[bool]:
    """Hold the capture lock and lease for the block; yields False if taken.

    The asyncio lock covers this process (the scheduled run and one started
    by hand); the lease in the database covers other processes on the same
    file. The lease is renewed while the block runs, and expires by itself
    if this process dies.
    """
    lock: asyncio.Lock = services.extras.setdefault(_GUARD_KEY, asyncio.Lock())
    if lock.locked():
        yield False
        return
    owner = owner or process_owner()
    async with lock:
        taken = await acquire_lease(
            services.db, CAPTURE_LEASE, owner=owner, now=services.clock(), ttl=LEASE_TTL
        )
        if not taken:
            yield False
            return
        renewer = asyncio.create_task(_renew(services, owner))
        try:
            yield True
        finally:
            renewer.cancel()
            await asyncio.gather(renewer, return_exceptions=True)
            await release_lease(services.db, CAPTURE_LEASE, owner=owner)


async def _renew(services: Services, owner: str) -> None:
    while True:
        await asyncio.sleep(LEASE_RENEW_SECONDS)
        if not await acquire_lease(
            services.db, CAPTURE_LEASE, owner=owner, now=services.clock(), ttl=LEASE_TTL
        ):
            logger.warning("Lost the capture lease to another process")
            return


async def _default_capture(services: Services) -> object:
    # Imported here: the capture package is large and only this job needs it.
    from bot.capture.sync import run_capture

    return await run_capture(services)
