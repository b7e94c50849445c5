"""The App Home tab: published on app_home_opened, refreshed after a button."""

from __future__ import annotations

import logging
import time

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
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
        # A garbled id is an unknown follow-up: nothing changes but the refresh.
        followup_id = crm.parse_row_id(action.get("value"))
        if followup_id is not None:
            await crm.complete_followup(
                services, followup_id=followup_id, slack_user_id=user_id
            )
        await publish_home(services, client, user_id)

    @app.action(blocks.FOLLOWUP_SNOOZE)
    async def followup_snooze(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id = str((body.get("user") or {}).get("id") or "")
        followup_id = crm.parse_row_id(action.get("value"))
        if followup_id is not None:
            await crm.snooze_followup(
                services, followup_id=followup_id, slack_user_id=user_id
            )
        await publish_home(services, client, user_id)


async def publish_home(
    services: Services, client: AsyncWebClient, user_id: str
) -> None:
    """Build this user's Home tab and publish it (a repeat publish is harmless)."""
    started = time.monotonic()
    data = await crm.home_data(services, slack_user_id=user_id)
    try:
        await client.views_publish(user_id=user_id, view=blocks.home_view(data))
    except SlackApiError as exc:
        # An expected refusal (a user id from another workspace, a deleted
        # account: invalid_arguments, not_found) leaves nothing to fix here.
        logger.warning(
            "views.publish refused the Home tab: %s", exc.response.get("error")
        )
        return
    logger.info(
        "Published a Home tab (%d logs, %d follow-ups) in %.0f ms",
        len(data.recent_logs),
        len(data.followups),
        (time.monotonic() - started) * 1000,
    )
