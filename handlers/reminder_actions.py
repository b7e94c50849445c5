"""The buttons on a follow-up reminder: Done, Snooze a week, Log interaction."""

from __future__ import annotations

import logging
from datetime import date

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import crm
from bot.services import Services
from handlers.blocks import crm as crm_blocks
from handlers.blocks import reminder as blocks
from storage.crm import get_followup

logger = logging.getLogger(__name__)

SNOOZE_DAYS = 7


def register(app: AsyncApp, services: Services) -> None:
    @app.action(blocks.DONE_ACTION)
    async def reminder_done(
        ack: AsyncAck, action: dict, body: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        followup_id = _followup_id(action)
        user_id = _user_id(body)
        done = followup_id is not None and await crm.complete_followup(
            services, followup_id=followup_id, slack_user_id=user_id
        )
        if not done:
            await respond(**blocks.not_allowed_message(), replace_original=False)
            return
        item = await get_followup(services.db, followup_id)
        await respond(
            **blocks.done_message(org_name=item.org_name if item else None),
            replace_original=True,
        )

    @app.action(blocks.SNOOZE_ACTION)
    async def reminder_snooze(
        ack: AsyncAck, action: dict, body: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        followup_id = _followup_id(action)
        user_id = _user_id(body)
        snoozed = followup_id is not None and await crm.snooze_followup(
            services, followup_id=followup_id, slack_user_id=user_id, days=SNOOZE_DAYS
        )
        item = await get_followup(services.db, followup_id) if snoozed else None
        if item is None:
            await respond(**blocks.not_allowed_message(), replace_original=False)
            return
        # The new day makes a new reminder key, so the reminder comes again then.
        await respond(
            **blocks.snoozed_message(
                org_name=item.org_name, until=date.fromisoformat(item.due_on[:10])
            ),
            replace_original=True,
        )

    @app.action(blocks.LOG_ACTION)
    async def reminder_log(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        # "followup id:org id"; a garbled org id opens the form without one.
        org_id = crm.parse_row_id(str(action.get("value") or "").partition(":")[2])
        # The trigger id lasts 3 s: open a loading view first, fill it after.
        opened = await client.views_open(
            trigger_id=body.get("trigger_id"), view=crm_blocks.loading_view()
        )
        view_id = opened["view"]["id"]
        try:
            draft = await crm.draft_for_form(
                services,
                slack_user_id=_user_id(body),
                team_id=(body.get("team") or {}).get("id"),
                org_id=org_id,
                source="reminder",
            )
        except Exception:
            logger.exception("Could not prepare the log form from a reminder")
            await client.views_update(view_id=view_id, view=crm_blocks.failed_view())
            return
        await client.views_update(view_id=view_id, view=crm_blocks.log_form_view(draft))


def _followup_id(action: dict) -> int | None:
    """The follow-up a button names ("12", or "12:7" on Log); None if garbled.

    Parsed with the CRM's shared id rule rather than str.isdigit(), so a
    forged value reads as an unknown follow-up and gets the polite refusal.
    """
    return crm.parse_row_id(str(action.get("value") or "").partition(":")[0])


def _user_id(body: dict) -> str:
    return str((body.get("user") or {}).get("id") or "")
