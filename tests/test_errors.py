"""The global error handler: one log line with a traceback, a short apology."""

from __future__ import annotations

import asyncio
import logging

from handlers.errors import APOLOGY, UserFacingError
from tests.slack_harness import running_slack_app


async def test_apology_is_the_acknowledgement_when_a_command_fails_before_ack(
    tmp_path, caplog
):
    async with running_slack_app(tmp_path) as slack:

        @slack.app.command("/boom")
        async def boom(ack) -> None:
            raise RuntimeError("secret detail")

        with caplog.at_level(logging.ERROR):
            result = await slack.slash("/boom", "now")

    assert result.status == 200
    assert result.json() == {"response_type": "ephemeral", "text": APOLOGY}
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].exc_info is not None


async def test_http_answer_is_not_lost_when_a_listener_fails_right_after_ack(tmp_path):
    async with running_slack_app(tmp_path) as slack:

        @slack.app.command("/boom")
        async def boom(ack) -> None:
            await ack()
            raise RuntimeError("secret detail")

        result = await slack.slash("/boom", "now")
        posts = await slack.wait_for_posts(result)

    assert result.status == 200
    assert result.elapsed < 1.0
    assert posts[0].body["text"] == APOLOGY
    assert "secret" not in str(posts[0].body)


async def test_user_sees_the_message_without_a_traceback_when_error_is_expected(
    tmp_path, caplog
):
    async with running_slack_app(tmp_path) as slack:

        @slack.app.command("/boom")
        async def boom(ack) -> None:
            await ack()
            raise UserFacingError("No client called that yet.")

        with caplog.at_level(logging.INFO):
            result = await slack.slash("/boom", "acme")
            posts = await slack.wait_for_posts(result)

    assert posts[0].body["text"] == "No client called that yet."
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_failed_event_is_logged_and_nobody_is_messaged(tmp_path, caplog):
    async with running_slack_app(tmp_path) as slack:
        # An event no Rapport handler listens to, so this listener is the one run.
        @slack.app.event("emoji_changed")
        async def emoji(event) -> None:
            raise RuntimeError("secret detail")

        with caplog.at_level(logging.ERROR):
            result = await slack.event(
                {"type": "emoji_changed", "subtype": "add", "name": "rapport"}
            )
            await slack.wait_for(
                lambda: [r for r in caplog.records if r.levelno >= logging.ERROR],
                message="the error log",
            )
            await asyncio.sleep(0.1)

    assert result.status == 200
    assert slack.fake.calls_to("chat.postMessage") == []
    assert slack.fake.calls_to("chat.postEphemeral") == []
