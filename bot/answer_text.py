"""The plain-text form of a who-knows answer (terminal and Slack fallback text)."""

from __future__ import annotations

from bot.queries import Answer, Match
from bot.scoring import format_day


def answer_as_text(answer: Answer) -> str:
    if answer.match is None:
        return no_match_text(answer)
    lines = [f"Who knows {match_label(answer.match)}:"]
    if not answer.people:
        lines.append("  Nobody at the firm has been in touch yet.")
    for rank, person in enumerate(answer.people, start=1):
        who = f"{person.name} <{person.email}>" if person.email else person.name
        lines.append(f"{rank}. {who} — {person.score:.0f}/100")
        lines.append(f"   {person.explanation}")
        if person.contacts and answer.match.kind == "organisation":
            names = "; ".join(f"{c.name} ({c.score:.0f})" for c in person.contacts)
            lines.append(f"   strongest contacts: {names}")
    return "\n".join(lines)


def no_match_text(answer: Answer) -> str:
    if answer.note:
        return answer.note
    if answer.choices:
        options = "; ".join(match_label(m) for m in answer.choices)
        return f"“{answer.query}” could mean several: {options}. Try one of them."
    if not answer.query:
        return "Ask about a company, a domain, an email address or a person."
    hint = ""
    if answer.suggestions:
        hint = " Closest names: " + "; ".join(answer.suggestions) + "."
    return f"Nothing matches “{answer.query}”.{hint}"


def match_label(match: Match) -> str:
    """A name plus what tells it apart: domains, or an address for a person."""
    if match.domains:
        return f"{match.name} ({', '.join(match.domains)})"
    if match.email:
        return f"{match.name} <{match.email}>"
    return match.name


def last_contact_text(answer_person) -> str:
    return format_day(answer_person.last_contact) if answer_person.last_contact else "—"
