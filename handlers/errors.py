"""The one place unexpected errors end: logged once, answered with an apology."""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackClientError

from bot.services import Services

logger = logging.getLogger(__name__)

# How often Bolt's HTTP dispatcher checks whether a listener has called ack().
_BOLT_ACK_POLL_SECONDS = 0.01

APOLOGY = "Sorry, something went wrong on our side. Please try again in a minute."

# Requests a person made and waits on; events (Home tab opened, ...) get no reply.
_INTERACTIVE = {
    "slash_command",
    "block_actions",
    "view_submission",
    "shortcut",
    "message_action",
}


class UserFacingError(Exception):
    """An expected failure whose message is written for the user and safe to show.

    Raise it from a listener after ack(); the user sees `str(error)`, escaped by
    the raiser where it holds user text, and no traceback is logged.
    """


def register(app: AsyncApp, services: Services) -> None:
    app.error(handle_error)


async def handle_error(
    error: Exception, request: AsyncBoltRequest, response: BoltResponse | None
) -> BoltResponse | None:
    if response is None:
        # Already acknowledged. Bolt's runner resets the ack to None once this
        # handler returns, while its dispatcher polls every 10 ms for the ack
        # to become the HTTP response: a listener failing within those 10 ms
        # would leave Slack waiting 3 s for a 404. Yielding past one poll
        # interval first lets the dispatcher send the 200 it already has.
        await asyncio.sleep(_BOLT_ACK_POLL_SECONDS * 2)
    body = request.body if isinstance(request.body, dict) else {}
    kind = _request_kind(body)
    if isinstance(error, UserFacingError):
        logger.info("Refused a %s request: %s", kind, type(error).__name__)
        text = str(error)
    else:
        logger.error(
            "Unhandled error in a %s request (%s)",
            kind,
            _listener_hint(body),
            exc_info=error,
        )
        text = APOLOGY
    if kind not in _INTERACTIVE:
        return None

    # Not yet acknowledged: the apology can be the acknowledgement itself.
    if response is not None and kind == "slash_command":
        return BoltResponse(
            status=200,
            body={"response_type": "ephemeral", "text": text},
        )
    await _tell_user(request, body, text)
    return None


async def _tell_user(request: AsyncBoltRequest, body: dict, text: str) -> None:
    context = request.context
    try:
        if context.response_url:
            await context.respond(
                text=text, response_type="ephemeral", replace_original=False
            )
        elif context.user_id and context.channel_id:
            await context.client.chat_postEphemeral(
                channel=context.channel_id, user=context.user_id, text=text
            )
        elif context.user_id:
            # Modals carry no channel; the app's DM with the user is the only place.
            await context.client.chat_postMessage(channel=context.user_id, text=text)
    except (SlackClientError, OSError, ValueError) as exc:
        logger.warning("Could not tell the user about an error: %s", type(exc).__name__)


def _request_kind(body: dict) -> str:
    if "command" in body:
        return "slash_command"
    if body.get("type") == "event_callback":
        return "event"
    return str(body.get("type") or "unknown")


def _listener_hint(body: dict) -> str:
    """Which listener failed, without any text a user typed."""
    if "command" in body:
        return str(body["command"])
    actions = body.get("actions") or []
    if actions and isinstance(actions[0], dict):
        return f"action {actions[0].get('action_id', '?')}"
    view = body.get("view") or {}
    if isinstance(view, dict) and view.get("callback_id"):
        return f"view {view['callback_id']}"
    if body.get("callback_id"):
        return f"callback {body['callback_id']}"
    event = body.get("event") or {}
    if isinstance(event, dict) and event.get("type"):
        return f"event {event['type']}"
    return "no listener id"
