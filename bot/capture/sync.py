"""One capture run of Slack, Gmail and Calendar, for the CLI and the scheduler.

Sources run one after another; one that fails is logged once and the others
still run. Each finished source logs one INFO line with its counts and
duration, and the graph is rebuilt at the end so answers see the new edges.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

import aiohttp
import aiosqlite

from bot.capture.google_auth import (
    GoogleConfigError,
    load_google_auth,
    mailboxes_to_read,
)
from bot.capture.google_http import Backoff, GoogleApi
from bot.capture.imports import exclusions_from
from bot.capture.sync_summary import SyncSummary
from bot.settings import Settings
from storage import google as google_store
from storage.connection import connect

logger = logging.getLogger(__name__)

SOURCES = ("slack", "gmail", "calendar")
# Progress callback: (source, units done since the last call).
Progress = Callable[[str, int], None]


@dataclass
class _Run:
    settings: Settings
    db: aiosqlite.Connection
    clock: Callable[[], datetime]
    progress: Progress | None
    backoff: Backoff | None
    stack: AsyncExitStack
    google: tuple[GoogleApi, list[str]] | None = None
    google_checked: bool = False

    def tick(self, source: str) -> Callable[[int], None] | None:
        if self.progress is None:
            return None
        progress = self.progress
        return lambda n: progress(source, n)


async def run_capture(
    services,
    *,
    sources: Sequence[str] = SOURCES,
    progress: Progress | None = None,
    refresh: bool = True,
    backoff: Backoff | None = None,
) -> list[SyncSummary]:
    """Capture each of `sources` once; return one summary per source.

    Runs in this process never overlap. `refresh=False` skips the graph
    rebuild (the command line has no graph to keep current); `backoff`
    replaces the retry timing (tests make it instant).
    """
    unknown = [s for s in sources if s not in SOURCES]
    if unknown:
        raise ValueError(f"unknown capture sources: {', '.join(unknown)}")
    lock = services.extras.setdefault("capture_lock", asyncio.Lock())
    async with lock, AsyncExitStack() as stack:
        db = await stack.enter_async_context(_capture_connection(services.db))
        run = _Run(services.settings, db, services.clock, progress, backoff, stack)
        summaries = [await _run_source(run, source) for source in sources]
    if refresh:
        await services.graphs.refresh()
    return summaries


async def problem_users(db: aiosqlite.Connection) -> list[google_store.ProblemUser]:
    """Colleagues whose mailbox or calendar cannot be read, for telling admins."""
    return await google_store.problem_users(db)


@asynccontextmanager
async def _capture_connection(
    shared: aiosqlite.Connection,
) -> AsyncIterator[aiosqlite.Connection]:
    """A connection of the capture's own to the same database file.

    The app's connection is shared by every handler, and two transactions on
    one connection would interleave; a second connection makes SQLite queue
    them instead. An in-memory database can only be shared as it is.
    """
    async with shared.execute("PRAGMA database_list") as cursor:
        rows = await cursor.fetchall()
    path = next((row[2] for row in rows if row[1] == "main"), "")
    if not path:
        yield shared
        return
    db = await connect(path)
    try:
        yield db
    finally:
        await db.close()


async def _run_source(run: _Run, source: str) -> SyncSummary:
    started = time.perf_counter()
    try:
        summary = await _RUNNERS[source](run)
    except Exception as exc:
        summary = SyncSummary(source, error=_describe(exc))
        summary.seconds = time.perf_counter() - started
        logger.exception("%s sync failed after %.1fs", source, summary.seconds)
        return summary
    if not summary.seconds:
        summary.seconds = time.perf_counter() - started
    if not summary.logged:
        logger.info("%s", summary.line())
    return summary


def _describe(exc: Exception) -> str:
    # Configuration errors are written for people; anything else is named
    # by type only, since library messages can quote a request.
    if isinstance(exc, GoogleConfigError):
        return str(exc)
    return type(exc).__name__


# ---- sources --------------------------------------------------------------------


GOOGLE_NOT_CONFIGURED = (
    "not configured (set RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE"
    " or RAPPORT_GOOGLE_OAUTH_TOKENS_DIR)"
)


async def _slack(run: _Run) -> SyncSummary:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.capture.slack_api import sync_slack

    if not run.settings.slack_bot_token:
        return SyncSummary("slack", note="not configured (no SLACK_BOT_TOKEN)")
    client = AsyncWebClient(
        token=run.settings.slack_bot_token, base_url=run.settings.slack_api_url
    )
    result = await sync_slack(run.db, client, settings=run.settings, clock=run.clock)
    counts = result.messages
    # sync_slack logs its own line; this summary only carries it on.
    return SyncSummary(
        "slack",
        accounts=result.channels_done,
        imported=counts.imported,
        duplicates=counts.duplicates,
        retries=result.rate_limited,
        skipped=counts.skipped + counts.bad,
        deferred=["slack"] if not result.complete else [],
        detail=result.line(),
        logged=True,
        # A run cut short (Slack unreachable, token refused) is a failure for
        # whoever runs `rapport sync`; the cursors saved so far still stand.
        error=f"stopped early: {result.stopped}" if result.stopped else None,
    )


async def _gmail(run: _Run) -> SyncSummary:
    from bot.capture.gmail import GmailSync

    return await _google_source(run, "gmail", GmailSync)


async def _calendar(run: _Run) -> SyncSummary:
    from bot.capture.calendar import CalendarSync

    return await _google_source(run, "calendar", CalendarSync)


async def _google_source(run: _Run, source: str, sync_class: type) -> SyncSummary:
    """Gmail and Calendar read the same colleagues with the same credentials."""
    google = await _google(run)
    if google is None:
        return SyncSummary(source, note=GOOGLE_NOT_CONFIGURED)
    api, mailboxes = google
    sync = sync_class(
        run.db,
        api,
        settings=run.settings,
        clock=run.clock,
        exclusions=exclusions_from(run.settings),
        progress=run.tick(source),
    )
    return await sync.run(mailboxes)


async def _google(run: _Run) -> tuple[GoogleApi, list[str]] | None:
    """Credentials, HTTP session and colleague list, shared by Gmail and Calendar."""
    if run.google_checked:
        return run.google
    auth = await load_google_auth(run.settings)
    run.google_checked = True
    if auth is None:
        return None
    run.stack.callback(auth.close)
    session = await run.stack.enter_async_context(aiohttp.ClientSession())
    api = GoogleApi(
        session, auth, base_url=run.settings.google_api_url, backoff=run.backoff
    )
    mailboxes = await mailboxes_to_read(
        run.db, auth, settings=run.settings, exclusions=exclusions_from(run.settings)
    )
    logger.debug("google capture (%s) for %d colleagues", auth.kind, len(mailboxes))
    run.google = (api, mailboxes)
    return run.google


_RUNNERS: dict[str, Callable[[_Run], object]] = {
    "slack": _slack,
    "gmail": _gmail,
    "calendar": _calendar,
}

__all__ = ["SOURCES", "SyncSummary", "problem_users", "run_capture"]
