"""Block Kit for the App Home tab: relationships, recent logs, follow-ups, how-to."""

from __future__ import annotations

from datetime import date

from bot.crm import HomeData
from bot.scoring import format_day
from handlers.blocks.common import (
    EMPTY,
    MAX_VIEW_BLOCKS,
    actions,
    button,
    context,
    divider,
    header,
    section,
    user_text,
)
from handlers.blocks.crm import KIND_LABELS, MORE, PRIVATE_MARK, log_text, take_lines
from handlers.escape import escape

HOME_LOG = "home_log_interaction"
FOLLOWUP_DONE = "crm_followup_done"
FOLLOWUP_SNOOZE = "crm_followup_snooze"
HOME_NOTE_EXCERPT = 300

TITLE = "Rapport"
UNKNOWN = (
    "Rapport does not know you yet: once your mail, meetings or Slack are "
    "captured, or you log an interaction, your relationships show here."
)
STRONGEST = "*Your strongest outside relationships*"
NO_STRONGEST = "None yet."
RECENT = "*Your recent logs*"
NO_RECENT = "You have not logged anything yet."
FOLLOWUPS = "*Your follow-ups due this week*"
NO_FOLLOWUPS = "Nothing due. Nice."
DONE = "Done"
SNOOZE = "Snooze a week"
LOG = "Log interaction"
HOW_TO = (
    "*How to use Rapport*\n"
    "• `/whoknows Acme`: who at the firm knows a company, domain or person\n"
    "• `/client Acme`: the account card for an organisation\n"
    "• `/log acme: call with the GC about the renewal`: log a note in one line\n"
    "• *Log interaction* in any message's ⋯ menu: log it with the message\n"
    "• `/rapport help`: every command; `/rapport optout` to leave"
)
FOLLOWUP_LINE = "*{day}* · {kind} · *{org}*{private}\n{note}"


def home_view(data: HomeData) -> dict:
    blocks: list[dict] = [header(TITLE)]
    blocks.append(actions(button(LOG, action_id=HOME_LOG, style="primary")))
    if data.person_id is None:
        blocks.append(section(UNKNOWN))
    else:
        blocks.extend(_strongest(data))
        blocks.append(divider())
        blocks.extend(_recent(data))
        blocks.append(divider())
        blocks.extend(_followups(data))
    blocks.append(divider())
    blocks.append(section(HOW_TO))
    return {"type": "home", "blocks": blocks[:MAX_VIEW_BLOCKS]}


def _strongest(data: HomeData) -> list[dict]:
    lines = []
    for contact in data.strongest:
        org = f" ({escape(contact.org_name)})" if contact.org_name else ""
        lines.append(
            f"• *{escape(contact.name) or EMPTY}*{org} — {contact.score:.0f}/100"
            f" — {escape(contact.explanation)}"
        )
    body = "\n".join(take_lines(lines)) if lines else NO_STRONGEST
    return [section(f"{STRONGEST}\n{body}")]


def _recent(data: HomeData) -> list[dict]:
    if not data.recent_logs:
        return [section(f"{RECENT}\n{NO_RECENT}")]
    blocks = [section(RECENT)]
    for log in data.recent_logs:
        org = user_text(log.org_name, limit=150)
        blocks.append(section(f"*{org}*\n" + log_text(log, excerpt=HOME_NOTE_EXCERPT)))
    return blocks


def _followups(data: HomeData) -> list[dict]:
    if not data.followups:
        return [section(f"{FOLLOWUPS}\n{NO_FOLLOWUPS}")]
    blocks = [section(FOLLOWUPS)]
    for item in data.followups:
        note = item.note.strip()
        text = FOLLOWUP_LINE.format(
            day=format_day(date.fromisoformat(item.due_on)),
            kind=KIND_LABELS.get(item.kind, item.kind),
            org=user_text(item.org_name, limit=150),
            private=PRIVATE_MARK if item.visibility == "private" else "",
            note=user_text(note, limit=HOME_NOTE_EXCERPT) if note else EMPTY,
        )
        blocks.append(section(text))
        blocks.append(
            actions(
                button(DONE, action_id=FOLLOWUP_DONE, value=str(item.id)),
                button(SNOOZE, action_id=FOLLOWUP_SNOOZE, value=str(item.id)),
            )
        )
    rest = data.followup_count - len(data.followups)
    if rest > 0:
        blocks.append(context(MORE.format(count=rest)))
    return blocks
