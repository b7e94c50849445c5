"""Block Kit for the `/whoknows` answer: a ranking, a choice, or closest names."""

from __future__ import annotations

from bot.answer_text import answer_as_text, last_contact_text
from bot.queries import Answer, Colleague, Match
from handlers.blocks.common import (
    MAX_FALLBACK_TEXT,
    MAX_MESSAGE_BLOCKS,
    actions,
    button,
    context,
    cut,
    fit_blocks,
    header,
    section,
    user_text,
)
from handlers.escape import escape
from storage.sql import parse_row_id

CHOICE_ACTION = "whoknows_choice"
SUGGESTION_ACTION = "whoknows_suggestion"
# Header, context line and a possible "more" note around the colleague sections.
_FIXED_BLOCKS = 3
MAX_SUGGESTION_BUTTONS = 5

USAGE = (
    "*Who at the firm knows someone?* Ask about a company, a domain, an email "
    "address or a person:\n"
    "• `/whoknows Acme`\n"
    "• `/whoknows acme.com`\n"
    "• `/whoknows jane@acme.com`\n"
    "• `/whoknows Jane Doe`"
)
USAGE_TEXT = (
    "Ask about a company, a domain, an email address or a person: /whoknows Acme"
)
NOBODY_YET = "Nobody at the firm has been in touch with {name} yet."
SCORE_NOTE = "Scores run from 0 to 100: how often, how recently and both ways."
SEVERAL = "“{query}” could mean several. Pick one:"
NOTHING = "Nothing matches “{query}”."
CLOSEST = "Closest names:"
MORE = "Showing the first {shown} of {total}."
CHOICE_BUTTON = "Ask about this"


def usage_message() -> dict:
    """The reply to an empty `/whoknows`."""
    return {
        "response_type": "ephemeral",
        "text": USAGE_TEXT,
        "blocks": [section(USAGE)],
    }


def answer_message(answer: Answer) -> dict:
    """The whole ephemeral reply: blocks plus a plain-text fallback."""
    return {
        "response_type": "ephemeral",
        "text": fallback_text(answer),
        "blocks": answer_blocks(answer),
    }


def fallback_text(answer: Answer) -> str:
    """What notifications and screen readers show; escaped so it cannot ping."""
    return cut(escape(answer_as_text(answer)), MAX_FALLBACK_TEXT)


def answer_blocks(answer: Answer) -> list[dict]:
    if answer.match is not None:
        return ranking_blocks(answer)
    if answer.choices:
        return choice_blocks(answer)
    if not answer.query:
        return [section(USAGE)]
    return nothing_blocks(answer)


def ranking_blocks(answer: Answer) -> list[dict]:
    match = answer.match
    assert match is not None
    blocks = [
        header(f"Who knows {_display_name(match)}"),
        context(_match_line(match), SCORE_NOTE),
    ]
    if not answer.people:
        name = user_text(_display_name(match), limit=200)
        blocks.append(section(NOBODY_YET.format(name=name)))
        return blocks

    room = MAX_MESSAGE_BLOCKS - _FIXED_BLOCKS
    shown = answer.people[:room]
    blocks += [
        colleague_section(rank, person, match=match)
        for rank, person in enumerate(shown, start=1)
    ]
    if len(answer.people) > len(shown):
        blocks.append(context(MORE.format(shown=len(shown), total=len(answer.people))))
    return blocks


def colleague_section(rank: int, person: Colleague, *, match: Match) -> dict:
    lines = [
        f"*{rank}. {_person_ref(person)}* — *{person.score:.0f}*/100",
        user_text(person.explanation, limit=500),
        f"Last contact: {last_contact_text(person)}",
    ]
    if person.contacts and match.kind == "organisation":
        names = ", ".join(
            f"{user_text(c.name or c.email, limit=100)} ({c.score:.0f})"
            for c in person.contacts
        )
        lines.append(f"Strongest contacts: {names}")
    return section("\n".join(lines), block_id=f"colleague_{person.person_id}")


def choice_blocks(answer: Answer) -> list[dict]:
    blocks = [section(SEVERAL.format(query=user_text(answer.query, limit=500)))]
    for choice in answer.choices[: MAX_MESSAGE_BLOCKS - 1]:
        blocks.append(
            section(
                _match_line(choice),
                accessory=button(
                    CHOICE_BUTTON,
                    action_id=CHOICE_ACTION,
                    value=choice_value(choice),
                ),
            )
        )
    return fit_blocks(blocks, more="More matches left out; try a longer name.")


def nothing_blocks(answer: Answer) -> list[dict]:
    if answer.note:
        return [section(user_text(answer.note, limit=1000))]
    blocks = [section(NOTHING.format(query=user_text(answer.query, limit=500)))]
    if answer.suggestions:
        buttons = [
            button(name, action_id=f"{SUGGESTION_ACTION}_{i}", value=name)
            for i, name in enumerate(answer.suggestions[:MAX_SUGGESTION_BUTTONS])
        ]
        blocks.append(context(CLOSEST))
        blocks.append(actions(*buttons, block_id="whoknows_suggestions"))
    return blocks


def choice_value(match: Match) -> str:
    """What a choice button carries: the kind and id, never the name typed."""
    return f"{match.kind}:{match.id}"


def parse_choice_value(value: str) -> tuple[str, int] | None:
    kind, _, raw_id = value.partition(":")
    row_id = parse_row_id(raw_id)
    if kind not in ("organisation", "person") or row_id is None:
        return None
    return kind, row_id


def _person_ref(person: Colleague) -> str:
    if person.slack_user_id:
        return f"<@{person.slack_user_id}>"
    return user_text(person.name or person.email, limit=200)


def _match_line(match: Match) -> str:
    kind = "Organisation" if match.kind == "organisation" else "Person"
    name = f"*{user_text(_display_name(match), limit=200)}*"
    domains = ", ".join(escape(d) for d in match.domains[:5])
    if match.email and not domains:
        domains = escape(match.email)
    return f"{kind}: {name}" + (f" ({domains})" if domains else "")


def _display_name(match: Match) -> str:
    if match.name:
        return match.name
    return match.domains[0] if match.domains else "?"
