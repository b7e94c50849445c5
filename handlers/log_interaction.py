"""Logging interactions: the shortcuts, `/log`, the form and its selects.

Every entry point acks first. A form opens as a loading view straight away
(the trigger id is spent once, within Slack's 3 s), and the prepared form
replaces it through views.update: the message shortcut may need a users.info
call per person on the message, which can take longer than a trigger lives.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot import crm
from bot.services import Services
from handlers.blocks import crm as blocks
from handlers.blocks.home import HOME_LOG
from storage import drafts as draft_store
from storage.crm import iso
from storage.drafts import Draft

logger = logging.getLogger(__name__)

COMMAND = "/log"
# users.info errors that mean "no such person to suggest", not a failed lookup.
_ABSENT_USER_ERRORS = {"user_not_found", "user_not_visible", "account_inactive"}


def register(app: AsyncApp, services: Services) -> None:
    @app.shortcut(blocks.MESSAGE_SHORTCUT)
    async def log_from_message(
        ack: AsyncAck, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        user_id, team_id = _user_and_team(body)
        channel_id = (body.get("channel") or {}).get("id")
        message = body.get("message") or {}

        async def prepare() -> Draft:
            return await crm.draft_from_message(
                services,
                slack_user_id=user_id,
                team_id=team_id,
                channel_id=channel_id,
                message=message,
                users_info=users_info_via(client),
                permalink=permalink_via(client, channel_id, message.get("ts")),
            )

        await open_log_form(client, trigger_id=body["trigger_id"], prepare=prepare)

    @app.shortcut(blocks.GLOBAL_SHORTCUT)
    async def log_from_anywhere(
        ack: AsyncAck, body: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        await _open_blank_form(services, client, body)

    @app.action(HOME_LOG)
    async def log_from_home(ack: AsyncAck, body: dict, client: AsyncWebClient) -> None:
        await ack()
        await _open_blank_form(services, client, body)

    @app.action(blocks.LOG_FOR_ORG)
    async def log_for_org(
        ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        await _open_org_form(services, client, body, action, kind="call")

    @app.action(blocks.NOTE_FOR_ORG)
    async def note_for_org(
        ack: AsyncAck, body: dict, action: dict, client: AsyncWebClient
    ) -> None:
        await ack()
        await _open_org_form(services, client, body, action, kind="note")

    @app.command(COMMAND)
    async def log_command(
        ack: AsyncAck, command: dict, client: AsyncWebClient, respond: AsyncRespond
    ) -> None:
        text = str(command.get("text") or "").strip()
        parsed = crm.parse_log_command(text) if text else None
        if text and parsed is None:
            await ack(**blocks.log_usage_message())
            return
        await ack()
        if parsed is None:
            await _open_blank_form(services, client, command)
            return
        await log_one_line(
            services,
            client=client,
            respond=respond,
            command=command,
            org_text=parsed[0],
            note=parsed[1],
        )

    @app.action(re.compile(rf"^{blocks.PICK_LOG_ORG}_(\d+|new)$"))
    async def pick_org_for_line(
        ack: AsyncAck,
        body: dict,
        action: dict,
        client: AsyncWebClient,
        respond: AsyncRespond,
    ) -> None:
        await ack()
        await log_picked_org(
            services, client=client, respond=respond, body=body, action=action
        )

    @app.options(blocks.ORG_ACTION)
    async def organisation_options(ack: AsyncAck, payload: dict) -> None:
        typed = str(payload.get("value") or "")
        matches = await crm.search_organisations(services, typed, limit=50)
        await ack(options=blocks.org_options(matches, typed))

    @app.options(blocks.CONTACTS_ACTION)
    async def contact_options(ack: AsyncAck, payload: dict) -> None:
        typed = str(payload.get("value") or "")
        found = await crm.search_contacts(services, typed, limit=50) if typed else []
        await ack(options=blocks.contact_options(found))

    @app.view(blocks.FORM_CALLBACK)
    async def submit_form(
        ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient
    ) -> None:
        await submit_log_form(services, ack=ack, body=body, view=view, client=client)

    @app.view_closed(blocks.FORM_CALLBACK)
    async def close_form(ack: AsyncAck, body: dict, view: dict) -> None:
        await ack()
        user_id, _ = _user_and_team(body)
        draft_id = blocks.draft_id_from(view)
        if draft_id:
            await draft_store.delete_draft(services.db, draft_id, slack_user_id=user_id)


# Opening the form -------------------------------------------------------------------


async def open_log_form(
    client: AsyncWebClient,
    *,
    trigger_id: str,
    prepare: Callable[[], Awaitable[Draft]],
    title: str = blocks.FORM_TITLE,
) -> None:
    """Open a loading modal now, then swap in the prepared form (or say it failed)."""
    started = time.monotonic()
    opened = await client.views_open(trigger_id=trigger_id, view=blocks.loading_view())
    view_id = opened["view"]["id"]
    try:
        draft = await prepare()
    except Exception:
        logger.exception("Preparing the log form failed")
        await client.views_update(view_id=view_id, view=blocks.failed_view())
        return
    await client.views_update(
        view_id=view_id, view=blocks.log_form_view(draft, title=title)
    )
    logger.info(
        "Opened the log form (%d suggested contacts) in %.0f ms",
        len(draft.data.get("candidates") or []),
        (time.monotonic() - started) * 1000,
    )


async def _open_blank_form(
    services: Services, client: AsyncWebClient, body: dict
) -> None:
    user_id, team_id = _user_and_team(body)

    async def prepare() -> Draft:
        return await crm.draft_for_form(
            services, slack_user_id=user_id, team_id=team_id
        )

    await open_log_form(client, trigger_id=body["trigger_id"], prepare=prepare)


async def _open_org_form(
    services: Services, client: AsyncWebClient, body: dict, action: dict, *, kind: str
) -> None:
    user_id, team_id = _user_and_team(body)
    # A garbled id is an unknown organisation: the form opens without one.
    org_id = crm.parse_row_id(action.get("value"))

    async def prepare() -> Draft:
        return await crm.draft_for_form(
            services,
            slack_user_id=user_id,
            team_id=team_id,
            org_id=org_id,
            kind=kind,
            source="card",
        )

    title = blocks.NOTE_TITLE if kind == "note" else blocks.FORM_TITLE
    await open_log_form(
        client, trigger_id=body["trigger_id"], prepare=prepare, title=title
    )


# Submitting -------------------------------------------------------------------------


def parse_form(state: object) -> crm.FormValues:
    """The view state of a submitted form as plain values.

    A field of another shape than Slack's reads as empty, so a garbled
    submission gets the form's own "missing" errors rather than a crash.
    """
    values = _mapping(_mapping(state).get("values"))

    def field(block: str, action: str) -> Mapping[str, Any]:
        return _mapping(_mapping(values.get(block)).get(action))

    def text(block: str, action: str, key: str) -> str | None:
        value = field(block, action).get(key)
        return value if isinstance(value, str) else None

    def selected(block: str, action: str) -> str | None:
        value = _mapping(field(block, action).get("selected_option")).get("value")
        return value if isinstance(value, str) else None

    chosen = field(blocks.CONTACTS_BLOCK, blocks.CONTACTS_ACTION).get(
        "selected_options"
    )
    contacts = [_mapping(o).get("value") for o in _list(chosen)]
    return crm.FormValues(
        org=selected(blocks.ORG_BLOCK, blocks.ORG_ACTION),
        kind=selected(blocks.KIND_BLOCK, blocks.KIND_BLOCK),
        occurred_on=text(blocks.DATE_BLOCK, blocks.DATE_BLOCK, "selected_date"),
        note=text(blocks.NOTE_BLOCK, blocks.NOTE_BLOCK, "value") or "",
        followup_on=text(blocks.FOLLOWUP_BLOCK, blocks.FOLLOWUP_BLOCK, "selected_date"),
        visibility=selected(blocks.VISIBILITY_BLOCK, blocks.VISIBILITY_BLOCK) or "team",
        contacts=tuple(c for c in contacts if isinstance(c, str) and c),
    )


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


async def submit_log_form(
    services: Services, *, ack: AsyncAck, body: dict, view: dict, client: AsyncWebClient
) -> None:
    """Validate in the modal (errors keep it open), else ack, log once, confirm."""
    started = time.monotonic()
    user_id, team_id = _user_and_team(body)
    values = parse_form(view.get("state") or {})
    draft_id = blocks.draft_id_from(view)
    draft = None
    if draft_id:
        draft = await draft_store.get_draft(
            services.db, draft_id, slack_user_id=user_id
        )
    if draft is None:
        await ack(
            response_action="errors",
            errors={blocks.NOTE_BLOCK: blocks.ERRORS["draft_gone"]},
        )
        return
    codes = await crm.check_form(services, values)
    if codes:
        await ack(
            response_action="errors",
            errors=blocks.form_errors(codes, note_length=len(values.note)),
        )
        return
    await ack()

    if draft.logged_id is not None:
        logger.info("Ignored a repeated submission of a logged form")
        return
    result = await crm.log_interaction(
        services,
        slack_user_id=user_id,
        team_id=team_id,
        values=values,
        client_token=draft.client_token,
        draft=draft.data,
        users_info=users_info_via(client),
    )
    if not result.created:
        logger.info("Ignored a repeated submission of a logged form")
        return
    await draft_store.mark_draft_logged(services.db, draft.id, result.logged_id)
    await client.chat_postMessage(channel=user_id, **blocks.logged_message(result))
    logger.info(
        "Logged an interaction from the form in %.0f ms",
        (time.monotonic() - started) * 1000,
    )
    await services.graphs.refresh()


async def log_one_line(
    services: Services,
    *,
    client: AsyncWebClient,
    respond: AsyncRespond,
    command: dict,
    org_text: str,
    note: str,
) -> None:
    """`/log ORG: TEXT`: log at once when ORG is clear, else offer the choices."""
    user_id, team_id = _user_and_team(command)
    if len(note) > crm.NOTE_MAX:
        text = blocks.ERRORS["note_too_long"].format(length=len(note))
        await respond(**blocks.text_message(text))
        return
    try:
        match = await crm.resolve_organisation(services, org_text)
    except crm.OrganisationNotFound as missing:
        draft = await crm.draft_for_form(
            services,
            slack_user_id=user_id,
            team_id=team_id,
            kind="note",
            note=note,
            source="command",
        )
        await respond(
            **blocks.org_choices_message(
                missing.query,
                missing.choices,
                action_id=blocks.PICK_LOG_ORG,
                value_prefix=f"{draft.id}|",
                new_org_value=f"{draft.id}|{blocks.NEW_ORG_PREFIX}{org_text[:100]}",
            )
        )
        return
    now = services.clock()
    values = crm.FormValues(
        org=f"org:{match.id}",
        kind="note",
        occurred_on=now.date().isoformat(),
        note=note,
        followup_on=None,
        visibility="team",
    )
    # A retried delivery carries the same trigger id, so it logs nothing new.
    token = f"cmd:{command.get('trigger_id') or command.get('response_url')}"
    await _log_and_confirm(
        services,
        client=client,
        respond=respond,
        user_id=user_id,
        team_id=team_id,
        values=values,
        token=token,
        occurred_at=iso(now),
    )


async def log_picked_org(
    services: Services,
    *,
    client: AsyncWebClient,
    respond: AsyncRespond,
    body: dict,
    action: dict,
) -> None:
    """The choice after an unclear `/log ORG:`; the note waited in a draft."""
    user_id, team_id = _user_and_team(body)
    draft_id, _, org_ref = str(action.get("value") or "").partition("|")
    draft = await draft_store.get_draft(services.db, draft_id, slack_user_id=user_id)
    if draft is None:
        await respond(**blocks.text_message(blocks.ERRORS["draft_gone"]))
        return
    if draft.logged_id is not None:
        logger.info("Ignored a repeated choice for a logged /log line")
        return
    data = draft.data
    values = crm.FormValues(
        org=org_ref,
        kind=data.get("kind") or "note",
        occurred_on=data.get("occurred_on"),
        note=data.get("note") or "",
        followup_on=None,
        visibility="team",
    )
    codes = await crm.check_form(services, values)
    if codes:
        first = next(iter(codes.values()))
        await respond(**blocks.text_message(blocks.ERRORS.get(first, first)))
        return
    result = await _log_and_confirm(
        services,
        client=client,
        respond=respond,
        user_id=user_id,
        team_id=team_id,
        values=values,
        token=draft.client_token,
        occurred_at=draft.created_at,
        replace_original=True,
    )
    if result is not None:
        await draft_store.mark_draft_logged(services.db, draft.id, result.logged_id)


async def _log_and_confirm(
    services: Services,
    *,
    client: AsyncWebClient,
    respond: AsyncRespond,
    user_id: str,
    team_id: str | None,
    values: crm.FormValues,
    token: str,
    occurred_at: str,
    replace_original: bool = False,
) -> crm.LogResult | None:
    """Log, confirm through the response URL, refresh the graph; None if not new."""
    try:
        result = await crm.log_interaction(
            services,
            slack_user_id=user_id,
            team_id=team_id,
            values=values,
            client_token=token,
            users_info=users_info_via(client),
            occurred_at=occurred_at,
        )
    except crm.CrmError:
        await respond(**blocks.text_message(blocks.UNKNOWN_USER))
        return None
    if not result.created:
        logger.info("Ignored a repeated /log delivery")
        return None
    message = blocks.logged_message(result)
    await respond(
        **message, response_type="ephemeral", replace_original=replace_original
    )
    await services.graphs.refresh()
    return result


# Slack calls the CRM functions need, as plain callables ------------------------------


def users_info_via(client: AsyncWebClient) -> crm.UsersInfo:
    """users.info as a callable: the user's JSON, or None when there is no such user."""

    async def fetch(user_id: str) -> dict | None:
        try:
            response = await client.users_info(user=user_id)
        except SlackApiError as exc:
            if exc.response.get("error") in _ABSENT_USER_ERRORS:
                return None
            raise
        user = response.get("user")
        return user if isinstance(user, dict) else None

    return fetch


def permalink_via(
    client: AsyncWebClient, channel_id: str | None, ts: str | None
) -> crm.Permalink:
    async def fetch() -> str | None:
        if not channel_id or not ts:
            return None
        response = await client.chat_getPermalink(channel=channel_id, message_ts=ts)
        return response.get("permalink")

    return fetch


def _user_and_team(body: dict) -> tuple[str, str | None]:
    """The acting user and their team, from any payload shape Slack sends."""
    user = body.get("user")
    if isinstance(user, dict):
        user_id = str(user.get("id") or "")
        team = (body.get("team") or {}).get("id") or user.get("team_id")
    else:
        user_id = str(body.get("user_id") or "")
        team = body.get("team_id")
    return user_id, team
