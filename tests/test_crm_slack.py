"""The CRM end to end: the real Bolt app over HTTP on 127.0.0.1, fake Slack Web API.

Shortcuts, form submissions, options requests, button clicks, Home tab events
and slash commands arrive signed and in Slack's shapes (tests/crm_payloads.py,
tests/slack_harness.py); every Web API call lands in the fake, which refuses
blocks over Slack's limits.
"""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot import crm
from handlers.blocks import crm as blocks
from handlers.blocks import help as help_blocks
from storage import crm as store
from storage import drafts
from tests import crm_payloads as payloads
from tests.crm_checks import (
    TRICKY_NOTE,
    assert_shown_literally,
    section_texts,
    shown,
    total_text,
)
from tests.crm_seed import ADA_SLACK_ID, BEA_SLACK_ID, log_note, seed_acme
from tests.slack_harness import DEFAULT_CHANNEL_ID, SlackHarness, running_slack_app

OUTSIDE_TEAM = "T0ACME0001"


@pytest.fixture
async def slack(tmp_path):
    async with running_slack_app(tmp_path) as harness:
        harness.fake.state.add_user(BEA_SLACK_ID, name="bea", email="bea@firm.example")
        yield harness


async def _seeded(slack: SlackHarness, **kwargs):
    seeded = await seed_acme(slack.db, **kwargs)
    await slack.refresh_graph()
    return seeded


async def _open_form(slack: SlackHarness, payload: dict) -> dict:
    """Send a shortcut or click; return the form the loading view turned into."""
    before = len(slack.fake.calls_to("views.update"))
    result = await slack.interactive(payload)
    assert result.status == 200
    await slack.wait_for(
        lambda: len(slack.fake.calls_to("views.update")) > before,
        message="views.update",
    )
    update = slack.fake.calls_to("views.update")[-1]
    return slack.fake.state.views[update.params["view_id"]]


async def _click_and_wait_for_update(slack: SlackHarness, click: dict):
    before = len(slack.fake.calls_to("views.update"))
    await slack.interactive(click)
    await slack.wait_for(lambda: len(slack.fake.calls_to("views.update")) > before)
    return slack.fake.calls_to("views.update")[-1]


async def _submit(slack: SlackHarness, view: dict, values: dict, **kw):
    return await slack.interactive(payloads.view_submission(slack, view, values, **kw))


def _json(value):
    """Web API params arrive as JSON strings (form posts) or objects (JSON posts)."""
    return json.loads(value) if isinstance(value, str) else value


def _org_value(org_id: int) -> tuple[str, str]:
    return (f"org:{org_id}", "Acme")


async def _logged_notes(slack: SlackHarness) -> list[str]:
    async with slack.db.execute("SELECT note FROM logged_interactions") as cursor:
        return [row[0] for row in await cursor.fetchall()]


def _confirmations(slack: SlackHarness) -> list:
    return [c for c in slack.fake.calls_to("chat.postMessage") if c.status == 200]


# The message shortcut -----------------------------------------------------------------


async def test_the_loading_view_opens_within_a_second_when_the_lookup_takes_3_5_s(
    slack,
):
    await _seeded(slack)

    async def slow_lookup():
        await asyncio.sleep(3.5)

    slack.services.extras[crm.LOOKUP_HOOK] = slow_lookup
    message = slack.fake.state.add_message(
        DEFAULT_CHANNEL_ID, text="Call with <@U0BEA00002> about Acme", user=ADA_SLACK_ID
    )
    payload = payloads.message_shortcut(slack, message)

    started = time.monotonic()
    result = await slack.interactive(payload)
    await slack.wait_for(
        lambda: slack.fake.calls_to("views.open"), timeout=1.0, message="views.open"
    )
    opened_after = time.monotonic() - started
    await slack.wait_for(
        lambda: slack.fake.calls_to("views.update"), timeout=6.0, message="the form"
    )

    assert result.status == 200 and result.elapsed < 1.0
    assert opened_after < 1.0
    [opened] = slack.fake.calls_to("views.open")
    [update] = slack.fake.calls_to("views.update")
    assert opened.params["trigger_id"] == payload["trigger_id"]
    assert opened.response["view"]["callback_id"] == blocks.LOADING_CALLBACK
    assert update.status == 200
    assert update.params["view_id"] == opened.response["view"]["id"]
    form = slack.fake.state.views[update.params["view_id"]]
    assert form["callback_id"] == blocks.FORM_CALLBACK
    uses = [
        c
        for c in slack.fake.calls
        if c.params.get("trigger_id") == payload["trigger_id"]
    ]
    assert len(uses) == 1


async def test_the_open_modal_says_so_when_the_lookup_fails(slack):
    await _seeded(slack)

    def broken_lookup():
        raise RuntimeError("directory down")

    slack.services.extras[crm.LOOKUP_HOOK] = broken_lookup
    message = slack.fake.state.add_message(
        DEFAULT_CHANNEL_ID, text="hi", user=BEA_SLACK_ID
    )

    view = await _open_form(slack, payloads.message_shortcut(slack, message))

    assert view["callback_id"] == blocks.LOADING_CALLBACK
    assert "could not prepare this form" in shown(view["blocks"])
    assert view.get("submit") is None


async def test_a_long_message_with_40_people_keeps_its_draft_in_sqlite(slack):
    seeded = await _seeded(slack)
    people = []
    for n in range(40):
        user_id = f"U0P{n:07d}"
        outside = n % 2 == 0
        slack.fake.state.add_user(
            user_id,
            name=f"person{n}",
            real_name=f"Person {n:02d}",
            email=f"person{n}@{'acme.example' if outside else 'firm.example'}",
            team_id=OUTSIDE_TEAM if outside else slack.team_id,
        )
        people.append(user_id)
    mentions = " ".join(f"<@{u}>" for u in people)
    text = (mentions + " " + "renewal terms " * 400)[:4000]
    message = slack.fake.state.add_message(
        DEFAULT_CHANNEL_ID, text=text, user=ADA_SLACK_ID
    )

    view = await _open_form(slack, payloads.message_shortcut(slack, message))

    metadata = json.loads(view["private_metadata"])
    assert set(metadata) == {"draft"} and len(view["private_metadata"]) < 100
    assert len(view["title"]["text"]) <= 24
    draft = await drafts.get_draft(slack.db, metadata["draft"])
    assert draft.data["note"] == text and len(draft.data["candidates"]) == 40
    assert draft.data["permalink"].startswith("https://rapport-test.slack.com/")

    users_info_calls = len(slack.fake.calls_to("users.info"))
    chosen = [(f"u:{people[0]}", "Person 00"), (f"u:{people[1]}", "Person 01")]
    result = await _submit(
        slack,
        view,
        payloads.form_values(
            org=_org_value(seeded.org_id), note=text[:3000], contacts=chosen
        ),
    )
    await slack.wait_for(lambda: _confirmations(slack), message="the confirmation")

    assert result.status == 200 and result.text == ""
    # The people came from the draft, not from another users.info round.
    assert len(slack.fake.calls_to("users.info")) == users_info_calls
    [entry] = await store.logged_interactions(slack.db, viewer_person_id=seeded.ada_id)
    assert sorted(entry.contact_names) == ["Person 00", "Person 01"]
    assert entry.permalink == draft.data["permalink"]
    logged_draft = await drafts.get_draft(slack.db, draft.id)
    assert logged_draft.logged_id == entry.id and logged_draft.data == {}
    async with slack.db.execute(
        "SELECT slack_user_id, is_colleague, org_id FROM people"
        " WHERE slack_user_id IN (?, ?) ORDER BY slack_user_id",
        (people[0], people[1]),
    ) as cursor:
        rows = [tuple(r) for r in await cursor.fetchall()]
    assert rows == [(people[0], 0, seeded.org_id), (people[1], 1, None)]


async def test_closing_the_form_forgets_the_message_it_carried(slack):
    await _seeded(slack)
    message = slack.fake.state.add_message(
        DEFAULT_CHANNEL_ID, text="confidential terms", user=BEA_SLACK_ID
    )
    view = await _open_form(slack, payloads.message_shortcut(slack, message))
    draft_id = json.loads(view["private_metadata"])["draft"]

    result = await slack.interactive(payloads.view_closed(slack, view))

    assert result.status == 200
    await slack.wait_for(
        lambda: _no_draft(slack, draft_id), message="the draft to be deleted"
    )


async def _no_draft(slack: SlackHarness, draft_id: str) -> bool:
    return await drafts.get_draft(slack.db, draft_id) is None


# Submitting the form ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"org": None}, "org", id="missing-organisation"),
        pytest.param({"day": "2025-3-7"}, "date", id="bad-date"),
        pytest.param({"note": "x" * 3001}, "note", id="over-long-note"),
        pytest.param({"followup": "2024-01-01"}, "followup", id="past-follow-up"),
    ],
)
async def test_a_bad_submission_keeps_the_modal_open_with_an_error(
    slack, changes, field
):
    seeded = await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))
    values = {"org": _org_value(seeded.org_id), **changes}

    result = await _submit(slack, view, payloads.form_values(**values))

    assert result.status == 200
    body = result.json()
    assert body["response_action"] == "errors"
    assert list(body["errors"]) == [field]
    assert await _logged_notes(slack) == []


async def test_a_retried_submission_logs_once(slack):
    seeded = await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))
    payload = payloads.view_submission(
        slack, view, payloads.form_values(org=_org_value(seeded.org_id), note="once")
    )

    first = await slack.interactive(payload)
    second = await slack.interactive(
        payload,
        headers={"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"},
    )
    await slack.wait_for(lambda: _confirmations(slack), message="the confirmation")
    await asyncio.sleep(0.3)

    assert first.status == second.status == 200
    assert await _logged_notes(slack) == ["once"]
    assert len(_confirmations(slack)) == 1
    async with slack.db.execute(
        "SELECT COUNT(*) FROM interactions WHERE kind = 'logged'"
    ) as cursor:
        assert (await cursor.fetchone())[0] == 1


async def test_a_logged_interaction_counts_in_the_graph_and_is_confirmed(slack):
    seeded = await _seeded(slack, with_mail=0)
    contact = seeded.contact_ids[3]
    view = await _open_form(slack, payloads.global_shortcut(slack))

    await _submit(
        slack,
        view,
        payloads.form_values(
            org=_org_value(seeded.org_id),
            kind="meeting",
            contacts=[(f"p:{contact}", "Contact 003")],
            followup="2025-03-14",
        ),
    )
    [confirmation] = await slack.wait_for(lambda: _confirmations(slack))

    assert confirmation.params["channel"] == ADA_SLACK_ID
    assert "Acme" in confirmation.params["text"]
    button = json.dumps(confirmation.params["blocks"])
    assert blocks.SHOW_CARD in button
    graph = await slack.wait_for(
        lambda: _pair_logged(slack, seeded.ada_id, contact), message="graph refresh"
    )
    assert graph == 1

    card_button = next(
        e
        for b in confirmation.params["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    click = slack.block_actions(card_button["action_id"], value=card_button["value"])
    await slack.interactive(click)
    [card] = await slack.wait_for(lambda: slack.fake.response_posts)
    assert card.status == 200 and card.body["blocks"][0]["text"]["text"] == "Acme"
    assert "Contact 003" in shown(card.body["blocks"])


async def _pair_logged(slack: SlackHarness, colleague: int, contact: int) -> int:
    graph, _ = await slack.services.graphs.current()
    pair = graph.pair(colleague, contact)
    return pair.logged if pair else 0


async def test_the_organisation_select_offers_matches_and_a_new_one(slack):
    await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))

    result = await slack.interactive(
        payloads.block_suggestion(
            slack, view, action_id=blocks.ORG_ACTION, block_id="org", value="ac"
        )
    )

    options = result.json()["options"]
    assert options[0]["text"]["text"].startswith("Acme")
    assert options[-1]["value"] == "new:ac"
    assert all(len(o["text"]["text"]) <= 75 for o in options)


async def test_the_contacts_select_finds_outside_people_by_name(slack):
    await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))

    result = await slack.interactive(
        payloads.block_suggestion(
            slack,
            view,
            action_id=blocks.CONTACTS_ACTION,
            block_id="contacts",
            value="contact 007",
        )
    )

    options = result.json()["options"]
    assert options[0]["text"]["text"] == "Contact 007 (Acme)"
    assert options[0]["value"].startswith("p:")


async def test_the_home_log_button_opens_a_blank_form(slack):
    await _seeded(slack)
    view = {"id": "VHOME", "type": "home", "blocks": []}

    form = await _open_form(
        slack, slack.block_actions("home_log_interaction", view=view)
    )

    assert form["callback_id"] == blocks.FORM_CALLBACK
    org_block = next(b for b in form["blocks"] if b.get("block_id") == "org")
    assert "initial_option" not in org_block["element"]


async def test_a_new_organisation_typed_in_the_form_is_created_and_logged(slack):
    await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))

    await _submit(
        slack,
        view,
        payloads.form_values(org=("new:Initech", "New: Initech"), note="hi"),
    )
    await slack.wait_for(lambda: _confirmations(slack))

    [entry] = await store.logged_interactions(slack.db)
    assert entry.org_name == "Initech"


# The account card ---------------------------------------------------------------------


async def test_client_card_for_a_big_account_fits_one_message(slack):
    seeded = await _seeded(slack, contacts=120, with_mail=10)
    for n in range(70):
        await log_note(
            slack.services,
            org_id=seeded.org_id,
            note="" if n == 69 else f"Renewal talk {n} " * 20,
            token=f"big-{n}",
            day=f"2025-02-{1 + n % 28:02d}" if n != 69 else "2025-03-09",
            followup_on="2025-03-20" if n % 10 == 0 else None,
        )
    await slack.refresh_graph()

    result = await slack.slash("/client", "acme")
    [post] = await slack.wait_for_posts(result)

    assert post.status == 200
    message = post.body
    sections = section_texts(message["blocks"])
    assert len(message["blocks"]) <= 50
    assert all(1 <= len(text) <= 3000 for text in sections)
    assert total_text(message["blocks"]) < 12_000
    text = "\n".join(sections)
    assert "…and 95 more" in text
    # The empty note shows as a line of its own holding only "—".
    assert "—" in text.split("\n")
    assert "…and 65 more" in shown(message["blocks"])

    click = slack.block_actions(blocks.SHOW_ALL_CONTACTS, value=str(seeded.org_id))
    await slack.interactive(click)
    [opened] = await slack.wait_for(lambda: slack.fake.calls_to("views.open"))
    assert opened.status == 200
    everyone = shown(opened.response["view"]["blocks"])
    assert all(f"Contact {n:03d}" in everyone for n in range(120))


async def test_show_all_logs_pages_through_every_entry(slack):
    seeded = await _seeded(slack)
    for n in range(45):
        await log_note(
            slack.services, org_id=seeded.org_id, note=f"entry-{n:02d}", token=f"p{n}"
        )

    await slack.interactive(
        slack.block_actions(blocks.SHOW_ALL_LOGS, value=str(seeded.org_id))
    )
    [opened] = await slack.wait_for(lambda: slack.fake.calls_to("views.open"))
    view = opened.response["view"]
    seen = shown(view["blocks"])
    for _ in range(2):
        nav = [b for b in view["blocks"] if b["type"] == "actions"][0]
        following = [e for e in nav["elements"] if e["action_id"].endswith("_next")][0]
        click = slack.block_actions(
            following["action_id"], value=following["value"], view=view
        )
        update = await _click_and_wait_for_update(slack, click)
        assert update.status == 200
        view = slack.fake.state.views[update.params["view_id"]]
        seen += shown(view["blocks"])

    assert all(f"entry-{n:02d}" in seen for n in range(45))


async def test_an_unclear_client_name_offers_choices_then_shows_the_picked_card(slack):
    await _seeded(slack)
    from tests.crm_seed import add_org

    rockets = await add_org(slack.db, name="Acme Rockets", domain="acmerockets.example")
    await add_org(slack.db, name="Acme Anvils", domain="acmeanvils.example")
    await slack.refresh_graph()

    result = await slack.slash("/client", "acm")
    [post] = await slack.wait_for_posts(result)
    buttons = [
        e for b in post.body["blocks"] if b["type"] == "actions" for e in b["elements"]
    ]
    picked = next(b for b in buttons if b["value"] == f"org:{rockets}")
    click = slack.block_actions(picked["action_id"], value=picked["value"])
    await slack.interactive(click)
    await slack.wait_for(lambda: len(slack.fake.response_posts) >= 2)

    card = slack.fake.response_posts[-1].body
    assert card["replace_original"] is True
    assert card["blocks"][0]["text"]["text"] == "Acme Rockets"


async def test_the_card_log_button_opens_the_form_for_that_organisation(slack):
    seeded = await _seeded(slack)

    view = await _open_form(
        slack, slack.block_actions(blocks.NOTE_FOR_ORG, value=str(seeded.org_id))
    )

    org_block = next(b for b in view["blocks"] if b.get("block_id") == "org")
    assert org_block["element"]["initial_option"]["value"] == f"org:{seeded.org_id}"
    assert view["title"]["text"] == blocks.NOTE_TITLE


# Escaping and privacy -----------------------------------------------------------------


async def test_a_tricky_note_is_shown_literally_everywhere(slack):
    seeded = await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))
    await _submit(
        slack,
        view,
        payloads.form_values(
            org=_org_value(seeded.org_id), note=TRICKY_NOTE, followup="2025-03-12"
        ),
    )
    await slack.wait_for(lambda: _confirmations(slack))
    assert await _logged_notes(slack) == [TRICKY_NOTE]  # stored as written

    result = await slack.slash("/client", "acme")
    [card] = await slack.wait_for_posts(result)
    await slack.event({"type": "app_home_opened", "user": ADA_SLACK_ID, "tab": "home"})
    [home] = await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))
    await slack.interactive(
        slack.block_actions(blocks.SHOW_ALL_LOGS, value=str(seeded.org_id))
    )
    [entry] = await store.logged_interactions(slack.db, viewer_person_id=seeded.ada_id)
    await slack.interactive(slack.block_actions(blocks.SHOW_NOTE, value=str(entry.id)))
    opened = await slack.wait_for(
        lambda: (v := slack.fake.calls_to("views.open")) and len(v) >= 3 and v
    )

    assert card.status == 200 and home.status == 200
    assert_shown_literally(card.body["blocks"])
    assert "<!channel>" not in card.body["text"]
    assert_shown_literally(_json(home.params["view"])["blocks"])
    for call in opened[1:]:
        assert call.status == 200
        assert_shown_literally(call.response["view"]["blocks"])


async def test_an_only_me_note_never_appears_for_another_user(slack):
    seeded = await _seeded(slack)
    view = await _open_form(slack, payloads.global_shortcut(slack))
    await _submit(
        slack,
        view,
        payloads.form_values(
            org=_org_value(seeded.org_id),
            note="private plans",
            visibility="private",
            followup="2025-03-12",
        ),
    )
    await slack.wait_for(lambda: _confirmations(slack))
    await log_note(slack.services, org_id=seeded.org_id, note="team update", token="t")

    bea_card = await slack.slash("/client", "acme", user_id=BEA_SLACK_ID)
    ada_card = await slack.slash("/client", "acme")
    [bea_post] = await slack.wait_for_posts(bea_card)
    [ada_post] = await slack.wait_for_posts(ada_card)
    await slack.event({"type": "app_home_opened", "user": BEA_SLACK_ID, "tab": "home"})
    [bea_home] = await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))
    await slack.interactive(
        slack.block_actions(
            blocks.SHOW_ALL_LOGS, value=str(seeded.org_id), user_id=BEA_SLACK_ID
        )
    )
    [bea_list] = await slack.wait_for(lambda: slack.fake.calls_to("views.open")[1:])

    assert "team update" in shown(bea_post.body["blocks"])
    assert "private plans" not in json.dumps(bea_post.body)
    assert "private plans" not in json.dumps(bea_home.params["view"])
    assert "private plans" not in json.dumps(bea_list.response["view"])
    assert "private plans" in shown(ada_post.body["blocks"])


# Home, /log and /rapport --------------------------------------------------------------


async def test_opening_the_home_tab_publishes_it(slack):
    seeded = await _seeded(slack)
    await log_note(
        slack.services,
        org_id=seeded.org_id,
        note="recent",
        token="h",
        followup_on="2025-03-11",
    )

    result = await slack.event(
        {"type": "app_home_opened", "user": ADA_SLACK_ID, "tab": "home"}
    )
    [publish] = await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))

    assert result.status == 200 and publish.status == 200
    view = _json(publish.params["view"])
    assert publish.params["user_id"] == ADA_SLACK_ID
    assert "recent" in shown(view["blocks"]) and "Acme" in shown(view["blocks"])


async def test_marking_a_followup_done_from_home_republishes_it(slack):
    seeded = await _seeded(slack)
    await log_note(
        slack.services,
        org_id=seeded.org_id,
        note="call back",
        token="d",
        followup_on="2025-03-11",
    )
    [item] = await store.followups_due(
        slack.db, person_id=seeded.ada_id, due_before=None
    )
    view = {"id": "VHOME", "type": "home", "blocks": []}

    await slack.interactive(
        slack.block_actions("crm_followup_done", value=str(item.id), view=view)
    )
    [publish] = await slack.wait_for(lambda: slack.fake.calls_to("views.publish"))

    assert publish.status == 200
    assert (
        await store.followups_due(slack.db, person_id=seeded.ada_id, due_before=None)
        == []
    )


async def test_log_one_line_logs_a_note_for_a_clear_organisation(slack):
    seeded = await _seeded(slack)

    result = await slack.slash("/log", "acme: call with the GC about the renewal")
    [post] = await slack.wait_for_posts(result)

    assert result.status == 200 and result.elapsed < 1.0
    assert "Acme" in post.body["text"]
    [entry] = await store.logged_interactions(slack.db)
    assert (entry.note, entry.kind, entry.org_id) == (
        "call with the GC about the renewal",
        "note",
        seeded.org_id,
    )


async def test_log_with_an_unclear_organisation_offers_choices_and_logs_once(slack):
    await _seeded(slack)
    from tests.crm_seed import add_org

    await add_org(slack.db, name="Acme Rockets", domain="acmerockets.example")
    await add_org(slack.db, name="Acme Anvils", domain="acmeanvils.example")
    await slack.refresh_graph()

    result = await slack.slash("/log", "acm: met at the fair")
    [choices] = await slack.wait_for_posts(result)
    buttons = [
        e
        for b in choices.body["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]
    assert await _logged_notes(slack) == []
    pick = buttons[0]
    for _ in range(2):
        await slack.interactive(
            slack.block_actions(pick["action_id"], value=pick["value"])
        )
    await slack.wait_for(lambda: len(slack.fake.response_posts) >= 2)
    await asyncio.sleep(0.3)

    assert await _logged_notes(slack) == ["met at the fair"]
    assert {b["action_id"] for b in buttons} >= {f"{blocks.PICK_LOG_ORG}_new"}


async def test_log_without_a_colon_explains_the_format(slack):
    result = await slack.slash("/log", "acme call")

    assert "/log ORG: what happened" in result.json()["text"]


async def test_log_alone_opens_the_form(slack):
    await _seeded(slack)

    result = await slack.slash("/log", "")
    await slack.wait_for(lambda: slack.fake.calls_to("views.update"))

    assert result.status == 200
    [update] = slack.fake.calls_to("views.update")
    assert _json(update.params["view"])["callback_id"] == blocks.FORM_CALLBACK


async def test_rapport_help_lists_every_command(slack):
    result = await slack.slash("/rapport", "help")

    body = result.json()
    for command, _ in help_blocks.COMMANDS:
        assert command in json.dumps(body)


async def test_rapport_optout_deletes_my_edges_and_optin_brings_me_back(slack):
    seeded = await _seeded(slack, with_mail=5)

    out = await slack.slash("/rapport", "optout")
    [out_post] = await slack.wait_for_posts(out)
    back = await slack.slash("/rapport", "optin")
    [back_post] = await slack.wait_for_posts(back)

    assert "opted out" in out_post.body["text"]
    assert "Welcome back" in back_post.body["text"]
    async with slack.db.execute(
        "SELECT COUNT(*) FROM interaction_participants WHERE person_id = ?",
        (seeded.ada_id,),
    ) as cursor:
        assert (await cursor.fetchone())[0] == 0


async def test_rapport_digest_answers_through_the_digests_feature(slack):
    await _seeded(slack)

    result = await slack.slash("/rapport", "digest off")
    [post] = await slack.wait_for_posts(result)

    assert post.status == 200 and post.body.get("text")
