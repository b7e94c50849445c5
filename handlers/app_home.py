"""The App Home tab: published on app_home_opened, refreshed after a button."""

from __future__ import annotations

import logging
import time

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot import crm
from bot.services import Services
from handlers.blocks import home as blocks

logger = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.event("app_home_opened")
    async def home_opened(event: dict, client: AsyncWebClient) -> None:
        # The Messages tab opens this event too; only the Home tab has a view.
        if event.get("tab") not in (None, "", "home") or not event.get("user"):
            return
        await publish_home(services, client, str(event["user"]))

    @app.action(blocks.FOLLOWUP_DONE)
    async def followup_done(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        value = str(action.get("value") or "")
        if value.isdigit():
            await crm.complete_followup(
                services, followup_id=int(value), slack_user_id=user_id
            )
        await publish_home(services, client, user_id)

    @app.action(blocks.FOLLOWUP_SNOOZE)
    async def followup_snooze(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        value = str(action.get("value") or "")
        if value.isdigit():
            await crm.snooze_followup(
                services, followup_id=int(value), slack_user_id=user_id
            )
        await publish_home(services, client, user_id)


async def publish_home(
    services: Services, client: AsyncWebClient, user_id: str
) -> None:
    """Build this user's Home tab and publish it (a repeat publish is harmless)."""
    started = time.monotonic()
    data = await crm.home_data(services, slack_user_id=user_id)
    await client.views_publish(user_id=user_id, view=blocks.home_view(data))
    logger.info(
        "Published a Home tab (%d logs, %d follow-ups) in %.0f ms",
        len(data.recent_logs),
        len(data.followups),
        (time.monotonic() - started) * 1000,
    )
