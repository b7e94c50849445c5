"""The fake Slack Web API answers slack_sdk's real clients the way Slack does."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.fakes.slack_api import DEFAULT_BOT_TOKEN, FakeSlackApi
from tests.fakes.slack_blocks import message_block_problems

SAMPLES = (
    Path(__file__).resolve().parents[1].parent
    / "shared"
    / "data"
    / "slack-payloads"
    / "java-slack-sdk-samples"
    / "api"
)


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlackApi]:
    async with FakeSlackApi() as server:
        state = server.state
        state.add_user("U0ADA", name="ada", email="ada@example.com")
        state.add_user("U0BOB", name="bob", email="bob@example.com")
        state.add_channel("C0GENERAL", name="general", members=["U0ADA", "U0BOB"])
        state.add_channel("C0OUTSIDE", name="outside", is_member=False)
        state.add_channel("G0SECRET", name="secret", is_private=True, is_member=False)
        state.add_channel(
            "C0SHARED", name="with-acme", is_ext_shared=True, members=["U0ADA"]
        )
        yield server


@pytest.fixture
def client(fake: FakeSlackApi) -> AsyncWebClient:
    return AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake.base_url)


def _section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _modal(*, title: str = "Company", blocks: list | None = None, **extra) -> dict:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "blocks": blocks if blocks is not None else [_section("hi")],
        **extra,
    }


async def _refusal(call) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    return caught.value


# Authentication -------------------------------------------------------------------


async def test_auth_test_names_bot_and_team_when_token_is_known(client, fake):
    answer = await client.auth_test()

    assert answer["user_id"] == "U0BOT00001"
    assert answer["bot_id"] == fake.state.bot_id
    assert answer["team_id"] == fake.state.team["id"]


@pytest.mark.parametrize(
    ("token", "error"),
    [
        pytest.param(None, "not_authed", id="missing"),
        pytest.param("xoxb-nobody", "invalid_auth", id="unknown"),
        pytest.param("xoxb-revoked", "token_revoked", id="revoked"),
    ],
)
async def test_refuses_with_http_200_when_token_is_bad(fake, token, error):
    fake.state.revoked_tokens.add("xoxb-revoked")
    fake.state.tokens["xoxb-revoked"] = "U0BOT00001"
    client = AsyncWebClient(token=token, base_url=fake.base_url)

    refused = await _refusal(client.users_list())

    assert refused.response.status_code == 200
    assert refused.response["error"] == error


async def test_records_which_token_was_used_but_not_in_headers(client, fake):
    await client.team_info()

    call = fake.calls_to("team.info")[0]
    assert call.token == DEFAULT_BOT_TOKEN
    assert all(DEFAULT_BOT_TOKEN not in value for value in call.headers.values())


async def test_accepts_token_and_params_when_posted_as_a_form(fake):
    form = {"token": DEFAULT_BOT_TOKEN, "channel": "C0GENERAL", "text": "form"}
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{fake.base_url}chat.postMessage", data=form) as res:
            body = await res.json()

    assert body["ok"] is True
    assert fake.calls_to("chat.postMessage")[0].params["text"] == "form"


async def test_ignores_token_inside_a_json_body_as_slack_does(fake):
    payload = {"token": DEFAULT_BOT_TOKEN, "channel": "C0GENERAL", "text": "x"}
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{fake.base_url}chat.postMessage", json=payload
        ) as res:
            body = await res.json()

    assert body == {"ok": False, "error": "not_authed"}


# Users --------------------------------------------------------------------------


async def test_users_list_pages_1001_members_in_two_calls_when_limit_is_1000(fake):
    for n in range(999):
        fake.state.add_user(f"U1{n:05d}", name=f"member{n}")
    client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake.base_url)

    members = []
    async for page in await client.users_list(limit=1000):
        members += page["members"]

    calls = fake.calls_to("users.list")
    assert len(members) == 1001
    assert len(calls) == 2
    assert "cursor" not in calls[0].params and calls[1].params["cursor"]
    assert calls[1].response["response_metadata"]["next_cursor"] == ""


async def test_users_info_refuses_when_user_is_unknown(client):
    refused = await _refusal(client.users_info(user="U0NOBODY"))

    assert refused.response["error"] == "user_not_found"


async def test_lookup_by_email_finds_user_regardless_of_case(client):
    found = await client.users_lookupByEmail(email="ADA@example.com")
    refused = await _refusal(client.users_lookupByEmail(email="zed@example.com"))

    assert found["user"]["id"] == "U0ADA"
    assert refused.response["error"] == "users_not_found"


# Conversations --------------------------------------------------------------------


async def test_conversations_list_hides_private_channels_the_bot_is_not_in(client):
    answer = await client.conversations_list(types="public_channel,private_channel")

    ids = {channel["id"] for channel in answer["channels"]}
    assert ids == {"C0GENERAL", "C0OUTSIDE", "C0SHARED"}
    shared = next(c for c in answer["channels"] if c["id"] == "C0SHARED")
    assert shared["is_ext_shared"] is True and shared["num_members"] == 1


async def test_conversations_list_pages_with_cursor_when_limit_is_small(client, fake):
    # slack_sdk reuses one response object across pages, so read each in turn.
    sizes = [
        len(page["channels"]) async for page in await client.conversations_list(limit=2)
    ]

    assert sizes == [2, 1]
    assert len(fake.calls_to("conversations.list")) == 2


async def test_history_is_newest_first_and_pages_with_has_more(client, fake):
    for second in range(1, 6):
        fake.state.add_message("C0GENERAL", text="m", ts=f"100{second}.000100")

    first = await client.conversations_history(channel="C0GENERAL", limit=3)
    cursor = first["response_metadata"]["next_cursor"]
    second = await client.conversations_history(
        channel="C0GENERAL", limit=3, cursor=cursor
    )

    assert [m["ts"] for m in first["messages"]] == [
        "1005.000100",
        "1004.000100",
        "1003.000100",
    ]
    assert first["has_more"] is True
    assert [m["ts"] for m in second["messages"]] == ["1002.000100", "1001.000100"]
    assert second["has_more"] is False


@pytest.mark.parametrize(
    ("inclusive", "expected"),
    [
        pytest.param(False, ["1003.000000"], id="exclusive"),
        pytest.param(
            True, ["1004.000000", "1003.000000", "1002.000000"], id="inclusive"
        ),
    ],
)
async def test_history_honours_oldest_and_latest_bounds(
    client, fake, inclusive, expected
):
    for second in range(1, 6):
        fake.state.add_message("C0GENERAL", text="m", ts=f"100{second}.000000")

    answer = await client.conversations_history(
        channel="C0GENERAL", oldest="1002", latest="1004", inclusive=inclusive
    )

    assert [m["ts"] for m in answer["messages"]] == expected


async def test_history_leaves_thread_replies_to_conversations_replies(client, fake):
    parent = fake.state.add_message("C0GENERAL", text="q", user="U0ADA", ts="1.000001")
    fake.state.add_message(
        "C0GENERAL", text="a", user="U0BOB", ts="2.000001", thread_ts=parent["ts"]
    )

    history = await client.conversations_history(channel="C0GENERAL")
    replies = await client.conversations_replies(channel="C0GENERAL", ts="1.000001")

    assert [m["ts"] for m in history["messages"]] == ["1.000001"]
    assert history["messages"][0]["reply_count"] == 1
    assert [m["ts"] for m in replies["messages"]] == ["1.000001", "2.000001"]
    assert replies["messages"][1]["parent_user_id"] == "U0ADA"


@pytest.mark.parametrize(
    ("channel", "error"),
    [
        pytest.param("C0OUTSIDE", "not_in_channel", id="public-not-member"),
        pytest.param("G0SECRET", "channel_not_found", id="private-not-member"),
        pytest.param("C0NOWHERE", "channel_not_found", id="unknown"),
    ],
)
async def test_history_refuses_when_bot_cannot_read_channel(client, channel, error):
    refused = await _refusal(client.conversations_history(channel=channel))

    assert refused.response["error"] == error


async def test_conversations_members_lists_member_ids(client):
    answer = await client.conversations_members(channel="C0GENERAL")

    assert answer["members"] == ["U0ADA", "U0BOB"]


async def test_conversations_open_gives_the_same_dm_when_called_twice(client):
    first = await client.conversations_open(users="U0ADA")
    again = await client.conversations_open(users="U0ADA")

    assert first["channel"]["id"].startswith("D")
    assert again["channel"]["id"] == first["channel"]["id"]
    assert again["already_open"] is True


# Chat ---------------------------------------------------------------------------


async def test_post_message_stores_a_bot_message_in_history(client, fake):
    posted = await client.chat_postMessage(channel="C0GENERAL", text="hello")
    history = await client.conversations_history(channel="C0GENERAL")

    assert posted["message"]["bot_id"] == fake.state.bot_id
    assert history["messages"][0]["ts"] == posted["ts"]


async def test_post_message_to_a_user_id_lands_in_their_dm(client):
    posted = await client.chat_postMessage(channel="U0BOB", text="psst")

    assert posted["channel"].startswith("D")


async def test_update_changes_text_and_permalink_points_at_message(client, fake):
    posted = await client.chat_postMessage(channel="C0GENERAL", text="draft")

    await client.chat_update(channel="C0GENERAL", ts=posted["ts"], text="final")
    link = await client.chat_getPermalink(channel="C0GENERAL", message_ts=posted["ts"])

    assert fake.state.find_message("C0GENERAL", posted["ts"])["text"] == "final"
    assert link["permalink"].endswith("/C0GENERAL/p" + posted["ts"].replace(".", ""))


async def test_update_refuses_when_message_is_someone_elses(client, fake):
    fake.state.add_message("C0GENERAL", text="mine", user="U0ADA", ts="5.000000")

    refused = await _refusal(
        client.chat_update(channel="C0GENERAL", ts="5.000000", text="x")
    )

    assert refused.response["error"] == "cant_update_message"


async def test_post_ephemeral_refuses_when_user_is_not_in_channel(client):
    refused = await _refusal(
        client.chat_postEphemeral(channel="C0SHARED", user="U0BOB", text="hi")
    )

    assert refused.response["error"] == "user_not_in_channel"


async def test_post_message_refuses_more_than_50_blocks(client, fake):
    blocks = [_section(f"row {n}") for n in range(51)]

    refused = await _refusal(
        client.chat_postMessage(channel="C0GENERAL", text="t", blocks=blocks)
    )

    assert refused.response["error"] == "invalid_blocks"
    assert refused.response["response_metadata"]["messages"] == [
        "[ERROR] no more than 50 items allowed [json-pointer:/blocks]"
    ]
    assert "C0GENERAL" not in fake.state.messages


@pytest.mark.parametrize(
    ("block", "pointer"),
    [
        pytest.param(_section("x" * 3001), "/blocks/0/text/text", id="section"),
        pytest.param(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": "x" * 3001}]},
            "/blocks/0/elements/0/text",
            id="context",
        ),
        pytest.param(
            {"type": "header", "text": {"type": "plain_text", "text": "x" * 151}},
            "/blocks/0/text/text",
            id="header",
        ),
        pytest.param(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": "x" * 76},
                        "action_id": "a",
                    }
                ],
            },
            "/blocks/0/elements/0/text/text",
            id="button",
        ),
        pytest.param(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "static_select",
                        "action_id": "pick",
                        "options": [
                            {
                                "text": {"type": "plain_text", "text": "x" * 76},
                                "value": "v",
                            }
                        ],
                    }
                ],
            },
            "/blocks/0/elements/0/options/0/text/text",
            id="option",
        ),
    ],
)
async def test_post_message_refuses_text_over_slack_limits(client, block, pointer):
    refused = await _refusal(
        client.chat_postMessage(channel="C0GENERAL", text="t", blocks=[block])
    )

    assert refused.response["error"] == "invalid_blocks"
    assert pointer in refused.response["errors"][0]


async def test_post_message_refuses_text_over_40000_characters(client):
    refused = await _refusal(
        client.chat_postMessage(channel="C0GENERAL", text="x" * 40_001)
    )

    assert refused.response["error"] == "msg_too_long"


def test_block_checks_accept_text_exactly_at_the_limit():
    assert message_block_problems([_section("x" * 3000)] * 50) == []


# Views ----------------------------------------------------------------------------


async def test_views_open_refuses_a_trigger_id_used_twice(client):
    await client.views_open(trigger_id="111.222.abc", view=_modal())

    refused = await _refusal(client.views_open(trigger_id="111.222.abc", view=_modal()))

    # Slack documents reuse as exchanged_trigger_id; expired_trigger_id is age.
    assert refused.response["error"] == "exchanged_trigger_id"


async def test_views_open_refuses_a_trigger_older_than_three_seconds(client, fake):
    stale = fake.state.issue_trigger_id(age=4)

    refused = await _refusal(client.views_open(trigger_id=stale, view=_modal()))

    assert refused.response["error"] == "expired_trigger_id"


@pytest.mark.parametrize(
    ("view", "pointer"),
    [
        pytest.param(_modal(title="x" * 25), "/view/title/text", id="title"),
        pytest.param(
            _modal(private_metadata="x" * 3001), "/view/private_metadata", id="metadata"
        ),
        pytest.param(
            _modal(blocks=[_section("b")] * 101), "/view/blocks]", id="101-blocks"
        ),
    ],
)
async def test_views_open_refuses_views_over_slack_limits(client, fake, view, pointer):
    trigger = fake.state.issue_trigger_id()

    refused = await _refusal(client.views_open(trigger_id=trigger, view=view))

    assert refused.response["error"] == "invalid_arguments"
    assert pointer in refused.response["response_metadata"]["messages"][0]


async def test_views_update_refuses_when_hash_is_stale(client):
    opened = await client.views_open(trigger_id="1.2.3", view=_modal())
    view_id, first_hash = opened["view"]["id"], opened["view"]["hash"]
    await client.views_update(
        view_id=view_id, hash=first_hash, view=_modal(title="Two")
    )

    refused = await _refusal(
        client.views_update(view_id=view_id, hash=first_hash, view=_modal())
    )

    assert refused.response["error"] == "hash_conflict"


async def test_views_publish_keeps_one_home_view_per_user(client, fake):
    home = {"type": "home", "blocks": [_section("welcome")]}

    first = await client.views_publish(user_id="U0ADA", view=home)
    second = await client.views_publish(user_id="U0ADA", view=home)

    assert first["view"]["id"] == second["view"]["id"]
    assert fake.state.home_views == {"U0ADA": first["view"]["id"]}


# Fault injection -------------------------------------------------------------------


async def test_client_sees_429_with_retry_after_when_rate_limit_is_programmed(
    client, fake
):
    fake.fail_next("conversations.history", status=429, retry_after=2)

    refused = await _refusal(client.conversations_history(channel="C0GENERAL"))
    recovered = await client.conversations_history(channel="C0GENERAL")

    assert refused.response.status_code == 429
    assert refused.response.headers["Retry-After"] == "2"
    assert refused.response["error"] == "ratelimited"
    assert recovered["ok"] is True


async def test_fault_hits_only_calls_whose_params_match(client, fake):
    for n in range(3):
        fake.state.add_user(f"U2{n:04d}", name=f"extra{n}")
    fake.fail_next(
        "users.list", status=429, retry_after=1, match=lambda p: bool(p.get("cursor"))
    )

    first = await client.users_list(limit=2)
    refused = await _refusal(
        client.users_list(limit=2, cursor=first["response_metadata"]["next_cursor"])
    )

    assert refused.response.status_code == 429
    assert [c.status for c in fake.calls_to("users.list")] == [200, 429]


async def test_server_error_happens_once_then_calls_succeed(client, fake):
    fake.fail_next("auth.test", status=500)

    refused = await _refusal(client.auth_test())
    recovered = await client.auth_test()

    assert refused.response.status_code == 500
    assert recovered["ok"] is True


@pytest.mark.parametrize(
    "error", ["channel_not_found", "not_in_channel", "account_inactive"]
)
async def test_programmed_error_is_answered_as_ok_false(client, fake, error):
    fake.fail_next("chat.postMessage", error=error)

    refused = await _refusal(client.chat_postMessage(channel="C0GENERAL", text="t"))

    assert refused.response.status_code == 200
    assert refused.response["error"] == error


async def test_delay_slows_only_the_named_method(client, fake):
    fake.delay("users.info", 0.3)

    started = time.monotonic()
    await client.auth_test()
    fast = time.monotonic() - started
    await client.users_info(user="U0ADA")
    slow = time.monotonic() - started - fast

    assert fast < 0.3 <= slow


# response_url -----------------------------------------------------------------------


async def test_response_url_posts_are_recorded(fake):
    webhook = AsyncWebhookClient(fake.response_url("commands/42"))

    answer = await webhook.send(
        text="Found 3 contacts",
        response_type="ephemeral",
        replace_original=False,
        blocks=[_section("Ada")],
    )

    assert answer.status_code == 200
    post = fake.response_posts[0]
    assert post.path == "commands/42"
    assert post.body["response_type"] == "ephemeral"
    assert post.body["replace_original"] is False
    assert post.body["blocks"] == [_section("Ada")]


async def test_response_url_refuses_more_than_50_blocks(fake):
    webhook = AsyncWebhookClient(fake.response_url("actions/7"))

    answer = await webhook.send(text="t", blocks=[_section("r")] * 51)

    assert answer.status_code == 400
    assert json.loads(answer.body)["error"] == "invalid_blocks"


# Shapes against Slack's own field inventories ---------------------------------------


@pytest.mark.parametrize(
    ("method", "kwargs", "sample", "path"),
    [
        pytest.param("auth_test", {}, "auth.test.json", [], id="auth.test"),
        pytest.param("team_info", {}, "team.info.json", ["team"], id="team.info"),
        pytest.param(
            "users_info", {"user": "U0ADA"}, "users.info.json", ["user"], id="user"
        ),
        pytest.param(
            "users_info",
            {"user": "U0ADA"},
            "users.info.json",
            ["user", "profile"],
            id="profile",
        ),
        pytest.param(
            "conversations_list",
            {},
            "conversations.list.json",
            ["channels", 0],
            id="channel",
        ),
        pytest.param(
            "conversations_history",
            {"channel": "C0GENERAL"},
            "conversations.history.json",
            [],
            id="history",
        ),
        pytest.param(
            "chat_postEphemeral",
            {"channel": "C0GENERAL", "user": "U0ADA", "text": "t"},
            "chat.postEphemeral.json",
            [],
            id="ephemeral",
        ),
        pytest.param(
            "views_open",
            {"trigger_id": "9.9.9", "view": _modal()},
            "views.open.json",
            ["view"],
            id="view",
        ),
    ],
)
async def test_answers_use_only_field_names_slack_uses(
    client, method, kwargs, sample, path
):
    if not SAMPLES.is_dir():
        pytest.skip("../shared/data absent: no Slack samples to compare with")
    expected = json.loads((SAMPLES / sample).read_text())
    answer = (await getattr(client, method)(**kwargs)).data

    for step in path:
        expected, answer = expected[step], answer[step]

    assert set(answer) - set(expected) == set()
