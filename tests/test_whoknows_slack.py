"""`/whoknows` end to end: real Bolt app over HTTP, signed requests, fake Slack."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from pathlib import Path

import aiohttp

from bot.capture.email_import import EmailImporter
from bot.capture.mbox import iter_mbox
from handlers.blocks import whoknows as blocks
from handlers.errors import APOLOGY
from tests.slack_harness import (
    INTERNAL_DOMAIN,
    SlackHarness,
    running_slack_app,
)

BOB_SLACK_ID = "U0BOB00001"
# (from, to, date): Bob and Jane write both ways; Carol wrote to Jane once.
ACME_MAIL = [
    ("Bob Baker <bob@firm.example>", "Jane Roe <jane@acme.example>", "3 Feb 2025"),
    ("Jane Roe <jane@acme.example>", "Bob Baker <bob@firm.example>", "4 Feb 2025"),
    ("Bob Baker <bob@firm.example>", "Jane Roe <jane@acme.example>", "24 Feb 2025"),
    ("Jane Roe <jane@acme.example>", "Bob Baker <bob@firm.example>", "25 Feb 2025"),
    ("Carol Cole <carol@firm.example>", "Jane Roe <jane@acme.example>", "5 Feb 2025"),
]
# A second "Acme" on another domain makes the bare name ambiguous.
OTHER_ACME_MAIL = [
    ("Carol Cole <carol@firm.example>", "Max Moe <max@acme.co.uk>", "6 Feb 2025"),
]


def write_mbox(path: Path, messages: list[tuple[str, str, str]]) -> Path:
    chunks = []
    for n, (sender, recipient, day) in enumerate(messages):
        address = sender.split("<")[1].rstrip(">")
        chunks.append(
            f"From {address} Mon Feb  3 10:00:00 2025\n"
            f"From: {sender}\nTo: {recipient}\n"
            f"Date: {day} 10:00:00 +0000\nMessage-ID: <seed-{n}@test.invalid>\n\n"
            "(no body)\n\n"
        )
    path.write_text("".join(chunks))
    return path


async def seed(slack: SlackHarness, tmp_path: Path, messages=ACME_MAIL) -> None:
    importer = EmailImporter(
        slack.db, source="mbox", internal_domains=(INTERNAL_DOMAIN,)
    )
    summary = await importer.add_all(
        iter_mbox(write_mbox(tmp_path / "seed.mbox", messages))
    )
    assert summary.imported == len(messages)
    await slack.db.execute(
        "UPDATE people SET slack_user_id = ? WHERE id ="
        " (SELECT person_id FROM email_addresses WHERE address_key = ?)",
        (BOB_SLACK_ID, "bob@firm.example"),
    )
    await slack.refresh_graph()


def mrkdwn_texts(node) -> list[str]:
    """Every string Slack parses for mentions: mrkdwn objects and message text."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == "mrkdwn" else []
    if "response_type" in node and isinstance(node.get("text"), str):
        found.append(node["text"])
    return found + [t for value in node.values() for t in mrkdwn_texts(value)]


def section_texts(body: dict) -> list[str]:
    return [b["text"]["text"] for b in body.get("blocks", []) if b["type"] == "section"]


async def test_answer_arrives_once_at_response_url_when_whoknows_is_signed(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path)

        result = await slack.slash("/whoknows", "acme")
        posts = await slack.wait_for_posts(result)
        await asyncio.sleep(0.2)

    assert result.status == 200
    assert result.elapsed < 1.0
    assert result.text == ""
    assert len(slack.posts_for(result)) == 1
    body = posts[0].body
    assert body["response_type"] == "ephemeral"
    assert body["replace_original"] is False
    assert body["blocks"][0]["text"]["text"] == "Who knows Acme"
    first, second = section_texts(body)[:2]
    assert first.startswith(f"*1. <@{BOB_SLACK_ID}>*")
    assert "4 emails both ways" in first
    assert "Strongest contacts: Jane Roe" in first
    assert second.startswith("*2. Carol Cole*")
    assert "Bob Baker" in body["text"]


async def test_viewer_known_by_slack_id_still_gets_the_same_ranking(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path)

        result = await slack.slash("/whoknows", "acme.example", user_id=BOB_SLACK_ID)
        posts = await slack.wait_for_posts(result)

    assert section_texts(posts[0].body)[0].startswith(f"*1. <@{BOB_SLACK_ID}>*")


async def test_request_is_rejected_with_401_when_signature_is_bad(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        result = await slack.slash("/whoknows", "acme", secret="not-the-secret")
        await asyncio.sleep(0.2)

    assert result.status == 401
    assert slack.posts_for(result) == []


async def test_request_is_rejected_with_401_when_timestamp_is_stale(tmp_path):
    six_minutes_ago = int(time.time()) - 6 * 60
    async with running_slack_app(tmp_path) as slack:
        # Correctly signed, but for a moment outside Slack's five-minute window.
        result = await slack.slash("/whoknows", "acme", timestamp=six_minutes_ago)
        await asyncio.sleep(0.2)

    assert result.status == 401
    assert slack.posts_for(result) == []


async def test_second_user_is_acknowledged_within_a_second_when_first_query_is_slow(
    tmp_path,
):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path)
        calls = 0
        lock = threading.Lock()

        def slow_first(answer) -> None:
            nonlocal calls
            with lock:
                calls += 1
                first = calls == 1
            if first:
                time.sleep(4)  # in the worker thread, as heavy graph work would be

        slack.services.answer_hook = slow_first

        slow = await slack.slash("/whoknows", "acme", user_id="U0ADA00001")
        fast = await slack.slash("/whoknows", "jane roe", user_id="U0OTHER001")
        fast_posts = await slack.wait_for_posts(fast, timeout=2.0)
        assert slack.posts_for(slow) == []
        slow_posts = await slack.wait_for_posts(slow, timeout=6.0)
        await asyncio.sleep(0.3)

    assert slow.status == fast.status == 200
    assert slow.elapsed < 1.0
    assert fast.elapsed < 1.0
    assert len(slack.posts_for(slow)) == len(slack.posts_for(fast)) == 1
    assert fast_posts[0].body["blocks"][0]["text"]["text"] == "Who knows Jane Roe"
    assert slow_posts[0].body["blocks"][0]["text"]["text"] == "Who knows Acme"


async def test_query_is_echoed_escaped_when_it_holds_a_channel_mention(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path)

        result = await slack.slash("/whoknows", "<!channel> & <@U0ADA00001>")
        posts = await slack.wait_for_posts(result)

    texts = "\n".join(mrkdwn_texts(posts[0].body))
    assert "&lt;!channel&gt; &amp; &lt;@U0ADA00001&gt;" in texts
    assert "<!channel>" not in texts
    assert "<@U0ADA00001>" not in texts


async def test_usage_help_is_the_acknowledgement_when_query_is_empty(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        result = await slack.slash("/whoknows", "   ")
        await asyncio.sleep(0.2)

    assert result.status == 200
    body = result.json()
    assert body["response_type"] == "ephemeral"
    assert "/whoknows Acme" in json.dumps(body)
    assert slack.posts_for(result) == []


async def test_choice_button_answers_for_that_organisation_when_query_is_ambiguous(
    tmp_path,
):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path, ACME_MAIL + OTHER_ACME_MAIL)

        asked = await slack.slash("/whoknows", "acme")
        choices = (await slack.wait_for_posts(asked))[0].body
        buttons = [b["accessory"] for b in choices["blocks"] if "accessory" in b]
        chosen = next(
            b
            for b, text in zip(buttons, section_texts(choices)[1:], strict=True)
            if "acme.example" in text
        )
        clicked = await slack.interactive(
            slack.block_actions(chosen["action_id"], value=chosen["value"])
        )
        answer = (await slack.wait_for_posts(clicked))[0].body

    assert len(buttons) == 2
    assert clicked.status == 200
    assert clicked.elapsed < 1.0
    assert answer["replace_original"] is True
    assert answer["blocks"][0]["text"]["text"] == "Who knows Acme"
    assert "acme.example" in answer["blocks"][1]["elements"][0]["text"]
    assert section_texts(answer)[0].startswith(f"*1. <@{BOB_SLACK_ID}>*")


async def test_closest_name_button_answers_for_that_name_when_clicked(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path)

        clicked = await slack.interactive(
            slack.block_actions(f"{blocks.SUGGESTION_ACTION}_0", value="Jane Roe")
        )
        answer = (await slack.wait_for_posts(clicked))[0].body

    assert answer["blocks"][0]["text"]["text"] == "Who knows Jane Roe"


async def test_user_gets_an_apology_without_exception_text_when_answering_fails(
    tmp_path, caplog
):
    def broken(answer) -> None:
        raise RuntimeError("disk on fire at /secret/path")

    async with running_slack_app(tmp_path) as slack:
        slack.services.answer_hook = broken

        with caplog.at_level(logging.ERROR):
            result = await slack.slash("/whoknows", "acme")
            posts = await slack.wait_for_posts(result)
            await asyncio.sleep(0.2)

    assert result.status == 200
    assert len(slack.posts_for(result)) == 1
    assert posts[0].body["text"] == APOLOGY
    assert "fire" not in json.dumps(posts[0].body)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert errors[0].exc_info is not None
    assert "acme" not in errors[0].getMessage()


async def test_plain_text_answer_is_sent_when_response_url_refuses_blocks(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await seed(slack, tmp_path)
        slack.fake.fail_next("response_url", status=400, error="invalid_blocks")

        result = await slack.slash("/whoknows", "acme")
        posts = await slack.wait_for_posts(result, count=2)

    assert posts[0].status == 400
    assert "blocks" not in posts[1].body
    assert "Bob Baker" in posts[1].body["text"]
    assert posts[1].status == 200


async def test_health_check_answers_ok_when_http_front_runs(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        health = slack.url.replace("/slack/events", "/healthz")
        async with aiohttp.ClientSession() as session, session.get(health) as response:
            status, body = response.status, await response.json()

    assert (status, body) == (200, {"ok": True})
