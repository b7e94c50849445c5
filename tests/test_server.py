"""`bot.server`: the HTTP front, Socket Mode and a clean stop."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import pytest
from aiohttp import web

from bot.app import create_app
from bot.server import run_app, serve
from bot.services import create_services
from tests.fakes.slack_api import BOT_USER_ID, FakeSlackApi
from tests.slack_harness import (
    SIGNING_SECRET,
    FakeClock,
    harness_settings,
    slack_signature,
    wait_for,
)

APP_TOKEN = "xapp-1-A0APP00001-0000-test"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def slash_fields(text: str, response_url: str) -> dict[str, str]:
    return {
        "token": "legacy-verification-token",
        "team_id": "T0FAKE0001",
        "team_domain": "rapport-test",
        "channel_id": "C0GENERAL1",
        "channel_name": "general",
        "user_id": "U0ADA00001",
        "user_name": "ada",
        "command": "/whoknows",
        "text": text,
        "api_app_id": "A0APP00001",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": "1.98765.abcd2358fdea",
    }


class FakeSocketModeSlack:
    """Slack's side of Socket Mode: apps.connections.open, then a WebSocket.

    Only what the app needs to connect is served: auth.test (Bolt's first
    call), apps.connections.open and the socket, which says hello and then
    carries the envelopes a test sends, collecting the app's acknowledgements.
    """

    def __init__(self) -> None:
        self.acks: dict[str, dict] = {}
        self.app_tokens: list[str] = []
        self.base_url = ""
        self._socket: web.WebSocketResponse | None = None
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeSocketModeSlack:
        app = web.Application()
        app.router.add_post("/api/auth.test", self._auth_test)
        app.router.add_post("/api/apps.connections.open", self._connections_open)
        app.router.add_get("/link", self._link)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self._port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{self._port}/api/"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._socket is not None:
            await self._socket.close()
        assert self._runner is not None
        await self._runner.cleanup()

    @property
    def connected(self) -> bool:
        return self._socket is not None and not self._socket.closed

    async def send(self, envelope_type: str, payload: dict, envelope_id: str) -> None:
        assert self._socket is not None
        await self._socket.send_json(
            {
                "envelope_id": envelope_id,
                "type": envelope_type,
                "accepts_response_payload": True,
                "payload": payload,
            }
        )

    async def _auth_test(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "ok": True,
                "url": "https://rapport-test.slack.com/",
                "team": "Rapport Test",
                "user": "rapport",
                "team_id": "T0FAKE0001",
                "user_id": BOT_USER_ID,
                "bot_id": "B0BOT00001",
                "is_enterprise_install": False,
            }
        )

    async def _connections_open(self, request: web.Request) -> web.Response:
        self.app_tokens.append(request.headers.get("Authorization", ""))
        return web.json_response(
            {"ok": True, "url": f"ws://127.0.0.1:{self._port}/link"}
        )

    async def _link(self, request: web.Request) -> web.WebSocketResponse:
        socket_ = web.WebSocketResponse()
        await socket_.prepare(request)
        self._socket = socket_
        await socket_.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {
                    "host": "applink-test",
                    "approximate_connection_time": 3600,
                },
                "connection_info": {"app_id": "A0APP00001"},
            }
        )
        async for message in socket_:
            if message.type == aiohttp.WSMsgType.TEXT:
                reply = json.loads(message.data)
                self.acks[reply["envelope_id"]] = reply
        return socket_


async def test_http_mode_answers_signed_requests_until_stopped(tmp_path: Path):
    async with FakeSlackApi() as fake:
        settings = harness_settings(tmp_path / "rapport.db", fake, port=free_port())
        services = await create_services(settings, clock=FakeClock())
        stop = asyncio.Event()
        server = asyncio.create_task(
            run_app(create_app(services), settings, host="127.0.0.1", stop=stop)
        )
        base = f"http://127.0.0.1:{settings.port}"
        try:
            async with aiohttp.ClientSession() as session:

                async def healthy() -> bool:
                    try:
                        async with session.get(f"{base}/healthz") as response:
                            return response.status == 200
                    except aiohttp.ClientConnectionError:
                        return False

                await wait_for(healthy, message="the HTTP server")
                body = urlencode(slash_fields("acme", fake.response_url("http/1")))
                stamp = str(int(time.time()))
                async with session.post(
                    f"{base}/slack/events",
                    data=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Slack-Request-Timestamp": stamp,
                        "X-Slack-Signature": slack_signature(
                            SIGNING_SECRET, stamp, body
                        ),
                    },
                ) as response:
                    status = response.status
                await wait_for(lambda: fake.response_posts, message="the answer")
        finally:
            stop.set()
            await asyncio.wait_for(server, timeout=5)
            await services.db.close()

    assert status == 200
    assert fake.response_posts[0].path == "http/1"


async def test_socket_mode_acknowledges_and_answers_when_app_token_is_set(tmp_path):
    async with FakeSlackApi() as fake, FakeSocketModeSlack() as slack:
        settings = harness_settings(
            tmp_path / "rapport.db",
            fake,
            slack_app_token=APP_TOKEN,
            slack_api_url=slack.base_url,
            slack_signing_secret=None,
        )
        services = await create_services(settings, clock=FakeClock())
        stop = asyncio.Event()
        server = asyncio.create_task(run_app(create_app(services), settings, stop=stop))
        try:
            await wait_for(lambda: slack.connected, message="the socket")
            started = time.monotonic()
            await slack.send(
                "slash_commands",
                slash_fields("acme", fake.response_url("socket/1")),
                envelope_id="env-1",
            )
            await wait_for(lambda: "env-1" in slack.acks, message="the ack")
            acked_after = time.monotonic() - started
            await wait_for(lambda: fake.response_posts, message="the answer")

            await slack.send(
                "slash_commands",
                slash_fields("", fake.response_url("socket/2")),
                envelope_id="env-2",
            )
            await wait_for(lambda: "env-2" in slack.acks, message="the usage ack")
        finally:
            stop.set()
            await asyncio.wait_for(server, timeout=5)
            await services.db.close()

    # One call checks the token at start, the next opens the socket.
    assert slack.app_tokens == [f"Bearer {APP_TOKEN}"] * 2
    assert acked_after < 1.0
    assert fake.response_posts[0].path == "socket/1"
    assert fake.response_posts[0].body["response_type"] == "ephemeral"
    assert "/whoknows Acme" in json.dumps(slack.acks["env-2"]["payload"])


async def test_serve_listens_then_stops_cleanly_when_sent_sigterm(tmp_path):
    pytest.importorskip("bot.scheduler", reason="bot/scheduler.py not written yet")
    async with FakeSlackApi() as fake:
        settings = harness_settings(tmp_path / "rapport.db", fake, port=free_port())
        server = asyncio.create_task(serve(settings, host="127.0.0.1"))
        async with aiohttp.ClientSession() as session:

            async def healthy() -> bool:
                try:
                    url = f"http://127.0.0.1:{settings.port}/healthz"
                    async with session.get(url) as response:
                        return response.status == 200
                except aiohttp.ClientConnectionError:
                    return False

            await wait_for(healthy, message="serve() to listen")
        # Only signal once serve() has taken SIGTERM over, or pytest would die.
        assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(server, timeout=10)

    assert server.done() and server.exception() is None
