"""Slash command text as Slack sends it: &, < and > arrive escaped, once.

Slack escapes these three characters in all the text it hands an app, slash
command `text` included ("Escaping text", api.slack.com/reference/surfaces/
formatting), so `/whoknows AT&T` arrives as `AT&amp;T`. The harness sends text
as given, so these tests pass Slack's escaped form explicitly.
"""

from __future__ import annotations

import json

import pytest

from bot import crm
from handlers.blocks import help as help_blocks
from handlers.escape import escape, unescape_slash_text
from tests.crm_seed import add_org, seed_acme
from tests.slack_harness import running_slack_app


@pytest.mark.parametrize(
    ("sent", "typed"),
    [
        pytest.param("AT&amp;T", "AT&T", id="ampersand"),
        pytest.param("&lt;b&gt; &amp; &lt;@U1&gt;", "<b> & <@U1>", id="brackets"),
        pytest.param("&amp;lt;", "&lt;", id="nested-once"),
        pytest.param("&quot;x&quot; &#39;", "&quot;x&quot; &#39;", id="others-kept"),
        pytest.param("<@U0ADA00001|ada>", "<@U0ADA00001|ada>", id="slack-markup"),
        pytest.param(None, "", id="absent"),
    ],
)
def test_slash_text_reads_as_typed_when_slack_escaped_it(sent, typed):
    assert unescape_slash_text(sent) == typed


def test_text_shows_as_typed_when_unescaped_then_escaped():
    assert escape(unescape_slash_text("AT&amp;T &lt;3")) == "AT&amp;T &lt;3"


async def test_whoknows_matches_and_shows_the_name_escaped_once_when_it_holds_and(
    tmp_path,
):
    async with running_slack_app(tmp_path) as slack:
        await add_org(slack.db, name="AT&T", domain="att.example")
        await slack.refresh_graph()

        result = await slack.slash("/whoknows", "AT&amp;T")
        [post] = await slack.wait_for_posts(result)

    body = json.dumps(post.body)
    assert post.body["blocks"][0]["text"]["text"] == "Who knows AT&T"
    assert "*AT&amp;T* (att.example)" in body
    assert "&amp;amp;" not in body
    assert "Nothing matches" not in body


async def test_log_stores_the_note_as_typed_when_slack_escaped_it(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await seed_acme(slack.db)
        await add_org(slack.db, name="AT&T", domain="att.example")
        await slack.refresh_graph()

        result = await slack.slash("/log", "AT&amp;T: call &amp; dinner &lt;3")
        [post] = await slack.wait_for_posts(result)
        async with slack.db.execute("SELECT note FROM logged_interactions") as cursor:
            notes = [row[0] for row in await cursor.fetchall()]

    assert notes == ["call & dinner <3"]
    assert "*AT&amp;T*" in post.body["text"]


async def test_client_finds_the_org_when_its_name_arrives_escaped(tmp_path):
    async with running_slack_app(tmp_path) as slack:
        await add_org(slack.db, name="AT&T", domain="att.example")
        await slack.refresh_graph()

        result = await slack.slash("/client", "AT&amp;T")
        [post] = await slack.wait_for_posts(result)

    assert post.body["blocks"][0]["text"]["text"] == "AT&T"
    assert "&amp;amp;" not in json.dumps(post.body)


async def test_rapport_echoes_an_unknown_word_escaped_once_when_it_arrives_escaped(
    tmp_path,
):
    async with running_slack_app(tmp_path) as slack:
        result = await slack.slash("/rapport", "&lt;b&gt;")

    intro = help_blocks.UNKNOWN_SUBCOMMAND.format(word="&lt;b&gt;")
    assert intro in result.text
    assert "&amp;lt;" not in result.text


# `/log ORG: text` ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param("acme: call", ("acme", "call"), id="plain"),
        pytest.param(
            "<http://acme.com|acme.com>: called",
            ("<http://acme.com|acme.com>", "called"),
            id="link-in-org",
        ),
        pytest.param(
            "acme: see <http://x.example/a:b>",
            ("acme", "see <http://x.example/a:b>"),
            id="link-in-note",
        ),
        pytest.param(
            "<https://a.example> and co: met",
            ("<https://a.example> and co", "met"),
            id="link-then-words",
        ),
        pytest.param("a<b: c", ("a<b", "c"), id="unclosed-bracket"),
        pytest.param("<http://acme.com>", None, id="only-a-link"),
        pytest.param(": note", None, id="no-org"),
        pytest.param("no colon here", None, id="no-colon"),
    ],
)
def test_log_line_splits_at_the_first_colon_outside_markup_when_parsed(text, expected):
    assert crm.parse_log_command(text) == expected
