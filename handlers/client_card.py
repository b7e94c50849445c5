"""`/client ORG`: the account card, its choices, and its "show all" lists."""

from __future__ import annotations

import logging
import re
import time

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot import crm
from bot.services import Services
from handlers.blocks import crm as blocks
from handlers.errors import UserFacingError
from storage.crm import get_organisation

logger = logging.getLogger(__name__)

COMMAND = "/client"
USAGE = "Name an organisation: `/client Acme` or `/client acme.com`."
CONTACTS_PER_PAGE = 400


def register(app: AsyncApp, services: Services) -> None:
    @app.command(COMMAND)
    async def client_command(
        ack: AsyncAck, command: dict, respond: AsyncRespond
    ) -> None:
        query = " ".join(str(command.get("text") or "").split())
        if not query:
            await ack(**blocks.text_message(USAGE))
            return
        await ack()
        await answer_card(
            services, query=query, user_id=command.get("user_id"), respond=respond
        )

    @app.action(re.compile(rf"^{blocks.PICK_CARD}_\d+$"))
    async def pick_card(
        ack: AsyncAck, action: dict, body: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        org_id = crm.parse_row_id(str(action.get("value") or "").removeprefix("org:"))
        await show_card(
            services,
            org_id=org_id,
            user_id=_user_id(body),
            respond=respond,
            replace_original=True,
        )

    @app.action(blocks.SHOW_CARD)
    async def open_card(
        ack: AsyncAck, action: dict, body: dict, respond: AsyncRespond
    ) -> None:
        await ack()
        org_id = crm.parse_row_id(action.get("value"))
        await show_card(
            services, org_id=org_id, user_id=_user_id(body), respond=respond
        )

    @app.action(blocks.SHOW_ALL_CONTACTS)
    @app.action(blocks.SHOW_ALL_LOGS)
    @app.action(blocks.SHOW_ALL_FOLLOWUPS)
    async def show_all(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        org_id = crm.parse_row_id(action.get("value"))
        what = {
            blocks.SHOW_ALL_CONTACTS: "contacts",
            blocks.SHOW_ALL_LOGS: "logs",
            blocks.SHOW_ALL_FOLLOWUPS: "followups",
        }[action["action_id"]]
        if org_id is None:
            raise UserFacingError(blocks.ERRORS["org_gone"])
        view = await list_page(
            services, what=what, org_id=org_id, page=0, user_id=_user_id(body)
        )
        await client.views_open(trigger_id=body["trigger_id"], view=view)

    @app.action(re.compile(rf"^{blocks.LIST_PAGE}_(prev|next)$"))
    async def turn_page(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        parsed = blocks.parse_page_value(str(action.get("value") or ""))
        if parsed is None:
            return
        what, org_id, page = parsed
        view = await list_page(
            services, what=what, org_id=org_id, page=page, user_id=_user_id(body)
        )
        await client.views_update(view_id=body["view"]["id"], view=view)

    @app.action(blocks.SHOW_NOTE)
    async def show_note(
        ack: AsyncAck, action: dict, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        logged_id = crm.parse_row_id(action.get("value"))
        log = None
        if logged_id is not None:
            log = await crm.logged_note(
                services, logged_id=logged_id, viewer_slack_id=_user_id(body)
            )
        await client.views_open(
            trigger_id=body["trigger_id"], view=blocks.note_view(log)
        )


async def answer_card(
    services: Services, *, query: str, user_id: str | None, respond: AsyncRespond
) -> None:
    started = time.monotonic()
    try:
        match = await crm.resolve_organisation(services, query)
    except crm.OrganisationNotFound as missing:
        await respond(
            **blocks.org_choices_message(
                missing.query, missing.choices, action_id=blocks.PICK_CARD
            )
        )
        logger.info("Answered /client with %d choices", len(missing.choices))
        return
    await show_card(services, org_id=match.id, user_id=user_id, respond=respond)
    logger.info("Answered /client in %.0f ms", (time.monotonic() - started) * 1000)


async def show_card(
    services: Services,
    *,
    org_id: int | None,
    user_id: str | None,
    respond: AsyncRespond,
    replace_original: bool = False,
) -> None:
    """The card of `org_id`; None (a garbled button value) reads as not found."""
    card = None
    if org_id is not None:
        try:
            card = await crm.account_card(
                services, org_id=org_id, viewer_slack_id=user_id
            )
        except crm.CrmError:
            card = None
    if card is None:
        await respond(**blocks.text_message(blocks.ERRORS["org_gone"]))
        return
    await respond(**blocks.card_message(card), replace_original=replace_original)


async def list_page(
    services: Services, *, what: str, org_id: int, page: int, user_id: str | None
) -> dict:
    """One page of a card's full list, as the user may see it."""
    card_org = await get_organisation(services.db, org_id)
    if card_org is None:
        raise UserFacingError(blocks.ERRORS["org_gone"])
    name = card_org.name
    if what == "contacts":
        contacts = await crm.card_contacts(services, org_id)
        size = CONTACTS_PER_PAGE
        pages = blocks.page_count(len(contacts), size)
        page = min(page, pages - 1)
        chunk = contacts[page * size : (page + 1) * size]
        sections = blocks.contacts_sections(name, chunk)
        title = f"{name} contacts"
    elif what == "logs":
        size = blocks.LOGS_PER_PAGE
        logs, total = await crm.org_logs_page(
            services, org_id=org_id, viewer_slack_id=user_id, page=page, size=size
        )
        pages = blocks.page_count(total, size)
        sections = blocks.logs_sections(logs)
        title = f"{name} log"
    else:
        items = await crm.org_followups(
            services, org_id=org_id, viewer_slack_id=user_id
        )
        pages = 1
        page = 0
        sections = blocks.followups_sections(items)
        title = f"{name} follow-ups"
    return blocks.list_view(
        title=title, sections=sections, what=what, org_id=org_id, page=page, pages=pages
    )


def _user_id(body: dict) -> str | None:
    user = body.get("user") or {}
    return user.get("id") if isinstance(user, dict) else None
