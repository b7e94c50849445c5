"""Signed requests of a shape Slack never sends: acknowledged and dropped.

Bolt reads `actions[0]`, `event["type"]` and `view["callback_id"]` while it
authorizes, matches listeners and builds their arguments, before any listener
runs; a payload without them ends as an IndexError and an HTTP 500, which Slack
retries. `PayloadShapeGuard` runs straight after the signature check (Bolt's
`before_authorize` slot) and answers such requests itself: a 200 and nothing
more, or for a slash command a short ephemeral line, as someone waits on it.
Listeners can then rely on the fields checked here; deeper fields (a form's
values) are still theirs to read with care.

It is also where slash command text is un-escaped, once, for every command.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.middleware.async_middleware import AsyncMiddleware
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from handlers.escape import unescape_slash_text

logger = logging.getLogger(__name__)

INCOMPLETE_COMMAND = (
    "Slack sent that command without everything needed to answer it. "
    "Please run it again."
)

# Interactivity payload types that carry a user and a trigger id.
_TRIGGERED = {"block_actions", "shortcut", "message_action", "view_submission"}


class PayloadShapeGuard(AsyncMiddleware):
    """Drops malformed requests before Bolt looks inside them."""

    async def async_process(
        self,
        *,
        req: AsyncBoltRequest,
        resp: BoltResponse,
        next: Callable[[], Awaitable[BoltResponse]],
    ) -> BoltResponse | None:
        body = req.body
        problem = shape_problem(body)
        if problem is not None:
            kind = request_kind(body)
            # The problem names a field, never a value a user typed.
            logger.warning("Dropped a malformed %s request: %s", kind, problem)
            if kind == "slash_command":
                return BoltResponse(
                    status=200,
                    body={"response_type": "ephemeral", "text": INCOMPLETE_COMMAND},
                )
            return BoltResponse(status=200, body="")
        if "command" in body:
            body["text"] = unescape_slash_text(body.get("text"))
        return await next()


def request_kind(body: object) -> str:
    if not isinstance(body, Mapping):
        return "unknown"
    if "command" in body:
        return "slash_command"
    kind = body.get("type")
    return kind if isinstance(kind, str) and len(kind) <= 40 else "unknown"


def shape_problem(body: object) -> str | None:
    """What makes `body` unusable, or None when Bolt and the listeners can read it."""
    if not isinstance(body, Mapping):
        return "the body is not an object"
    if "command" in body:
        return _command_problem(body)
    kind = body.get("type")
    if kind == "event_callback":
        event = body.get("event")
        if not isinstance(event, Mapping) or not _text(event.get("type")):
            return "event is not an object with a type"
        return None
    if kind not in _TRIGGERED | {"view_closed", "block_suggestion"}:
        return None

    user = body.get("user")
    if not isinstance(user, Mapping) or not _text(user.get("id")):
        return "user is not an object with an id"
    for name in ("team", "channel", "container", "message", "view"):
        if body.get(name) is not None and not isinstance(body.get(name), Mapping):
            return f"{name} is not an object"
    if kind in _TRIGGERED and not _text(body.get("trigger_id")):
        return "no trigger_id"
    if kind == "block_actions":
        return _actions_problem(body.get("actions"))
    if kind in ("shortcut", "message_action") and not _text(body.get("callback_id")):
        return "no callback_id"
    if kind == "message_action" and not isinstance(body.get("message"), Mapping):
        return "no message"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, Mapping) or not _text(view.get("callback_id")):
            return "view is not an object with a callback_id"
    if kind == "block_suggestion" and not _text(body.get("action_id")):
        return "no action_id"
    return None


def _command_problem(body: Mapping[str, Any]) -> str | None:
    for name in ("command", "user_id", "response_url", "trigger_id"):
        if not _text(body.get(name)):
            return f"no {name}"
    if body.get("text") is not None and not isinstance(body.get("text"), str):
        return "text is not a string"
    return None


def _actions_problem(actions: object) -> str | None:
    if not isinstance(actions, list) or not actions:
        return "actions is not a non-empty list"
    for action in actions:
        if not isinstance(action, Mapping) or not _text(action.get("action_id")):
            return "an action without an action_id"
    return None


def _text(value: object) -> bool:
    return isinstance(value, str) and bool(value)
