"""The plain-text form of a who-knows answer (terminal and Slack fallback text)."""

from __future__ import annotations

from bot.queries import Answer
from bot.scoring import format_day


def answer_as_text(answer: Answer) -> str:
    if answer.match is None:
        return no_match_text(answer)
    match = answer.match
    where = f" ({', '.join(match.domains)})" if match.domains else ""
    lines = [f"Who knows {match.name}{where}:"]
    if not answer.people:
        lines.append("  Nobody at the firm has been in touch yet.")
    for rank, person in enumerate(answer.people, start=1):
        lines.append(f"{rank}. {person.name} — {person.score:.0f}/100")
        lines.append(f"   {person.explanation}")
        if person.contacts and match.kind == "organisation":
            names = ", ".join(f"{c.name} ({c.score:.0f})" for c in person.contacts)
            lines.append(f"   strongest contacts: {names}")
    return "\n".join(lines)


def no_match_text(answer: Answer) -> str:
    if answer.choices:
        options = "; ".join(
            f"{m.name} ({', '.join(m.domains)})" if m.domains else m.name
            for m in answer.choices
        )
        return f"“{answer.query}” could mean several: {options}. Try one of them."
    if not answer.query:
        return "Ask about a company, a domain, an email address or a person."
    hint = ""
    if answer.suggestions:
        hint = " Closest names: " + ", ".join(answer.suggestions) + "."
    return f"Nothing matches “{answer.query}”.{hint}"


def last_contact_text(answer_person) -> str:
    return format_day(answer_person.last_contact) if answer_person.last_contact else "—"
