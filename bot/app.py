"""The Bolt app factory: one line per Slack surface, like a table of contents."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from handlers.payload_shape import PayloadShapeGuard

logger = logging.getLogger(__name__)


def create_app(services: Services) -> AsyncApp:
    settings = services.settings
    client = AsyncWebClient(
        token=settings.slack_bot_token, base_url=settings.slack_api_url
    )
    app = AsyncApp(
        client=client,
        signing_secret=settings.slack_signing_secret or "",
        # Socket Mode has no signatures to check; HTTP mode always does.
        request_verification_enabled=not settings.socket_mode,
        process_before_response=False,
        before_authorize=PayloadShapeGuard(),
    )
    from handlers import (
        app_home,
        client_card,
        errors,
        log_interaction,
        rapport_command,
        reminder_actions,
        whoknows,
    )

    errors.register(app, services)
    whoknows.register(app, services)
    reminder_actions.register(app, services)
    log_interaction.register(app, services)
    client_card.register(app, services)
    app_home.register(app, services)
    rapport_command.register(app, services)
    return app
