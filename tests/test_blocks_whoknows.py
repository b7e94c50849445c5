"""The `/whoknows` Block Kit builders: content, escaping and Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.queries import Answer, Colleague, Contact, Match
from handlers.blocks import whoknows as blocks
from handlers.blocks.common import MAX_FALLBACK_TEXT, MAX_MESSAGE_BLOCKS
from tests.fakes.slack_blocks import message_block_problems

ACME = Match("organisation", 7, "Acme", ("acme.example",))


def colleague(n: int, *, slack_user_id: str | None = None, name: str | None = None):
    return Colleague(
        person_id=100 + n,
        name=name or f"Colleague {n}",
        email=f"c{n}@firm.example",
        slack_user_id=slack_user_id,
        score=90.0 - n,
        explanation=f"{n + 1} emails both ways with 1 person, last 3 Mar 2025",
        last_contact=datetime(2025, 3, 3, 10, 0, tzinfo=UTC),
        contacts=(Contact("Jane Roe", "jane@acme.example", 80.4),),
    )


def ranking(count: int) -> Answer:
    return Answer("acme", match=ACME, people=tuple(colleague(n) for n in range(count)))


def all_text(message: dict) -> str:
    return json.dumps(message, ensure_ascii=False)


def mrkdwn_texts(node) -> list[str]:
    """Every string Slack parses for mentions: mrkdwn objects and fallback text."""
    if isinstance(node, list):
        return [t for item in node for t in mrkdwn_texts(item)]
    if not isinstance(node, dict):
        return []
    found = [node["text"]] if node.get("type") == "mrkdwn" else []
    if "response_type" in node:
        found.append(node["text"])
    return found + [t for value in node.values() for t in mrkdwn_texts(value)]


@pytest.mark.parametrize("count", [0, 1, 50], ids=["nobody", "one", "fifty"])
def test_ranking_fits_slack_limits_when_colleagues_number(count):
    message = blocks.answer_message(ranking(count))

    assert message_block_problems(message["blocks"]) == []
    assert len(message["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert 0 < len(message["text"]) <= MAX_FALLBACK_TEXT
    assert message["response_type"] == "ephemeral"


def test_ranking_says_how_many_were_left_out_when_too_many_for_one_message():
    message = blocks.answer_message(ranking(60))

    assert len(message["blocks"]) == MAX_MESSAGE_BLOCKS
    last = message["blocks"][-1]
    assert last["type"] == "context"
    assert "of 60" in last["elements"][0]["text"]


def test_ranking_names_nobody_yet_when_no_colleague_has_been_in_touch():
    message = blocks.answer_message(ranking(0))

    assert "Nobody at the firm has been in touch with Acme" in all_text(message)


def test_colleague_section_shows_rank_score_explanation_date_and_contacts():
    section = blocks.answer_blocks(ranking(1))[2]

    text = section["text"]["text"]
    assert text.startswith("*1. Colleague 0* — *90*/100")
    assert "1 emails both ways" in text
    assert "Last contact: 3 Mar 2025" in text
    assert "Strongest contacts: Jane Roe (80)" in text


def test_colleague_is_mentioned_when_slack_user_id_is_known():
    answer = Answer(
        "acme", match=ACME, people=(colleague(1, slack_user_id="U0BOB00001"),)
    )

    text = blocks.answer_blocks(answer)[2]["text"]["text"]

    assert "<@U0BOB00001>" in text


def test_names_are_escaped_when_they_hold_slack_markup():
    answer = Answer(
        "acme",
        match=Match("organisation", 7, "<!channel> & Co", ("acme.example",)),
        people=(colleague(1, name="<@U999> <!here>"),),
    )

    message = blocks.answer_message(answer)

    # Plain-text fields (the header) are never parsed for mentions by Slack.
    dumped = "\n".join(mrkdwn_texts(message))
    assert "<!channel>" not in dumped
    assert "<!here>" not in dumped
    assert "<@U999>" not in dumped
    assert "&lt;@U999&gt; &lt;!here&gt;" in dumped
    assert "&lt;!channel&gt; &amp; Co" in message["text"]


def test_choices_become_buttons_carrying_kind_and_id_when_query_is_ambiguous():
    answer = Answer(
        "acme",
        choices=(
            Match("organisation", 1, "Acme", ("acme.example",)),
            Match("organisation", 2, "Acme", ("acme.test",)),
        ),
    )

    result = blocks.answer_blocks(answer)

    buttons = [b["accessory"] for b in result if "accessory" in b]
    assert [b["value"] for b in buttons] == ["organisation:1", "organisation:2"]
    assert {b["action_id"] for b in buttons} == {blocks.CHOICE_ACTION}
    assert "acme.test" in result[2]["text"]["text"]
    assert message_block_problems(result) == []


def test_choice_value_round_trips_and_rejects_anything_else():
    match = Match("person", 42, "Jane Roe")

    assert blocks.parse_choice_value(blocks.choice_value(match)) == ("person", 42)
    assert blocks.parse_choice_value("robot:1") is None
    assert blocks.parse_choice_value("person:x") is None


def test_closest_names_are_offered_as_buttons_when_nothing_matches():
    answer = Answer("acmee", suggestions=("Acme", "Acne Studios"))

    result = blocks.answer_blocks(answer)

    assert "Nothing matches “acmee”" in result[0]["text"]["text"]
    buttons = result[-1]["elements"]
    assert [b["value"] for b in buttons] == ["Acme", "Acne Studios"]
    assert len({b["action_id"] for b in buttons}) == 2
    assert message_block_problems(result) == []


def test_usage_help_is_given_when_query_is_empty():
    message = blocks.answer_message(Answer(""))

    assert "/whoknows Acme" in all_text(message)
    assert message_block_problems(message["blocks"]) == []


def test_long_names_are_cut_to_fit_when_they_exceed_slack_limits():
    huge = "A" * 5000
    answer = Answer(
        huge,
        match=Match("organisation", 7, huge, ("acme.example",)),
        people=(colleague(1, name=huge),),
    )

    message = blocks.answer_message(answer)

    assert message_block_problems(message["blocks"]) == []
    assert len(message["text"]) <= MAX_FALLBACK_TEXT
