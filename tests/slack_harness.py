"""The real Bolt app over real HTTP on 127.0.0.1, fed correctly signed requests.

    async with running_slack_app(tmp_path) as slack:
        result = await slack.slash("/whoknows", "acme")
        assert result.status == 200
        posts = await slack.wait_for_posts(result)

Everything is real except Slack itself: a temporary SQLite file with the
migrations applied, `bot.services.Services` with a controllable clock, the app
from `bot.app.create_app` served by `bot.server.build_web_app` (the same aiohttp
front `rapport serve` uses), and `tests.fakes.slack_api.FakeSlackApi` standing
in for the Web API and for response URLs. Requests are form-encoded or JSON
exactly as Slack sends them and signed with Slack's v0 scheme, so Bolt's own
signature check runs on every one of them.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from bot.app import create_app
from bot.server import EVENTS_PATH, build_web_app
from bot.services import Services, create_services
from bot.settings import Settings
from tests.fakes.slack_api import (
    BOT_USER_ID,
    DEFAULT_BOT_TOKEN,
    FakeSlackApi,
    ResponsePost,
)

T = TypeVar("T")

SIGNING_SECRET = "harness-signing-secret-0123456789"
# A fixed "now" so scores and "last contact" lines do not drift with the date.
DEFAULT_NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
DEFAULT_USER_ID = "U0ADA00001"
DEFAULT_USER_NAME = "ada"
DEFAULT_CHANNEL_ID = "C0GENERAL1"
DEFAULT_CHANNEL_NAME = "general"
INTERNAL_DOMAIN = "firm.example"


class FakeClock:
    """The only "now" the app sees (`services.clock`); tests move it by hand."""

    def __init__(self, now: datetime = DEFAULT_NOW) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now

    def set(self, moment: datetime) -> None:
        self.now = moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class HttpResult:
    """What the app's HTTP endpoint answered, and how fast."""

    status: int
    text: str
    headers: dict[str, str]
    elapsed: float
    # The response_url path handed out with the request, when there was one.
    response_path: str | None = None

    def json(self) -> Any:
        return json.loads(self.text) if self.text else None


def slack_signature(secret: str, timestamp: str, body: str) -> str:
    """Slack's v0 scheme: HMAC-SHA256 of "v0:{timestamp}:{body}", hex, prefixed."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


async def wait_for(
    predicate: Callable[[], T | Awaitable[T]],
    *,
    timeout: float = 5.0,
    interval: float = 0.02,
    message: str = "condition",
) -> T:
    """Poll `predicate` (sync or async) until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if asyncio.iscoroutine(value) or isinstance(value, asyncio.Future):
            value = await value
        if value:
            return value  # type: ignore[return-value]
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {message}")
        await asyncio.sleep(interval)


@dataclass
class SlackHarness:
    fake: FakeSlackApi
    services: Services
    clock: FakeClock
    url: str
    signing_secret: str = SIGNING_SECRET
    team_id: str = "T0FAKE0001"
    app: Any = None
    session: aiohttp.ClientSession | None = None
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def db(self):
        return self.services.db

    @property
    def settings(self) -> Settings:
        return self.services.settings

    async def refresh_graph(self) -> None:
        """Call after seeding the database, as a capture would."""
        await self.services.graphs.refresh()

    # Raw, signed requests ----------------------------------------------------

    async def post(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | str | None = None,
        signature: str | None = None,
        secret: str | None = None,
        headers: dict[str, str] | None = None,
        response_path: str | None = None,
    ) -> HttpResult:
        """POST `body` to /slack/events, signed unless `signature` is given.

        `timestamp` defaults to now; pass an old one to test replay protection.
        """
        assert self.session is not None
        ts = str(int(time.time()) if timestamp is None else timestamp)
        sent_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": ts,
            "X-Slack-Signature": signature
            or slack_signature(secret or self.signing_secret, ts, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        started = time.monotonic()
        async with self.session.post(
            self.url, data=body.encode(), headers=sent_headers
        ) as response:
            text = await response.text()
            elapsed = time.monotonic() - started
            return HttpResult(
                response.status,
                text,
                dict(response.headers),
                elapsed,
                response_path=response_path,
            )

    # Slack-shaped requests ---------------------------------------------------

    async def slash(
        self,
        command: str,
        text: str = "",
        *,
        user_id: str = DEFAULT_USER_ID,
        user_name: str = DEFAULT_USER_NAME,
        channel_id: str = DEFAULT_CHANNEL_ID,
        channel_name: str = DEFAULT_CHANNEL_NAME,
        response_url: str | None = None,
        trigger_id: str | None = None,
        **signing: Any,
    ) -> HttpResult:
        """A slash command, form-encoded with the fields Slack sends."""
        path = f"commands/{next(self._ids)}"
        fields = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "team_domain": "rapport-test",
            "channel_id": channel_id,
            "channel_name": channel_name,
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": self.fake.state.app_id,
            "is_enterprise_install": "false",
            "response_url": response_url or self.fake.response_url(path),
            "trigger_id": trigger_id or self.fake.state.issue_trigger_id(),
        }
        return await self.post(
            urlencode(fields),
            content_type="application/x-www-form-urlencoded",
            response_path=None if response_url else path,
            **signing,
        )

    async def interactive(self, payload: dict, **signing: Any) -> HttpResult:
        """An interactivity request: the JSON payload in a `payload` form field."""
        path = _response_path(self.fake, payload.get("response_url"))
        return await self.post(
            urlencode({"payload": json.dumps(payload)}),
            content_type="application/x-www-form-urlencoded",
            response_path=path,
            **signing,
        )

    async def event(
        self,
        event: dict,
        *,
        event_id: str | None = None,
        retry_num: int | None = None,
        retry_reason: str | None = None,
        **signing: Any,
    ) -> HttpResult:
        """An Events API delivery; `retry_num` sends Slack's retry headers."""
        now = int(time.time())
        event = {"event_ts": f"{now}.000100", **event}
        envelope = {
            "token": "legacy-verification-token",
            "team_id": self.team_id,
            "api_app_id": self.fake.state.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": now,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-{uuid.uuid4().hex}",
        }
        headers = dict(signing.pop("headers", None) or {})
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
        return await self.post(
            json.dumps(envelope),
            content_type="application/json",
            headers=headers,
            **signing,
        )

    # Payload builders ----------------------------------------------------------

    def block_actions(
        self,
        action_id: str,
        *,
        value: str = "",
        block_id: str = "block",
        user_id: str = DEFAULT_USER_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        response_url: str | None = None,
        view: dict | None = None,
        message: dict | None = None,
        action: dict | None = None,
    ) -> dict:
        """A block_actions payload for one button click (or `action` as given).

        Without `view` it is a click in a message, with a fresh response URL.
        """
        button = action or {
            "type": "button",
            "action_id": action_id,
            "block_id": block_id,
            "text": {"type": "plain_text", "text": "Button", "emoji": True},
            "value": value,
            "action_ts": f"{int(time.time())}.000200",
        }
        payload: dict = {
            "type": "block_actions",
            "user": self._user(user_id),
            "api_app_id": self.fake.state.app_id,
            "token": "legacy-verification-token",
            "team": {"id": self.team_id, "domain": "rapport-test"},
            "trigger_id": self.fake.state.issue_trigger_id(),
            "actions": [button],
            "state": {"values": {}},
        }
        if view is not None:
            payload["container"] = {"type": "view", "view_id": view.get("id", "")}
            payload["view"] = view
            return payload
        ts = f"{int(time.time())}.000300"
        payload["container"] = {
            "type": "message",
            "message_ts": ts,
            "channel_id": channel_id,
            "is_ephemeral": True,
        }
        payload["channel"] = {"id": channel_id, "name": DEFAULT_CHANNEL_NAME}
        payload["message"] = message or {"type": "message", "ts": ts, "text": ""}
        payload["response_url"] = response_url or self.fake.response_url(
            f"actions/{next(self._ids)}"
        )
        return payload

    def view_submission(
        self,
        callback_id: str,
        *,
        values: dict[str, dict[str, dict]] | None = None,
        private_metadata: str = "",
        user_id: str = DEFAULT_USER_ID,
        view_id: str = "V0FAKE00001",
    ) -> dict:
        """A modal submitted; `values` is view.state.values as Slack nests it.

        e.g. {"who_block": {"who": {"type": "plain_text_input", "value": "Jane"}}}
        """
        return {
            "type": "view_submission",
            "team": {"id": self.team_id, "domain": "rapport-test"},
            "user": self._user(user_id),
            "api_app_id": self.fake.state.app_id,
            "token": "legacy-verification-token",
            "trigger_id": self.fake.state.issue_trigger_id(),
            "is_enterprise_install": False,
            "view": {
                "id": view_id,
                "team_id": self.team_id,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values or {}},
                "hash": f"{int(time.time())}.abcdef",
                "title": {"type": "plain_text", "text": "Rapport"},
                "blocks": [],
                "external_id": "",
                "root_view_id": view_id,
                "previous_view_id": None,
                "app_id": self.fake.state.app_id,
                "bot_id": self.fake.state.bot_id,
            },
            "response_urls": [],
        }

    def global_shortcut(
        self, callback_id: str, *, user_id: str = DEFAULT_USER_ID
    ) -> dict:
        return {
            "type": "shortcut",
            "callback_id": callback_id,
            "team": {"id": self.team_id, "domain": "rapport-test"},
            "user": self._user(user_id),
            "api_app_id": self.fake.state.app_id,
            "token": "legacy-verification-token",
            "trigger_id": self.fake.state.issue_trigger_id(),
            "action_ts": f"{int(time.time())}.000400",
            "is_enterprise_install": False,
        }

    def message_shortcut(
        self,
        callback_id: str,
        *,
        message: dict,
        user_id: str = DEFAULT_USER_ID,
        channel_id: str = DEFAULT_CHANNEL_ID,
        response_url: str | None = None,
    ) -> dict:
        """A message shortcut on `message` (a dict with at least ts and user)."""
        return {
            "type": "message_action",
            "callback_id": callback_id,
            "team": {"id": self.team_id, "domain": "rapport-test"},
            "user": self._user(user_id),
            "channel": {"id": channel_id, "name": DEFAULT_CHANNEL_NAME},
            "api_app_id": self.fake.state.app_id,
            "token": "legacy-verification-token",
            "trigger_id": self.fake.state.issue_trigger_id(),
            "message_ts": message["ts"],
            "message": {"type": "message", **message},
            "response_url": response_url
            or self.fake.response_url(f"shortcuts/{next(self._ids)}"),
            "action_ts": f"{int(time.time())}.000500",
            "is_enterprise_install": False,
        }

    def _user(self, user_id: str) -> dict:
        found = self.fake.state.find_user(user_id) or {}
        name = found.get(
            "name", DEFAULT_USER_NAME if user_id == DEFAULT_USER_ID else ""
        )
        return {
            "id": user_id,
            "username": name,
            "name": name,
            "team_id": self.team_id,
        }

    # Observing effects -----------------------------------------------------------

    def posts_for(self, result: HttpResult) -> list[ResponsePost]:
        """What the app posted to the response URL handed out with `result`."""
        return [p for p in self.fake.response_posts if p.path == result.response_path]

    async def wait_for_posts(
        self, result: HttpResult, *, count: int = 1, timeout: float = 5.0
    ) -> list[ResponsePost]:
        return await wait_for(
            lambda: (
                self.posts_for(result) if len(self.posts_for(result)) >= count else []
            ),
            timeout=timeout,
            message=f"{count} post(s) to {result.response_path}",
        )

    async def wait_for(
        self,
        predicate: Callable[[], T | Awaitable[T]],
        *,
        timeout: float = 5.0,
        message: str = "condition",
    ) -> T:
        return await wait_for(predicate, timeout=timeout, message=message)


def _response_path(fake: FakeSlackApi, url: str | None) -> str | None:
    prefix = fake.response_url("")
    if url and url.startswith(prefix):
        return url[len(prefix) :]
    return None


def harness_settings(db_path: Path, fake: FakeSlackApi, **overrides: Any) -> Settings:
    """Settings pointing at the fake Web API, with a known signing secret."""
    base = Settings(
        db_path=db_path,
        internal_domains=(INTERNAL_DOMAIN,),
        slack_bot_token=DEFAULT_BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=fake.base_url,
    )
    return replace(base, **overrides)


@asynccontextmanager
async def running_slack_app(
    tmp_path: Path,
    *,
    clock: FakeClock | None = None,
    fake: FakeSlackApi | None = None,
    populate_workspace: bool = True,
    **settings_overrides: Any,
) -> AsyncIterator[SlackHarness]:
    """Start fake Slack, the database, the services and the app; stop them after.

    `populate_workspace` adds the default user (ada) and channel (#general,
    with ada and the bot) to the fake so ephemeral posts there succeed.
    Pass a started `fake` to share one between apps; it is then left running.
    """
    clock = clock or FakeClock()
    older_tasks = asyncio.all_tasks()
    own_fake = fake is None
    fake = fake or FakeSlackApi()
    if own_fake:
        await fake.start()
    runner: web.AppRunner | None = None
    services: Services | None = None
    session: aiohttp.ClientSession | None = None
    try:
        if populate_workspace and fake.state.find_user(DEFAULT_USER_ID) is None:
            fake.state.add_user(
                DEFAULT_USER_ID, name=DEFAULT_USER_NAME, email=f"ada@{INTERNAL_DOMAIN}"
            )
            fake.state.add_channel(
                DEFAULT_CHANNEL_ID,
                name=DEFAULT_CHANNEL_NAME,
                members=[DEFAULT_USER_ID, BOT_USER_ID],
            )
        settings = harness_settings(tmp_path / "rapport.db", fake, **settings_overrides)
        services = await create_services(settings, clock=clock)
        await services.graphs.refresh()
        app = create_app(services)

        runner = web.AppRunner(
            build_web_app(app, signing_secret=settings.slack_signing_secret or ""),
            access_log=None,
        )
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        port = runner.addresses[0][1]
        session = aiohttp.ClientSession()
        yield SlackHarness(
            fake=fake,
            services=services,
            clock=clock,
            url=f"http://127.0.0.1:{port}{EVENTS_PATH}",
            team_id=fake.state.team["id"],
            app=app,
            session=session,
        )
    finally:
        if session is not None:
            await session.close()
        if runner is not None:
            await runner.cleanup()
        # Listener tasks started after an ack may still be finishing their posts.
        await _drain_background_tasks(older_tasks)
        if services is not None:
            await services.db.close()
        if own_fake:
            await fake.stop()


async def _drain_background_tasks(
    older: set[asyncio.Task], timeout: float = 2.0
) -> None:
    current = asyncio.current_task()
    pending = [
        t
        for t in asyncio.all_tasks()
        if t is not current and t not in older and not t.done()
    ]
    if pending:
        await asyncio.wait(pending, timeout=timeout)
