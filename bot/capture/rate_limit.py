"""Calling Slack's Web API with its rate limits honoured, retried and counted.

slack_sdk's default retry handlers only cover dropped connections; a `429`
surfaces as `SlackApiError`. This wrapper waits the `Retry-After` Slack asks
for (through an injectable `sleep`, so tests need not wait), retries the very
same request, and gives up after a few 429s in a row so a scheduled run ends
cleanly with its cursors saved instead of hanging.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

logger = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[Any]]

# Codes meaning the token cannot go on: every later call would fail the same way.
FATAL_ERRORS = frozenset(
    {
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "token_expired",
        "account_inactive",
        "org_login_required",
        "ekm_access_denied",
        "team_access_not_granted",
    }
)


class SlackCallError(Exception):
    """A method failed for good; `error` is Slack's code, or `http_<status>`."""

    def __init__(self, method: str, error: str, *, status: int | None = None) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error
        self.status = status


class RunStopped(SlackCallError):
    """The whole run has to end: credentials refused, or rate limited for too long."""


@dataclass(slots=True)
class CallStats:
    calls: Counter[str] = field(default_factory=Counter)
    rate_limited: int = 0  # 429 answers received
    waited_seconds: float = 0.0  # time asked for by Retry-After
    server_errors: int = 0  # 5xx answers and dropped connections


class SlackCaller:
    """`await caller.call("users.list", limit=200)` → the response body as a dict."""

    def __init__(
        self,
        client: AsyncWebClient,
        *,
        sleep: Sleep = asyncio.sleep,
        max_consecutive_429: int = 5,
        max_retry_after: float = 300.0,
        server_retries: int = 2,
        backoff_seconds: float = 1.0,
        stats: CallStats | None = None,
    ) -> None:
        self.client = client
        self.sleep = sleep
        self.max_consecutive_429 = max_consecutive_429
        self.max_retry_after = max_retry_after
        self.server_retries = server_retries
        self.backoff_seconds = backoff_seconds
        self.stats = stats or CallStats()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        params = {k: v for k, v in params.items() if v is not None and v != ""}
        limited = 0
        failures = 0
        while True:
            self.stats.calls[method] += 1
            try:
                response = await self.client.api_call(
                    method, http_verb="GET", params=params
                )
            except SlackApiError as exc:
                status = exc.response.status_code
                error = _error_code(exc.response.data) or f"http_{status}"
                if status == 429:
                    limited += 1
                    self.stats.rate_limited += 1
                    delay = retry_after(exc.response.headers)
                    if limited >= self.max_consecutive_429:
                        raise RunStopped(method, "ratelimited", status=429) from None
                    if delay > self.max_retry_after:
                        # Waiting that long would stall every later job; the
                        # next scheduled run picks up from the saved cursors.
                        raise RunStopped(method, "ratelimited", status=429) from None
                    self.stats.waited_seconds += delay
                    await self.sleep(delay)
                    continue
                if status >= 500 and failures < self.server_retries:
                    failures += 1
                    self.stats.server_errors += 1
                    await self.sleep(self.backoff_seconds * 2 ** (failures - 1))
                    continue
                if status >= 500:
                    self.stats.server_errors += 1
                if error in FATAL_ERRORS:
                    raise RunStopped(method, error, status=status) from None
                raise SlackCallError(method, error, status=status) from None
            except (TimeoutError, aiohttp.ClientError):
                self.stats.server_errors += 1
                if failures < self.server_retries:
                    failures += 1
                    await self.sleep(self.backoff_seconds * 2 ** (failures - 1))
                    continue
                raise SlackCallError(method, "connection_error") from None
            data = response.data
            if not isinstance(data, dict):
                raise SlackCallError(method, "unexpected_response", status=200)
            return data


def retry_after(headers: Mapping[str, Any] | None) -> float:
    """Seconds Slack asks us to wait; 1 when the header is absent or unreadable."""
    value = None
    for name, raw in (headers or {}).items():
        if str(name).lower() == "retry-after":
            value = raw[0] if isinstance(raw, list | tuple) and raw else raw
            break
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return 1.0
    return max(seconds, 0.0)


def _error_code(data: Any) -> str | None:
    if isinstance(data, Mapping):
        error = data.get("error")
        return str(error) if error else None
    return None
