"""Running the Slack app: Socket Mode when an app token is set, else HTTP."""

from __future__ import annotations

import asyncio
import logging
import signal
import time

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp

from bot.settings import Settings

logger = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
# Bolt answers within Slack's 3 s budget; anything slower is already lost.
SHUTDOWN_GRACE_SECONDS = 5.0


def build_web_app(app: AsyncApp) -> web.Application:
    """The HTTP front: Slack posts to /slack/events; a probe may GET /healthz."""

    async def events(request: web.Request) -> web.Response:
        started = time.monotonic()
        bolt_response = await app.async_dispatch(await to_bolt_request(request))
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

    handler = AsyncSocketModeHandler(app, settings.slack_app_token)
    await handler.connect_async()
    logger.info("Rapport is listening over Socket Mode")
    try:
        await stop.wait()
    finally:
        await handler.close_async()


async def _run_http(
    app: AsyncApp, settings: Settings, *, host: str, stop: asyncio.Event
) -> None:
    runner = web.AppRunner(
        build_web_app(app), access_log=None, shutdown_timeout=SHUTDOWN_GRACE_SECONDS
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
