"""Who knows X: lookup by name, domain, address and person; ranking; JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.capture.email_import import EmailImporter
from bot.capture.mbox import iter_mbox
from bot.cli import main
from bot.graph import build_graph
from bot.queries import build_index, who_knows
from tests.conftest import SAMPLE_MBOX
from tests.mail_factory import message, write_mbox

AS_OF = datetime(2025, 6, 1, tzinfo=UTC)


def conversation(colleague, contact, count, *, start_day=1, reply=True):
    mails = []
    for day in range(start_day, start_day + count):
        date = f"{day:02d} Mar 2025 10:00:00 +0000"
        mails.append(message(colleague, contact, date=date))
        if reply:
            mails.append(
                message(contact, colleague, date=f"{day:02d} Mar 2025 11:00:00 +0000")
            )
    return mails


@pytest.fixture
async def firm(db, tmp_path):
    mails = (
        conversation(
            "Alice Ames <alice@firm.example>", "Jane Roe <jane@acme.example>", 8
        )
        + conversation("alice@firm.example", "Tom Poe <tom@acme.example>", 3)
        + conversation("Bob Bell <bob@firm.example>", "jane@acme.example", 2)
        # One-way mass mail from Carol to many at Acme barely counts.
        + [
            message(
                "Carol Cole <carol@firm.example>",
                ", ".join(f"p{i}@acme.example" for i in range(40)),
            )
            for _ in range(5)
        ]
        + conversation("bob@firm.example", "Ann Fox <ann@acmecorp.example>", 2)
        + conversation("bob@firm.example", "Ned Ray <ned@acmeco.example>", 2)
        + conversation("carol@firm.example", "Zed <zed@initech.co.uk>", 4)
    )
    await EmailImporter(db, source="mbox", internal_domains=("firm.example",)).add_all(
        iter_mbox(write_mbox(tmp_path / "firm.mbox", mails))
    )
    graph = await build_graph(db, as_of=AS_OF)
    return graph, build_index(graph)


@pytest.mark.parametrize(
    "query",
    [
        "acme",
        "ACME Corp",
        "Acme, Inc.",
        "acme.example",
        "mail.acme.example",
        "someone@acme.example",
    ],
)
async def test_organisation_is_found_by_name_domain_or_address(firm, query):
    graph, index = firm

    answer = who_knows(graph, index, query)

    assert answer.match is not None
    assert answer.match.domains == ("acme.example",)
    assert [p.name for p in answer.people][:2] == ["Alice Ames", "Bob Bell"]


async def test_two_way_contacts_rank_above_one_way_mass_mail(firm):
    graph, index = firm

    answer = who_knows(graph, index, "acme.example")

    names = [p.name for p in answer.people]
    assert names.index("Carol Cole") > names.index("Bob Bell")
    alice = answer.people[0]
    assert alice.explanation == "22 emails both ways with 2 people, last 8 Mar 2025"
    assert [c.name for c in alice.contacts] == ["Jane Roe", "Tom Poe"]


async def test_person_query_ranks_the_colleagues_who_know_them(firm):
    graph, index = firm

    answer = who_knows(graph, index, "jane roe")

    assert answer.match.kind == "person"
    assert [p.name for p in answer.people] == ["Alice Ames", "Bob Bell"]


async def test_near_spelling_finds_the_organisation(firm):
    graph, index = firm

    answer = who_knows(graph, index, "initec")

    assert answer.match is not None and answer.match.domains == ("initech.co.uk",)


async def test_several_plausible_matches_give_a_choice(firm):
    graph, index = firm

    answer = who_knows(graph, index, "acmeco")

    assert answer.match is not None or len(answer.choices) >= 1
    answer = who_knows(graph, index, "acme c")
    assert answer.match is None
    assert {m.name for m in answer.choices} >= {"Acmecorp", "Acmeco"}


async def test_unknown_name_gives_closest_names(firm):
    graph, index = firm

    answer = who_knows(graph, index, "Initeck Holdings")

    assert answer.match is None and not answer.choices
    assert "Initech" in answer.suggestions


async def test_nothing_alike_gives_no_filler_suggestions(firm):
    graph, index = firm

    answer = who_knows(graph, index, "Globex International")

    assert (answer.match, answer.choices, answer.suggestions) == (None, (), ())


@pytest.mark.parametrize(
    ("query", "says"),
    [
        pytest.param("alice@firm.example", "belongs to a colleague", id="colleague"),
        pytest.param("firm.example", "the firm's own domain", id="own-domain"),
        pytest.param("😀 %", "nothing to look up", id="no-letters"),
    ],
)
async def test_query_that_names_nothing_outside_says_why(firm, query, says):
    graph, index = firm

    answer = who_knows(graph, index, query)

    assert answer.match is None and not answer.suggestions
    assert says in answer.note


async def test_last_comma_first_name_is_found_in_natural_order(db, tmp_path):
    mails = conversation(
        "bob@firm.example", '"Lafontaine, Steve" <steve@bank.example>', 2
    )
    await EmailImporter(db, source="mbox", internal_domains=("firm.example",)).add_all(
        iter_mbox(write_mbox(tmp_path / "bank.mbox", mails))
    )
    graph = await build_graph(db, as_of=AS_OF)

    answer = who_knows(graph, build_index(graph), "steve lafontaine")

    assert answer.match is not None and answer.match.email == "steve@bank.example"


def test_json_output_has_the_documented_shape(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("RAPPORT_DB", str(tmp_path / "cli.db"))
    monkeypatch.setenv("RAPPORT_INTERNAL_DOMAINS", "enron.com")
    monkeypatch.chdir(tmp_path)
    assert main(["import", "mbox", str(SAMPLE_MBOX)]) == 0
    capsys.readouterr()

    code = main(["whoknows", "Bank of America", "--as-of", "2001-12-31", "--json"])

    data = json.loads(capsys.readouterr().out)
    assert code == 0
    assert data["query"] == "Bank of America"
    assert data["match"] == {
        "kind": "organisation",
        "name": "Bankofamerica",
        "domains": ["bankofamerica.com"],
    }
    top = data["people"][0]
    assert set(top) >= {
        "name",
        "email",
        "score",
        "explanation",
        "last_contact",
        "contacts",
    }
    assert top["email"] == "john.arnold@enron.com"
    assert datetime.fromisoformat(top["last_contact"]).tzinfo is not None
    assert {"name", "email", "score"} <= set(top["contacts"][0])
    scores = [p["score"] for p in data["people"]]
    assert scores == sorted(scores, reverse=True)


def test_colleagues_are_recognised_when_internal_domains_are_set_later(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_DB", str(tmp_path / "late.db"))
    monkeypatch.delenv("RAPPORT_INTERNAL_DOMAINS", raising=False)
    mbox = write_mbox(
        tmp_path / "late.mbox", conversation("a@firm.example", "c@acme.example", 3)
    )
    assert main(["import", "mbox", str(mbox)]) == 0
    assert "RAPPORT_INTERNAL_DOMAINS is not set" in capsys.readouterr().err

    monkeypatch.setenv("RAPPORT_INTERNAL_DOMAINS", "firm.example")
    assert main(["import", "mbox", str(mbox)]) == 0
    code = main(["whoknows", "acme", "--as-of", "2025-06-01", "--json"])

    assert code == 0
    assert [
        p["email"]
        for p in json.loads(capsys.readouterr().out.split("\n", 1)[1])["people"]
    ] == ["a@firm.example"]


def test_import_of_a_file_without_messages_says_so(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("RAPPORT_DB", str(tmp_path / "empty.db"))
    monkeypatch.setenv("RAPPORT_INTERNAL_DOMAINS", "firm.example")
    empty = tmp_path / "notes.txt"
    empty.write_text("just some text\n")

    code = main(["import", "mbox", str(empty)])

    assert code == 1
    assert "no messages found" in capsys.readouterr().err


async def test_a_burst_of_refreshes_costs_at_most_two_rebuilds(db, caplog):
    import asyncio
    import logging

    from bot.scoring import DEFAULT_SCORING
    from bot.services import GraphCache

    cache = GraphCache(db, config=DEFAULT_SCORING)

    with caplog.at_level(logging.INFO, logger="bot.graph"):
        await asyncio.gather(*(cache.refresh() for _ in range(10)))

    builds = [r for r in caplog.records if r.getMessage().startswith("graph built")]
    assert 1 <= len(builds) <= 2
    assert (await cache.current())[0] is not None
