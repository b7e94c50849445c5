"""Running the Slack app: Socket Mode when an app token is set, else HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Bolt answers within Slack's 3 s budget; anything slower is already lost.
SHUTDOWN_GRACE_SECONDS = 5.0


def build_web_app(app: AsyncApp, *, signing_secret: str) -> web.Application:
    """The HTTP front: Slack posts to /slack/events; a probe may GET /healthz."""
    verifier = SignatureVerifier(signing_secret)

    async def events(request: web.Request) -> web.Response:
        started = time.monotonic()
        body = (await request.read()).decode("utf-8", "replace")
        # Checked here, before Bolt parses the body: a forged request with a
        # broken body must get a 401, not a parser's traceback and a 500.
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        if not (timestamp.isascii() and timestamp.isdigit()) or not verifier.is_valid(
            body, timestamp, signature
        ):
            logger.info("Rejected a request with a bad or stale signature")
            return web.json_response({"error": "invalid request"}, status=401)
        try:
            bolt_request = await to_bolt_request(request)
        except (ValueError, TypeError, AttributeError):
            logger.warning("Rejected a signed request whose body does not parse")
            return web.json_response({"error": "malformed request"}, status=400)
        bolt_response = await app.async_dispatch(bolt_request)
        logger.debug(
            "Answered a Slack request with %s in %.0f ms",
            bolt_response.status,
            (time.monotonic() - started) * 1000,
        )
        return await to_aiohttp_response(bolt_response)

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    web_app = web.Application()
    web_app.router.add_post(EVENTS_PATH, events)
    web_app.router.add_get(HEALTH_PATH, health)
    return web_app


async def serve(
    settings: Settings, *, host: str = "0.0.0.0", stop: asyncio.Event | None = None
) -> None:
    """Serve until SIGTERM/SIGINT (or `stop` is set), then close everything.

    The graph is built before the first request so no user waits for it.
    """
    from bot.app import create_app
    from bot.services import create_services

    settings.require_slack()
    stop = stop or asyncio.Event()
    older_tasks = asyncio.all_tasks()
    services = await create_services(settings)
    scheduler = None
    try:
        await services.graphs.refresh()
        app = create_app(services)
        await check_slack(app, settings)
        # Imported late so this module (and tests of the Slack front) load
        # without the scheduler and its jobs.
        from bot.scheduler import start_scheduler

        scheduler = start_scheduler(services, app.client)
        with _stop_on_signals(stop):
            await run_app(app, settings, host=host, stop=stop)
    finally:
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        # Answers started after an ack may still be running; let them finish
        # before their database goes away.
        await _finish_pending_tasks(older_tasks, SHUTDOWN_GRACE_SECONDS)
        await services.db.close()
        logger.info("Rapport stopped")


async def run_app(
    app: AsyncApp, settings: Settings, *, host: str = "0.0.0.0", stop: asyncio.Event
) -> None:
    """Feed Slack's requests to `app` until `stop` is set."""
    if settings.socket_mode:
        await _run_socket_mode(app, settings, stop)
    else:
        await _run_http(app, settings, host=host, stop=stop)


async def _run_socket_mode(
    app: AsyncApp, settings: Settings, stop: asyncio.Event
) -> None:
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    await _check_app_token(settings)
    handler = AsyncSocketModeHandler(app, settings.slack_app_token)
    # The Socket Mode client retries its first connection without end; a
    # stop request must still win while it is trying.
    connecting = asyncio.create_task(handler.connect_async())
    stopping = asyncio.create_task(stop.wait())
    try:
        await asyncio.wait({connecting, stopping}, return_when=asyncio.FIRST_COMPLETED)
        if connecting.done():
            connecting.result()
            logger.info("Rapport is listening over Socket Mode")
            await stopping
    finally:
        for task in (connecting, stopping):
            task.cancel()
        await asyncio.gather(connecting, stopping, return_exceptions=True)
        await handler.close_async()


class StartupError(RuntimeError):
    """Slack refused the app's credentials or could not be reached at start."""


async def check_slack(app: AsyncApp, settings: Settings) -> None:
    """Fail fast, naming the variable, when Slack rejects the bot token."""
    try:
        await app.client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        raise StartupError(f"Slack refused SLACK_BOT_TOKEN ({error})") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise StartupError(
            f"cannot reach Slack at {settings.slack_api_url} "
            f"(SLACK_API_URL): {type(exc).__name__}"
        ) from None


async def _check_app_token(settings: Settings) -> None:
    client = AsyncWebClient(base_url=settings.slack_api_url)
    try:
        await client.apps_connections_open(app_token=settings.slack_app_token)
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown_error")
        raise StartupError(f"Slack refused SLACK_APP_TOKEN ({error})") from None
    except (TimeoutError, aiohttp.ClientError, OSError) as exc:
        raise StartupError(
            f"cannot reach Slack at {settings.slack_api_url}: {type(exc).__name__}"
        ) from None


async def _run_http(
    app: AsyncApp, settings: Settings, *, host: str, stop: asyncio.Event
) -> None:
    runner = web.AppRunner(
        build_web_app(app, signing_secret=settings.slack_signing_secret or ""),
        access_log=None,
        shutdown_timeout=SHUTDOWN_GRACE_SECONDS,
    )
    await runner.setup()
    try:
        await web.TCPSite(runner, host, settings.port).start()
        logger.info("Rapport is listening on %s:%s%s", host, settings.port, EVENTS_PATH)
        await stop.wait()
    finally:
        await runner.cleanup()


async def _finish_pending_tasks(older: set[asyncio.Task], timeout: float) -> None:
    """Wait for tasks started since `older` was taken (listener work, jobs)."""
    current = asyncio.current_task()
    pending = [
        t
        for t in asyncio.all_tasks()
        if t is not current and t not in older and not t.done()
    ]
    if not pending:
        return
    _, still_running = await asyncio.wait(pending, timeout=timeout)
    if still_running:
        logger.warning("%d tasks still running at shutdown", len(still_running))


class _stop_on_signals:
    """Set `stop` on SIGTERM/SIGINT while inside; restore the defaults after."""

    _SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self, stop: asyncio.Event) -> None:
        self._stop = stop
        self._installed: list[signal.Signals] = []

    def __enter__(self) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._SIGNALS:
            try:
                loop.add_signal_handler(sig, self._stopping, sig)
            except (NotImplementedError, RuntimeError):
                # Off the main thread (or on Windows) signals cannot be caught;
                # the caller's `stop` event still ends the server.
                continue
            self._installed.append(sig)

    def __exit__(self, *exc_info: object) -> None:
        loop = asyncio.get_running_loop()
        for sig in self._installed:
            loop.remove_signal_handler(sig)

    def _stopping(self, sig: signal.Signals) -> None:
        logger.info("Received %s; shutting down", sig.name)
        self._stop.set()
