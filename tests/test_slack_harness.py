"""The shared harness itself: every payload it builds reaches a Bolt listener."""

from __future__ import annotations

from tests.slack_harness import FakeClock, running_slack_app, slack_signature


def test_signature_matches_slacks_documented_example():
    # The worked example from Slack's "Verifying requests from Slack" guide.
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow"
        "&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA"
        "&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554"
        "%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )

    signature = slack_signature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body)

    assert signature == (
        "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


async def test_interactive_payloads_reach_their_listeners(tmp_path):
    seen: list[str] = []
    async with running_slack_app(tmp_path) as slack:

        @slack.app.view("harness_view")
        async def on_view(ack, view) -> None:
            await ack()
            seen.append("view:" + view["state"]["values"]["b"]["a"]["value"])

        @slack.app.shortcut("harness_global")
        async def on_global(ack) -> None:
            await ack()
            seen.append("global")

        @slack.app.shortcut("harness_message")
        async def on_message(ack, shortcut) -> None:
            await ack()
            seen.append("message:" + shortcut["message"]["ts"])

        @slack.app.action("harness_button")
        async def on_button(ack, action) -> None:
            await ack()
            seen.append("button:" + action["value"])

        values = {"b": {"a": {"type": "plain_text_input", "value": "hi"}}}
        results = [
            await slack.interactive(
                slack.view_submission("harness_view", values=values)
            ),
            await slack.interactive(slack.global_shortcut("harness_global")),
            await slack.interactive(
                slack.message_shortcut(
                    "harness_message", message={"ts": "1.000200", "user": "U0X"}
                )
            ),
            await slack.interactive(slack.block_actions("harness_button", value="v")),
        ]
        await slack.wait_for(lambda: len(seen) == 4, message="four listeners")

    assert [r.status for r in results] == [200, 200, 200, 200]
    assert sorted(seen) == ["button:v", "global", "message:1.000200", "view:hi"]


async def test_event_retries_carry_slack_retry_headers(tmp_path):
    retries: list[str | None] = []
    async with running_slack_app(tmp_path) as slack:

        @slack.app.event("emoji_changed")
        async def on_emoji(ack, request) -> None:
            retries.append(request.headers.get("x-slack-retry-num", [None])[0])

        first = await slack.event(
            {"type": "emoji_changed", "subtype": "add", "name": "rapport"}
        )
        again = await slack.event(
            {"type": "emoji_changed", "subtype": "add", "name": "rapport"}, retry_num=1
        )
        await slack.wait_for(lambda: len(retries) == 2, message="both deliveries")

    assert (first.status, again.status) == (200, 200)
    assert retries == [None, "1"]


async def test_clock_is_the_services_clock_and_moves_when_told(tmp_path):
    clock = FakeClock()
    async with running_slack_app(tmp_path, clock=clock) as slack:
        before = slack.services.clock()
        clock.advance(days=2)

        assert (slack.services.clock() - before).days == 2
