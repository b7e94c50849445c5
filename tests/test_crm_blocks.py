"""The CRM's Block Kit builders stay within Slack's limits and escape user text."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.crm import AccountCard, ContactLine, HomeData, StrongContact
from bot.queries import Match
from handlers.blocks import crm as blocks
from handlers.blocks import help as help_blocks
from handlers.blocks.home import home_view
from storage.crm import FollowUp, LoggedInteraction, OrgRow
from storage.drafts import Draft
from tests.crm_checks import (
    TRICKY_NOTE,
    assert_shown_literally,
    section_texts,
    total_text,
)
from tests.fakes.slack_blocks import message_block_problems, view_problems

REPO = Path(__file__).resolve().parents[1]


def _log(n: int, note: str, *, private: bool = False) -> LoggedInteraction:
    return LoggedInteraction(
        id=n,
        interaction_id=n,
        org_id=1,
        org_name="Acme & Sons <Ltd>",
        logger_id=1,
        logger_name="Ada Lovelace",
        logger_slack_id="U0ADA00001",
        kind="meeting",
        occurred_at=datetime(2025, 3, 1, 12, tzinfo=UTC).isoformat(),
        note=note,
        permalink=None,
        visibility="private" if private else "team",
        created_at=datetime(2025, 3, 1, 12, tzinfo=UTC).isoformat(),
        contact_ids=(2, 3),
        contact_names=("Bo <b>", "Cy"),
    )


def _followup(n: int, note: str) -> FollowUp:
    return FollowUp(
        id=n,
        logged_id=n,
        due_on="2025-03-12",
        done_at=None,
        owner_id=1,
        owner_name="Ada",
        owner_slack_id="U0ADA00001",
        org_id=1,
        org_name="Acme",
        kind="call",
        note=note,
        visibility="team",
    )


def _big_card(note: str = "Quarterly review " * 40) -> AccountCard:
    contacts = [
        ContactLine(
            person_id=n,
            name=f"Contact {n:03d} " + "x" * 40,
            email=f"contact{n:03d}@acme.example",
            score=100 - n / 2,
            last=None,
        )
        for n in range(120)
    ]
    logs = [_log(n, "" if n == 2 else note) for n in range(5)]
    return AccountCard(
        org=OrgRow(1, "Acme", ("acme.example",)),
        contacts=contacts,
        logs=logs,
        log_count=70,
        followups=[_followup(n, note) for n in range(5)],
        followup_count=9,
    )


def test_a_big_card_fits_slacks_message_limits():
    message = blocks.card_message(_big_card())
    sections = section_texts(message["blocks"])

    assert len(message["blocks"]) <= 50
    assert message_block_problems(message["blocks"]) == []
    assert all(1 <= len(t) <= 3000 for t in sections)
    assert total_text(message["blocks"]) + len(message["text"]) < 12_000
    text = "\n".join(sections)
    assert "…and 95 more" in text
    assert "—" in text.split("\n")  # the empty note, on a line of its own
    actions = {
        e["action_id"]
        for b in message["blocks"]
        for e in (b.get("elements") or [b.get("accessory") or {}])
        if isinstance(e, dict) and e.get("action_id")
    }
    assert {
        blocks.SHOW_ALL_CONTACTS,
        blocks.SHOW_ALL_LOGS,
        blocks.SHOW_ALL_FOLLOWUPS,
        blocks.SHOW_NOTE,
        blocks.LOG_FOR_ORG,
        blocks.NOTE_FOR_ORG,
    } <= actions


def test_a_card_shows_a_tricky_note_literally():
    card = _big_card(note=TRICKY_NOTE)

    message = blocks.card_message(card)

    assert_shown_literally(message["blocks"])
    assert "<!channel>" not in message["text"]


def test_a_3000_character_note_of_ampersands_splits_without_breaking_entities():
    log = _log(1, "&" * 3000)

    sections = blocks.logs_sections([log])

    assert all(len(s) <= 3000 for s in sections)
    assert "".join(sections).count("&amp;") == 3000
    assert len(sections) >= 5


def test_the_form_for_a_long_message_keeps_only_a_reference_in_metadata():
    candidates = [
        {"ref": f"u:U{n:05d}", "label": "Very Long Name " * 10, "outside": True}
        for n in range(40)
    ]
    draft = Draft(
        id="abcdefghijklmnop",
        slack_user_id="U1",
        data={
            "note": "word " * 800,
            "occurred_on": "2025-03-01",
            "permalink": "https://rapport-test.slack.com/archives/C1/p1",
            "candidates": candidates,
            "selected": [c["ref"] for c in candidates],
            "org": {"id": 1, "name": "A" * 200, "domains": ["acme.example"]},
            "kind": "call",
        },
        client_token="t",
        logged_id=None,
        created_at="2025-03-01T00:00:00+00:00",
    )

    view = blocks.log_form_view(draft)

    assert view_problems(view) == []
    assert json.loads(view["private_metadata"]) == {"draft": draft.id}
    assert len(view["private_metadata"]) < 100
    assert len(view["title"]["text"]) <= 24
    note = next(b for b in view["blocks"] if b.get("block_id") == blocks.NOTE_BLOCK)
    assert len(note["element"]["initial_value"]) <= 3000
    assert all(len(label["text"]) <= 75 for label in _options(view))


def _options(view: dict) -> list[dict]:
    found = []
    for block in view["blocks"]:
        element = block.get("element") or {}
        for option in element.get("options") or []:
            found.append(option["text"])
        for option in element.get("initial_options") or []:
            found.append(option["text"])
        if element.get("initial_option"):
            found.append(element["initial_option"]["text"])
    return found


def test_organisation_options_are_short_and_offer_a_new_one():
    matches = [Match("organisation", n, "N" * 300, ("x.example",)) for n in range(3)]

    options = blocks.org_options(matches, "  Initech  " + "y" * 200)

    assert all(len(o["text"]["text"]) <= 75 for o in options)
    assert all(len(o["value"]) <= 150 for o in options)
    assert options[-1]["value"].startswith("new:Initech")


def test_list_modal_pages_stay_within_view_limits():
    logs = [_log(n, "&<>" * 1000) for n in range(blocks.LOGS_PER_PAGE)]

    view = blocks.list_view(
        title="Acme Rockets And Anvils Incorporated log",
        sections=blocks.logs_sections(logs),
        what="logs",
        org_id=1,
        page=1,
        pages=4,
    )

    assert view_problems(view) == []
    assert len(view["blocks"]) <= 100
    assert len(view["private_metadata"]) < 100


def test_home_keeps_within_limits_and_shows_tricky_text_literally():
    data = HomeData(
        person_id=1,
        strongest=[StrongContact(2, "Bo <@U123>", "Acme", 80.0, "2 emails")],
        recent_logs=[_log(n, TRICKY_NOTE) for n in range(5)],
        followups=[_followup(n, TRICKY_NOTE) for n in range(10)],
        followup_count=12,
    )

    view = home_view(data)

    assert view_problems(view) == []
    assert_shown_literally(view["blocks"])


def test_help_names_every_slash_command_in_the_manifest():
    manifest = (REPO / "manifest.yml").read_text()
    commands = set(re.findall(r"command: (/\w+)", manifest))

    text = json.dumps(help_blocks.help_message())

    assert commands and all(command in text for command in commands)
    assert "optout" in text and "optin" in text and "digest" in text
