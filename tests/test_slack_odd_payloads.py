"""Signed but oddly shaped requests: a 200, a polite answer, never a traceback.

Every request here carries a valid signature, so only the payload's shape is
odd: what a buggy proxy, a replayed test payload or a future Slack change could
send. The real Bolt app runs over HTTP on 127.0.0.1 against the fake Web API.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

import pytest

from bot import crm
from handlers.blocks import crm as blocks
from handlers.blocks import home as home_blocks
from handlers.blocks import reminder as reminder_blocks
from handlers.log_interaction import parse_form
from handlers.payload_shape import INCOMPLETE_COMMAND
from tests import crm_payloads as payloads
from tests.crm_seed import ADA_SLACK_ID, seed_acme
from tests.slack_harness import DEFAULT_USER_ID, SlackHarness, running_slack_app

GARBLED_IDS = [
    pytest.param("9" * 30, id="past-64-bits"),
    pytest.param("²", id="superscript-two"),
    pytest.param("9223372036854775808", id="one-past-sqlite-max"),
    pytest.param("-1", id="negative"),
]


@pytest.fixture
async def slack(tmp_path):
    async with running_slack_app(tmp_path) as harness:
        yield harness


def errors_in(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.ERROR]


def tracebacks_in(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.exc_info]


async def slash_without(slack: SlackHarness, command: str, missing: str):
    fields = {
        "team_id": slack.team_id,
        "user_id": DEFAULT_USER_ID,
        "channel_id": "C0GENERAL1",
        "command": command,
        "text": "acme: hello",
        "response_url": slack.fake.response_url("commands/odd"),
        "trigger_id": slack.fake.state.issue_trigger_id(),
    }
    del fields[missing]
    return await slack.post(
        urlencode(fields), content_type="application/x-www-form-urlencoded"
    )


# Payloads Bolt itself cannot read ---------------------------------------------------


async def test_block_actions_gets_200_when_actions_is_empty(slack, caplog):
    click = slack.block_actions(blocks.SHOW_CARD, value="1")
    click["actions"] = []

    with caplog.at_level(logging.INFO):
        result = await slack.interactive(click)

    assert result.status == 200
    assert not errors_in(caplog) and not tracebacks_in(caplog)
    assert "Dropped a malformed block_actions request" in caplog.text


async def test_event_gets_200_when_event_is_not_an_object(slack, caplog):
    envelope = {
        "type": "event_callback",
        "team_id": slack.team_id,
        "api_app_id": slack.fake.state.app_id,
        "event": "x",
        "event_id": "Ev0ODD0001",
        "event_time": 1,
    }

    with caplog.at_level(logging.INFO):
        result = await slack.post(json.dumps(envelope), content_type="application/json")

    assert result.status == 200
    assert not errors_in(caplog) and not tracebacks_in(caplog)


async def test_global_shortcut_is_dropped_quietly_when_trigger_id_is_missing(
    slack, caplog
):
    shortcut = payloads.global_shortcut(slack)
    del shortcut["trigger_id"]

    with caplog.at_level(logging.INFO):
        result = await slack.interactive(shortcut)

    assert result.status == 200
    assert "Dropped a malformed shortcut request: no trigger_id" in caplog.text
    assert not slack.fake.calls_to("views.open")
    assert not errors_in(caplog) and not tracebacks_in(caplog)


@pytest.mark.parametrize("command", ["/whoknows", "/log", "/client", "/rapport"])
@pytest.mark.parametrize("missing", ["response_url", "trigger_id"])
async def test_command_gets_an_ephemeral_line_when_a_required_field_is_missing(
    slack, caplog, command, missing
):
    with caplog.at_level(logging.INFO):
        result = await slash_without(slack, command, missing)

    assert result.status == 200
    assert result.json() == {"response_type": "ephemeral", "text": INCOMPLETE_COMMAND}
    assert not errors_in(caplog) and not tracebacks_in(caplog)


# The log form ------------------------------------------------------------------------


async def _open_blank_form(slack: SlackHarness) -> dict:
    await slack.interactive(payloads.global_shortcut(slack))
    [update] = await slack.wait_for(lambda: slack.fake.calls_to("views.update"))
    return slack.fake.state.views[update.params["view_id"]]


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({"org": "x", "kind": 5, "note": ["a"]}, id="blocks-not-objects"),
        pytest.param(
            {
                "org": {"crm_org": {"selected_option": "org:1"}},
                "kind": {"kind": {"selected_option": "call"}},
                "date": {"date": {"selected_date": {"y": 2025}}},
                "contacts": {"crm_contacts": {"selected_options": "p:1"}},
            },
            id="options-not-objects",
        ),
        pytest.param("values", id="values-not-an-object"),
    ],
)
async def test_form_shows_its_errors_when_submitted_values_are_oddly_shaped(
    slack, caplog, values
):
    form = await _open_blank_form(slack)

    with caplog.at_level(logging.INFO):
        submitted = payloads.view_submission(slack, form, {})
        submitted["view"]["state"]["values"] = values
        result = await slack.interactive(submitted)

    assert result.status == 200
    answer = result.json()
    assert answer["response_action"] == "errors"
    assert answer["errors"][blocks.ORG_BLOCK] == blocks.ERRORS["org_missing"]
    assert answer["errors"][blocks.KIND_BLOCK] == blocks.ERRORS["kind_missing"]
    assert not errors_in(caplog) and not tracebacks_in(caplog)


def test_form_reads_as_empty_when_state_is_not_an_object():
    values = crm.FormValues(
        org=None,
        kind=None,
        occurred_on=None,
        note="",
        followup_on=None,
        visibility="team",
    )

    assert parse_form("state") == values
    assert parse_form({"values": {"org": {"crm_org": []}}}) == values


# Button values that cannot be ids ---------------------------------------------------


def test_row_id_is_read_when_value_is_ascii_digits_within_64_bits():
    assert crm.parse_row_id("42") == 42
    assert crm.parse_row_id("9223372036854775807") == 2**63 - 1


@pytest.mark.parametrize("value", [*GARBLED_IDS, "", " 7", "7\n", "1.0", "٣", None, 7])
def test_row_id_is_none_when_value_cannot_be_a_sqlite_id(value):
    assert crm.parse_row_id(value) is None


@pytest.mark.parametrize("value", GARBLED_IDS)
@pytest.mark.parametrize("action_id", [blocks.SHOW_CARD, blocks.SHOW_ALL_LOGS])
async def test_card_buttons_say_the_org_is_gone_when_their_id_is_garbled(
    slack, caplog, action_id, value
):
    with caplog.at_level(logging.INFO):
        result = await slack.interactive(slack.block_actions(action_id, value=value))
        [post] = await slack.wait_for_posts(result)

    assert post.body["text"] == blocks.ERRORS["org_gone"]
    assert not errors_in(caplog) and not tracebacks_in(caplog)


@pytest.mark.parametrize("value", GARBLED_IDS)
async def test_full_note_button_opens_not_found_when_its_id_is_garbled(
    slack, caplog, value
):
    with caplog.at_level(logging.INFO):
        await slack.interactive(slack.block_actions(blocks.SHOW_NOTE, value=value))
        [opened] = await slack.wait_for(lambda: slack.fake.calls_to("views.open"))

    assert blocks.NOTE_GONE in json.dumps(opened.params["view"])
    assert not errors_in(caplog) and not tracebacks_in(caplog)


@pytest.mark.parametrize("value", GARBLED_IDS)
async def test_reminder_done_says_not_allowed_when_its_id_is_garbled(
    slack, caplog, value
):
    click = slack.block_actions(reminder_blocks.DONE_ACTION, value=value)

    with caplog.at_level(logging.INFO):
        result = await slack.interactive(click)
        [post] = await slack.wait_for_posts(result)

    assert post.body["text"] == reminder_blocks.not_allowed_message()["text"]
    assert not errors_in(caplog) and not tracebacks_in(caplog)


@pytest.mark.parametrize("value", GARBLED_IDS)
async def test_home_done_button_refreshes_the_home_tab_when_its_id_is_garbled(
    slack, caplog, value
):
    await seed_acme(slack.db)
    click = slack.block_actions(home_blocks.FOLLOWUP_DONE, value=value)

    with caplog.at_level(logging.INFO):
        await slack.interactive(click)
        await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))

    assert not errors_in(caplog) and not tracebacks_in(caplog)


@pytest.mark.parametrize("value", GARBLED_IDS)
async def test_log_button_opens_a_form_without_org_when_its_id_is_garbled(
    slack, caplog, value
):
    await seed_acme(slack.db)
    click = slack.block_actions(blocks.LOG_FOR_ORG, value=value)

    with caplog.at_level(logging.INFO):
        await slack.interactive(click)
        [update] = await slack.wait_for(lambda: slack.fake.calls_to("views.update"))

    form = slack.fake.state.views[update.params["view_id"]]
    assert form["callback_id"] == blocks.FORM_CALLBACK
    assert not errors_in(caplog) and not tracebacks_in(caplog)


# The Home tab -------------------------------------------------------------------------


async def test_home_refusal_is_one_warning_without_traceback_when_user_is_unknown(
    slack, caplog
):
    with caplog.at_level(logging.INFO):
        await slack.event({"type": "app_home_opened", "user": "U0NOBODY01"})
        await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))
        await slack.wait_for(lambda: "refused the Home tab" in caplog.text)

    [warning] = [r for r in caplog.records if "refused the Home tab" in r.message]
    assert warning.levelno == logging.WARNING and warning.exc_info is None
    assert "invalid_arguments" in warning.getMessage()
    assert not errors_in(caplog) and not tracebacks_in(caplog)


async def test_home_is_published_for_a_known_user_when_the_guard_is_in_place(slack):
    await seed_acme(slack.db)

    await slack.event({"type": "app_home_opened", "user": ADA_SLACK_ID})
    [call] = await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))

    assert call.status == 200
