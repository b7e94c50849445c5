"""bot/crm without Slack: parsing, validation, logging, cards, the Home data."""

from __future__ import annotations

from datetime import date

import pytest

from bot import crm
from bot.scoring import PairStats
from storage import crm as store
from storage.interactions import key_hash
from tests.crm_seed import (
    ADA_SLACK_ID,
    BEA_SLACK_ID,
    add_org,
    log_note,
    make_services,
    seed_acme,
)

TODAY = date(2025, 3, 10)


@pytest.fixture
async def services(tmp_path):
    services = await make_services(tmp_path)
    try:
        yield services
    finally:
        await services.db.close()


def _form(**changes) -> crm.FormValues:
    values = {
        "org": "org:1",
        "kind": "call",
        "occurred_on": "2025-03-10",
        "note": "",
        "followup_on": None,
        "visibility": "team",
    }
    values.update(changes)
    return crm.FormValues(**values)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "acme: call with the GC about the renewal",
            ("acme", "call with the GC about the renewal"),
            id="simple",
        ),
        pytest.param("  Acme   Corp :  a: b ", ("Acme Corp", "a: b"), id="spaces"),
        pytest.param("acme:", ("acme", ""), id="empty-note"),
        pytest.param("acme call", None, id="no-colon"),
        pytest.param(": note", None, id="no-org"),
    ],
)
def test_log_command_text_splits_at_the_first_colon(text, expected):
    assert crm.parse_log_command(text) == expected


def test_mentions_are_found_once_in_order_when_a_message_names_people():
    text = "hi <@U0B> and <@W0C|carl>, again <@U0B>; not <!channel> or <#C1>"

    assert crm.mentioned_users(text) == ["U0B", "W0C"]


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        pytest.param({}, {}, id="valid"),
        pytest.param({"org": None}, {"org": "org_missing"}, id="no-org"),
        pytest.param({"org": "new:  "}, {"org": "org_missing"}, id="blank-new-org"),
        pytest.param({"org": "new:Initech"}, {}, id="new-org"),
        pytest.param(
            {"occurred_on": "10/03/2025"}, {"date": "date_format"}, id="bad-date"
        ),
        pytest.param(
            {"occurred_on": "2025-02-30"}, {"date": "date_format"}, id="no-such-day"
        ),
        pytest.param({"occurred_on": None}, {"date": "date_missing"}, id="no-date"),
        pytest.param(
            {"occurred_on": "2025-03-20"}, {"date": "date_future"}, id="future"
        ),
        pytest.param(
            {"followup_on": "2025-03-01"},
            {"followup": "followup_past"},
            id="past-followup",
        ),
        pytest.param(
            {"followup_on": "soon"}, {"followup": "date_format"}, id="bad-followup"
        ),
        pytest.param({"note": "x" * 3001}, {"note": "note_too_long"}, id="long-note"),
        pytest.param({"note": "x" * 3000}, {}, id="note-at-limit"),
        pytest.param({"kind": "lunch"}, {"kind": "kind_missing"}, id="bad-kind"),
    ],
)
def test_form_validation_names_the_field_when_a_value_is_wrong(changes, errors):
    assert crm.validate_form(_form(**changes), today=TODAY) == errors


async def test_a_logged_interaction_joins_the_graph_between_logger_and_contacts(
    services,
):
    seeded = await seed_acme(services.db, with_mail=0)
    contact = seeded.contact_ids[5]

    result = await log_note(
        services, org_id=seeded.org_id, note="lunch", token="g1", contacts=(contact,)
    )
    await services.graphs.refresh()
    graph, _ = await services.graphs.current()

    assert result.created and result.org_name == "Acme"
    async with services.db.execute(
        "SELECT i.kind, i.sender_id, p.person_id, p.role FROM interactions i"
        " JOIN interaction_participants p ON p.interaction_id = i.id"
        " JOIN interaction_keys k ON k.interaction_id = i.id"
        " WHERE k.key_hash = ? ORDER BY p.role",
        (key_hash("log:g1"),),
    ) as cursor:
        rows = [tuple(r) for r in await cursor.fetchall()]
    assert rows == [
        ("logged", seeded.ada_id, contact, "contact"),
        ("logged", seeded.ada_id, seeded.ada_id, "logger"),
    ]
    pair = graph.pair(seeded.ada_id, contact)
    assert pair is not None and pair.logged == 1


async def test_an_only_me_log_stays_out_of_the_shared_graph(services):
    seeded = await seed_acme(services.db, with_mail=0)
    contact = seeded.contact_ids[5]

    await log_note(
        services,
        org_id=seeded.org_id,
        note="private lunch",
        token="p1",
        contacts=(contact,),
        visibility="private",
    )
    await services.graphs.refresh()
    graph, _ = await services.graphs.current()

    assert graph.pair(seeded.ada_id, contact) is None


async def test_a_logged_meeting_outranks_one_email_with_the_same_contact(services):
    seeded = await seed_acme(services.db, with_mail=0)
    contact = seeded.contact_ids[5]
    await log_note(
        services,
        org_id=seeded.org_id,
        note="met",
        token="m1",
        contacts=(contact,),
        kind="meeting",
    )
    await services.graphs.refresh()
    graph, _ = await services.graphs.current()

    logged = graph.pair(seeded.ada_id, contact)
    # The same day, the same two people: only the channel weight differs.
    config = graph.config
    email_weight = logged.shared * config.channel("email") / config.channel("logged")
    one_email = PairStats(out=email_weight, sent=1, last=logged.last)

    assert logged.effective(graph.config) > one_email.effective(graph.config)


async def test_the_same_client_token_logs_once_when_delivered_twice(services):
    seeded = await seed_acme(services.db)

    first = await log_note(services, org_id=seeded.org_id, note="x", token="dup")
    second = await log_note(services, org_id=seeded.org_id, note="x", token="dup")

    assert first.created and not second.created
    assert first.logged_id == second.logged_id
    assert await store.count_logged(services.db) == 1
    async with services.db.execute(
        "SELECT COUNT(*) FROM interactions WHERE kind = 'logged'"
    ) as cursor:
        assert (await cursor.fetchone())[0] == 1


async def test_a_new_organisation_is_created_once_when_named_in_the_form(services):
    await seed_acme(services.db)
    values = _form(org="new:Initech Ltd", note="first")

    for token in ("n1", "n2"):
        await crm.log_interaction(
            services,
            slack_user_id=ADA_SLACK_ID,
            team_id="T1",
            values=values,
            client_token=token,
        )

    async with services.db.execute(
        "SELECT COUNT(*), MIN(name) FROM organisations WHERE name LIKE 'Initech%'"
    ) as cursor:
        assert tuple(await cursor.fetchone()) == (1, "Initech Ltd")


async def test_an_unknown_slack_user_becomes_a_colleague_from_users_info(services):
    await seed_acme(services.db)
    calls = []

    async def users_info(user_id):
        calls.append(user_id)
        return {
            "id": user_id,
            "team_id": "T1",
            "real_name": "Cy Newcomer",
            "profile": {"real_name": "Cy Newcomer", "email": "cy@firm.example"},
            "tz": "Europe/Paris",
        }

    result = await crm.log_interaction(
        services,
        slack_user_id="U0CY000009",
        team_id="T1",
        values=_form(note="hello"),
        client_token="new-user",
        users_info=users_info,
    )

    person = await crm.person_for_slack_user(services, "U0CY000009")
    async with services.db.execute(
        "SELECT display_name, is_colleague, tz FROM people WHERE id = ?", (person,)
    ) as cursor:
        assert tuple(await cursor.fetchone()) == ("Cy Newcomer", 1, "Europe/Paris")
    assert calls == ["U0CY000009"] and result.created


async def test_an_ambiguous_name_offers_choices_instead_of_a_guess(services):
    await add_org(services.db, name="Acme Rockets", domain="acmerockets.example")
    await add_org(services.db, name="Acme Anvils", domain="acmeanvils.example")
    await services.graphs.refresh()

    with pytest.raises(crm.OrganisationNotFound) as raised:
        await crm.resolve_organisation(services, "acme")

    assert {m.name for m in raised.value.choices} == {"Acme Rockets", "Acme Anvils"}


async def test_an_unknown_name_offers_no_guess_when_nothing_is_close(services):
    await seed_acme(services.db)
    await services.graphs.refresh()

    with pytest.raises(crm.OrganisationNotFound) as raised:
        await crm.resolve_organisation(services, "zzqx")

    assert raised.value.code == "org_unknown"


async def test_a_clear_name_or_domain_resolves_to_its_organisation(services):
    seeded = await seed_acme(services.db)
    await services.graphs.refresh()

    by_name = await crm.resolve_organisation(services, "acme")
    by_domain = await crm.resolve_organisation(services, "acme.example")

    assert by_name.id == by_domain.id == seeded.org_id


async def test_typeahead_lists_organisations_starting_with_the_typed_text(services):
    await seed_acme(services.db)
    await services.graphs.refresh()

    found = await crm.search_organisations(services, "glo")

    assert [m.name for m in found][:1] == ["Globex"]


async def test_the_card_hides_another_users_private_note_when_bea_looks(services):
    seeded = await seed_acme(services.db)
    await log_note(
        services,
        org_id=seeded.org_id,
        note="ada only",
        token="p1",
        visibility="private",
        followup_on="2025-03-20",
    )
    await log_note(services, org_id=seeded.org_id, note="for all", token="p2")
    await services.graphs.refresh()

    for_bea = await crm.account_card(
        services, org_id=seeded.org_id, viewer_slack_id=BEA_SLACK_ID
    )
    for_ada = await crm.account_card(
        services, org_id=seeded.org_id, viewer_slack_id=ADA_SLACK_ID
    )

    assert [log.note for log in for_bea.logs] == ["for all"]
    assert for_bea.log_count == 1 and for_bea.followup_count == 0
    assert sorted(log.note for log in for_ada.logs) == ["ada only", "for all"]
    assert for_ada.followup_count == 1


async def test_the_card_ranks_contacts_and_colleagues_from_the_graph(services):
    seeded = await seed_acme(services.db, contacts=12, with_mail=5)
    await services.graphs.refresh()

    card = await crm.account_card(services, org_id=seeded.org_id, viewer_slack_id=None)

    assert len(card.contacts) == 12
    assert card.contacts[0].score >= card.contacts[-1].score
    assert card.colleagues[0].name == "Ada Lovelace"


async def test_home_shows_my_logs_and_followups_and_strongest_contacts(services):
    seeded = await seed_acme(services.db)
    await log_note(
        services,
        org_id=seeded.org_id,
        note="mine",
        token="h1",
        visibility="private",
        followup_on="2025-03-12",
    )
    await services.graphs.refresh()

    mine = await crm.home_data(services, slack_user_id=ADA_SLACK_ID)
    beas = await crm.home_data(services, slack_user_id=BEA_SLACK_ID)
    stranger = await crm.home_data(services, slack_user_id="U0NOBODY01")

    assert [log.note for log in mine.recent_logs] == ["mine"]
    assert [f.note for f in mine.followups] == ["mine"]
    assert mine.strongest and mine.strongest[0].org_name == "Acme"
    assert beas.recent_logs == [] and beas.followups == []
    assert stranger.person_id is None


async def test_only_the_owner_may_close_a_private_followup(services):
    seeded = await seed_acme(services.db)
    await log_note(
        services,
        org_id=seeded.org_id,
        note="x",
        token="c1",
        visibility="private",
        followup_on="2025-03-12",
    )
    [item] = await store.followups_due(
        services.db, person_id=seeded.ada_id, due_before=None
    )

    assert not await crm.complete_followup(
        services, followup_id=item.id, slack_user_id=BEA_SLACK_ID
    )
    assert await crm.snooze_followup(
        services, followup_id=item.id, slack_user_id=ADA_SLACK_ID
    )
    [snoozed] = await store.followups_due(
        services.db, person_id=seeded.ada_id, due_before=None
    )
    assert snoozed.due_on == "2025-03-19"
    assert await crm.complete_followup(
        services, followup_id=item.id, slack_user_id=ADA_SLACK_ID
    )
