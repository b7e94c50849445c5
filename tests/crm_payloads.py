"""Interactivity payloads the CRM tests send, in Slack's shapes.

Field sets follow the public samples in
shared/data/slack-payloads/java-slack-sdk-samples/app-backend (MessageShortcutPayload,
ViewSubmissionPayload, BlockActionPayload, DialogSuggestionPayload) and
events/AppHomeOpenedPayload. The harness builds slash commands, events and
button clicks; these add the shortcut, submission and options payloads.
"""

from __future__ import annotations

import time

from tests.slack_harness import DEFAULT_USER_ID, DEFAULT_USER_NAME, SlackHarness


def _user(harness: SlackHarness, user_id: str) -> dict:
    return {
        "id": user_id,
        "username": DEFAULT_USER_NAME,
        "name": DEFAULT_USER_NAME,
        "team_id": harness.team_id,
    }


def _team(harness: SlackHarness) -> dict:
    return {"id": harness.team_id, "domain": "rapport-test"}


def message_shortcut(
    harness: SlackHarness,
    message: dict,
    *,
    channel_id: str = "C0GENERAL1",
    user_id: str = DEFAULT_USER_ID,
    callback_id: str = "log_interaction_message",
) -> dict:
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "trigger_id": harness.fake.state.issue_trigger_id(),
        "message_ts": message["ts"],
        "response_url": harness.fake.response_url(f"shortcut/{message['ts']}"),
        "message": message,
        "team": _team(harness),
        "user": _user(harness, user_id),
        "channel": {"id": channel_id, "name": "general"},
        "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}",
        "is_enterprise_install": False,
    }


def global_shortcut(
    harness: SlackHarness,
    *,
    user_id: str = DEFAULT_USER_ID,
    callback_id: str = "log_interaction_global",
) -> dict:
    return {
        "type": "shortcut",
        "callback_id": callback_id,
        "trigger_id": harness.fake.state.issue_trigger_id(),
        "team": _team(harness),
        "user": _user(harness, user_id),
        "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}",
        "is_enterprise_install": False,
    }


def view_submission(
    harness: SlackHarness, view: dict, values: dict, *, user_id: str = DEFAULT_USER_ID
) -> dict:
    """Submit `view` (as the fake stored it) with `values` as its state."""
    submitted = dict(view)
    submitted["state"] = {"values": values}
    return {
        "type": "view_submission",
        "team": _team(harness),
        "user": _user(harness, user_id),
        "api_app_id": harness.fake.state.app_id,
        "token": "legacy-verification-token",
        "trigger_id": harness.fake.state.issue_trigger_id(),
        "view": submitted,
        "response_urls": [],
        "is_enterprise_install": False,
    }


def view_closed(
    harness: SlackHarness, view: dict, *, user_id: str = DEFAULT_USER_ID
) -> dict:
    """Sent when a user closes a modal that asked for notify_on_close."""
    return {
        "type": "view_closed",
        "team": _team(harness),
        "user": _user(harness, user_id),
        "api_app_id": harness.fake.state.app_id,
        "token": "legacy-verification-token",
        "view": view,
        "is_cleared": False,
        "is_enterprise_install": False,
    }


def block_suggestion(
    harness: SlackHarness,
    view: dict,
    *,
    action_id: str,
    block_id: str,
    value: str,
    user_id: str = DEFAULT_USER_ID,
) -> dict:
    """The options request an external select sends as the user types."""
    return {
        "type": "block_suggestion",
        "user": _user(harness, user_id),
        "container": {"type": "view", "view_id": view.get("id", "")},
        "api_app_id": harness.fake.state.app_id,
        "token": "legacy-verification-token",
        "action_id": action_id,
        "block_id": block_id,
        "value": value,
        "team": _team(harness),
        "view": view,
        "is_enterprise_install": False,
    }


def form_values(
    *,
    org: tuple[str, str] | None,
    kind: str = "call",
    day: str | None = "2025-03-07",
    note: str = "",
    followup: str | None = None,
    visibility: str = "team",
    contacts: list[tuple[str, str]] = (),
) -> dict:
    """A log form's state.values as Slack sends them; pairs are (value, label)."""

    def opt(value: str, label: str) -> dict:
        text = {"type": "plain_text", "text": label, "emoji": True}
        return {"text": text, "value": value}

    return {
        "org": {
            "crm_org": {
                "type": "external_select",
                "selected_option": opt(*org) if org else None,
            }
        },
        "contacts": {
            "crm_contacts": {
                "type": "multi_static_select",
                "selected_options": [opt(v, label) for v, label in contacts],
            }
        },
        "kind": {"kind": {"type": "static_select", "selected_option": opt(kind, kind)}},
        "date": {"date": {"type": "datepicker", "selected_date": day}},
        "note": {"note": {"type": "plain_text_input", "value": note or None}},
        "followup": {"followup": {"type": "datepicker", "selected_date": followup}},
        "visibility": {
            "visibility": {
                "type": "radio_buttons",
                "selected_option": opt(visibility, visibility),
            }
        },
    }
