"""Calling Gmail and Calendar over aiohttp: tokens, back-off, batches.

Rate limits (429, 403 rateLimitExceeded / userRateLimitExceeded) and server
errors are retried with exponential back-off and jitter; inside a batch only
the failed parts are sent again. A 401 gets one fresh token, then the user is
treated as unauthorised. Errors leave this module as the exceptions below.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from bot.capture.gmail_batch import (
    MAX_PARTS,
    BatchFormatError,
    PartReply,
    decode_batch,
    encode_batch,
)
from bot.capture.google_auth import AccessRevoked, GoogleAuth

logger = logging.getLogger(__name__)

GMAIL_URL = "https://gmail.googleapis.com"
CALENDAR_URL = "https://www.googleapis.com"
_RATE_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_connect=20)


class ApiError(Exception):
    """Google answered with an error that retrying will not change."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(f"HTTP {status} {reason}")
        self.status = status
        self.reason = reason


class ApiUnavailable(Exception):
    """Still rate-limited, failing or unreachable after the retry budget."""


@dataclass(frozen=True)
class Backoff:
    """Exponential back-off with jitter; `sleep` and `random` are injectable."""

    attempts: int = 5  # tries per request, the first included
    base: float = 1.0
    cap: float = 60.0
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep
    random: Callable[[], float] = random.random

    def delay(self, retry: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry number `retry` (0 for the first)."""
        ceiling = min(self.cap, self.base * 2**retry)
        # Half fixed, half random: spreads colliding clients without ever
        # retrying immediately.
        wait = ceiling * (0.5 + self.random() / 2)
        # A Retry-After beyond the cap is not waited out here: the retries
        # run out and the account is left for the next run instead.
        return max(wait, min(retry_after or 0.0, self.cap))


@dataclass(slots=True)
class BatchResult:
    ok: dict[str, Any] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)  # 404: deleted since listed
    refused: dict[str, int] = field(default_factory=dict)  # other 4xx, by status
    failing: set[str] = field(default_factory=set)  # still failing: retry later


def error_reason(body: Any) -> str:
    """Google's `reason` (or OAuth-style `error`) from an error body."""
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict):
            details = error.get("errors")
            if isinstance(details, list) and details and isinstance(details[0], dict):
                return str(details[0].get("reason") or "")
            return str(error.get("status") or "")
        if isinstance(error, str):
            return error
    return ""


def is_retryable(status: int, body: Any) -> bool:
    if status == 429 or status >= 500 or status == 0:
        return True
    return status == 403 and error_reason(body) in _RATE_REASONS


def _retry_after(headers: dict[str, str]) -> float | None:
    value = headers.get("retry-after", "").strip()
    return float(value) if value.isdigit() else None


class GoogleApi:
    """GET JSON and Gmail batches for one mailbox at a time."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        auth: GoogleAuth,
        *,
        base_url: str | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        self.session = session
        self.auth = auth
        self.gmail_url = (base_url or GMAIL_URL).rstrip("/")
        self.calendar_url = (base_url or CALENDAR_URL).rstrip("/")
        self.backoff = backoff or Backoff()
        self.stats: Counter[str] = Counter()

    async def get_json(
        self, mailbox: str, api: str, url: str, params: list[tuple[str, str]]
    ) -> dict[str, Any]:
        """GET `url` as `mailbox`, retrying what may pass later."""
        fresh = False
        refreshed = False
        for attempt in range(self.backoff.attempts):
            token = await self.auth.token(mailbox, api, fresh=fresh)
            fresh = False
            status, body, headers = await self._get(url, params, token)
            if status == 200 and isinstance(body, dict):
                return body
            if status == 401:
                if refreshed:
                    raise AccessRevoked(mailbox, "unauthenticated")
                fresh = refreshed = True
                continue
            if not is_retryable(status, body):
                _raise_refusal(mailbox, status, body)
            self._count_failure(status)
            if attempt + 1 < self.backoff.attempts:
                await self._wait(attempt, _retry_after(headers))
        raise ApiUnavailable(f"{url.rsplit('/', 1)[-1]} still failing for {mailbox}")

    async def _get(
        self, url: str, params: list[tuple[str, str]], token: str
    ) -> tuple[int, Any, dict[str, str]]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            async with self.session.get(
                url, params=params, headers=headers, timeout=_TIMEOUT
            ) as response:
                raw = await response.read()
                status = response.status
                answer_headers = {k.lower(): v for k, v in response.headers.items()}
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.debug("GET %s cut: %s", url, type(exc).__name__)
            return 0, None, {}
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return status, body, answer_headers

    async def batch_get(self, mailbox: str, paths: dict[str, str]) -> BatchResult:
        """GET each path (part id -> path) in one batch; retry only failed parts."""
        if len(paths) > MAX_PARTS:
            raise ValueError(f"at most {MAX_PARTS} parts per batch, not {len(paths)}")
        result = BatchResult()
        remaining = dict(paths)
        fresh = False
        unauthorised_in_a_row = 0
        for attempt in range(self.backoff.attempts):
            token = await self.auth.token(mailbox, "gmail", fresh=fresh)
            fresh = False
            replies, retry_after = await self._send_batch(remaining, token)
            retry: dict[str, str] = {}
            unauthorised = 0
            for part_id, path in remaining.items():
                reply = replies.get(part_id, PartReply(0, None))
                if reply.status == 200 and isinstance(reply.body, dict):
                    result.ok[part_id] = reply.body
                elif reply.status == 401:
                    unauthorised += 1
                    retry[part_id] = path
                elif reply.status == 404:
                    result.gone.add(part_id)
                elif is_retryable(reply.status, reply.body):
                    self._count_failure(reply.status)
                    retry[part_id] = path
                    retry_after = max(
                        retry_after or 0, _retry_after(reply.headers) or 0
                    )
                elif reply.status == 403:
                    _raise_refusal(mailbox, reply.status, reply.body)
                else:
                    result.refused[part_id] = reply.status
            if not retry:
                return result
            if unauthorised:
                # One fresh token; parts still refused with it mean no access.
                unauthorised_in_a_row += 1
                if unauthorised_in_a_row > 1:
                    raise AccessRevoked(mailbox, "unauthenticated")
                fresh = True
            else:
                unauthorised_in_a_row = 0
            remaining = retry
            if attempt + 1 < self.backoff.attempts:
                self.stats["retried parts"] += len(retry)
                if len(retry) > unauthorised:
                    await self._wait(attempt, retry_after)
        result.failing.update(remaining)
        return result

    async def _send_batch(
        self, paths: dict[str, str], token: str
    ) -> tuple[dict[str, PartReply], float | None]:
        """Part replies; a failed batch as a whole becomes that failure per part."""
        content_type, body = encode_batch(paths)
        headers = {"Authorization": f"Bearer {token}", "Content-Type": content_type}
        url = self.gmail_url + "/batch/gmail/v1"
        self.stats["batches"] += 1
        try:
            async with self.session.post(
                url, data=body, headers=headers, timeout=_TIMEOUT
            ) as response:
                raw = await response.read()
                status = response.status
                answer_type = response.headers.get("Content-Type", "")
                retry_after = _retry_after(
                    {k.lower(): v for k, v in response.headers.items()}
                )
        except (TimeoutError, aiohttp.ClientError) as exc:
            logger.debug("batch cut: %s", type(exc).__name__)
            return {}, None
        if status != 200:
            try:
                error = json.loads(raw) if raw else None
            except ValueError:
                error = None
            return {part_id: PartReply(status, error) for part_id in paths}, retry_after
        try:
            return decode_batch(answer_type, raw), retry_after
        except BatchFormatError:
            logger.warning("unreadable batch answer (%d bytes)", len(raw))
            return {}, retry_after

    def _count_failure(self, status: int) -> None:
        self.stats["rate limited" if status in (403, 429) else "server errors"] += 1

    async def _wait(self, retry: int, retry_after: float | None) -> None:
        self.stats["retries"] += 1
        await self.backoff.sleep(self.backoff.delay(retry, retry_after))


def _raise_refusal(mailbox: str, status: int, body: Any) -> None:
    reason = error_reason(body) or "error"
    if status == 403:
        # Delegation denied, a scope not granted, a policy: nothing to retry.
        raise AccessRevoked(mailbox, reason)
    raise ApiError(status, reason)
