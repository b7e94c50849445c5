"""Posting scheduled messages exactly once, and reporting the ones Slack refuses.

Every send is claimed first: a row under a unique (kind, target, period) key is
inserted in a transaction of its own, and only the process whose insert took
effect posts. So a retried tick, a restart or a second bot process on the same
database never posts twice. The outcome is written back to the same row.

Slack's answers sort into three groups:

- `429` (and `ratelimited`): wait `Retry-After` and try again, a few times in
  place; a longer wait is left to a later tick (`retry`).
- 5xx and Slack's own transient errors, or a connection that never reached
  Slack: `retry` from a later tick, with back-off, up to `MAX_ATTEMPTS`.
- Anything else (`channel_not_found`, `not_in_channel`, `account_inactive`,
  `user_not_found`, ...): recorded as `skipped`, never retried, and reported
  once to the admins by DM.

Known shortcoming: a connection that breaks after the request was sent leaves
Slack's side unknown; the row is marked `unknown` and not retried, preferring
a rare missing message to a duplicate. A process killed between claiming and
recording is treated the same way once its claim is stale.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers.blocks import digest as digest_blocks
from storage.connection import transaction
from storage.digests import (
    DeliveryKey,
    claim_delivery,
    clear_alerts,
    clear_alerts_except,
    finish_delivery,
    record_alert,
)

logger = logging.getLogger(__name__)

# Waits up to this long happen inside the send; longer ones go to a later tick.
MAX_INLINE_WAIT_SECONDS = 30.0
MAX_INLINE_WAITS = 3
MAX_ATTEMPTS = 5
RETRY_BACKOFF = timedelta(minutes=2)
TRANSIENT_ERRORS = frozenset(
    {
        "ratelimited",
        "fatal_error",
        "internal_error",
        "service_unavailable",
        "request_timeout",
        "team_added_to_org",
    }
)

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outgoing:
    """One message to post: where, under which claim key, and what it says."""

    key: DeliveryKey
    channel: str  # a user id (DM) or a channel id
    due_at: datetime
    text: str
    blocks: list[dict]
    # Shown to admins if the send fails: "the weekly digest for <@U123>".
    description: str


@dataclass(frozen=True, slots=True)
class SendResult:
    # sent, taken (someone else has it), retry, skipped, unknown, empty
    outcome: str
    error: str | None = None
    channel: str | None = None
    ts: str | None = None
    retry_after: float = 0.0


def process_owner() -> str:
    """Who claimed a row: enough to tell two processes (or two tests) apart."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Sender:
    """Claims, posts and records; one per process (its `owner` is on every claim)."""

    def __init__(
        self,
        services: Services,
        client: AsyncWebClient,
        *,
        owner: str | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.services = services
        self.client = client
        self.owner = owner or process_owner()
        self._sleep = sleep

    async def send(self, message: Outgoing) -> SendResult:
        db, now = self.services.db, self.services.clock()
        attempt = await claim_delivery(
            db, message.key, owner=self.owner, now=now, due_at=message.due_at
        )
        if not attempt:
            logger.debug(
                "%s %s already claimed; skipping", message.key.kind, message.key.target
            )
            return SendResult("taken")
        result = await self._post(message, attempt=attempt)
        await self._record(message, result, attempt=attempt)
        return result

    async def record_final(
        self,
        key: DeliveryKey,
        *,
        due_at: datetime,
        status: str,
        error: str | None = None,
    ) -> bool:
        """Close a period without posting (nothing to say, or it could not be built)."""
        db, now = self.services.db, self.services.clock()
        if not await claim_delivery(db, key, owner=self.owner, now=now, due_at=due_at):
            return False
        await finish_delivery(
            db, key, owner=self.owner, status=status, now=now, error=error
        )
        return True

    async def _post(self, message: Outgoing, *, attempt: int) -> SendResult:
        waits = 0
        while True:
            try:
                response = await self.client.chat_postMessage(
                    channel=message.channel,
                    text=message.text,
                    blocks=message.blocks,
                    unfurl_links=False,
                    unfurl_media=False,
                )
            except SlackApiError as exc:
                error = str(exc.response.get("error") or "unknown_error")
                status = exc.response.status_code
                if status == 429 or error == "ratelimited":
                    wait = _retry_after(exc.response.headers)
                    if waits < MAX_INLINE_WAITS and wait <= MAX_INLINE_WAIT_SECONDS:
                        waits += 1
                        logger.info("Slack rate limit; retrying in %.0f s", wait)
                        await self._sleep(wait)
                        continue
                    return self._later(attempt, "ratelimited", after=wait)
                if status >= 500 or error in TRANSIENT_ERRORS:
                    return self._later(attempt, error)
                return SendResult("skipped", error)
            except aiohttp.ClientConnectorError:
                # Refused or unresolvable: the request never reached Slack.
                return self._later(attempt, "connection_failed")
            except (TimeoutError, aiohttp.ClientError) as exc:
                logger.warning("Posting failed mid-request (%s)", type(exc).__name__)
                return SendResult("unknown", "connection_lost")
            except Exception:
                # Whether Slack has it is unknown; the claim must still be closed.
                logger.exception("Unexpected error while posting")
                return SendResult("unknown", "unexpected_error")
            return SendResult(
                "sent", channel=response.get("channel"), ts=response.get("ts")
            )

    def _later(self, attempt: int, error: str, *, after: float = 0.0) -> SendResult:
        if attempt >= MAX_ATTEMPTS:
            return SendResult("skipped", error)
        return SendResult("retry", error, retry_after=after)

    async def _record(
        self, message: Outgoing, result: SendResult, *, attempt: int
    ) -> None:
        db, now, key = self.services.db, self.services.clock(), message.key
        next_attempt = None
        if result.outcome == "retry":
            wait = timedelta(seconds=result.retry_after)
            next_attempt = now + max(wait, RETRY_BACKOFF * attempt)
        await finish_delivery(
            db,
            key,
            owner=self.owner,
            status=result.outcome,
            now=now,
            error=result.error,
            slack_channel=result.channel,
            slack_ts=result.ts if result.outcome == "sent" else None,
            next_attempt_at=next_attempt,
        )
        if result.outcome == "sent":
            await clear_alerts(db, message.channel)
            logger.info("Sent %s to %s for %s", key.kind, key.target, key.period)
        elif result.outcome == "retry":
            logger.warning(
                "Could not send %s to %s (%s); will retry",
                key.kind,
                key.target,
                result.error,
            )
        else:
            logger.warning(
                "Gave up sending %s to %s: %s", key.kind, key.target, result.error
            )
            await self.report(message, error=result.error or "unknown_error")

    async def report(self, message: Outgoing, *, error: str) -> None:
        """DM every admin once per (destination, error) until it works again."""
        db, now = self.services.db, self.services.clock()
        if not await record_alert(db, target=message.channel, error=error, now=now):
            return
        admins = self.services.settings.admin_user_ids
        if not admins:
            logger.warning(
                "No admins configured (RAPPORT_ADMIN_USER_IDS) to tell about %s", error
            )
            return
        alert = digest_blocks.delivery_alert_message(
            description=message.description, error=error
        )
        for admin in admins:
            try:
                await self.client.chat_postMessage(channel=admin, **alert)
            except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
                # Reporting a failure must not fail the tick; it is logged instead.
                logger.warning(
                    "Could not tell admin %s about a failed send (%s)",
                    admin,
                    type(exc).__name__,
                )


GOOGLE_ALERT_PREFIX = "google:"


async def report_capture_problems(services: Services, client: AsyncWebClient) -> int:
    """DM admins once about each colleague whose Google data cannot be read.

    The capture records revoked or unauthorised accounts and skips them; this
    tells a person who can fix it. Returns how many new problems were reported.
    """
    from storage.google import problem_users

    db, now = services.db, services.clock()
    problems = await problem_users(db)
    targets = {f"{GOOGLE_ALERT_PREFIX}{p.mailbox}:{p.api}": p for p in problems}
    async with transaction(db):
        await clear_alerts_except(db, prefix=GOOGLE_ALERT_PREFIX, keep=set(targets))
        new = [
            problem
            for target, problem in targets.items()
            if await record_alert(db, target=target, error=problem.reason, now=now)
        ]
    admins = services.settings.admin_user_ids
    if new and not admins:
        logger.warning(
            "%d colleagues' Google data cannot be read and no admins are configured"
            " (RAPPORT_ADMIN_USER_IDS)",
            len(new),
        )
    for problem in new:
        alert = digest_blocks.capture_problem_message(
            mailbox=problem.mailbox, api=problem.api, reason=problem.reason
        )
        for admin in admins:
            try:
                await client.chat_postMessage(channel=admin, **alert)
            except (TimeoutError, SlackApiError, aiohttp.ClientError) as exc:
                logger.warning(
                    "Could not tell admin %s about a capture problem (%s)",
                    admin,
                    type(exc).__name__,
                )
    return len(new)


def _retry_after(headers: object) -> float:
    items = headers.items() if hasattr(headers, "items") else []
    for name, value in items:
        if str(name).lower() == "retry-after":
            try:
                return max(float(value if not isinstance(value, list) else value[0]), 0)
            except (TypeError, ValueError):
                break
    return 1.0
