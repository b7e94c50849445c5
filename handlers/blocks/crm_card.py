"""Block Kit for the account card, its full lists in a modal, and one note.

Every piece of user text (notes, names, organisation names) goes through
`user_text`/`escape` before it reaches a mrkdwn field.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from bot.crm import AccountCard, ContactLine, parse_row_id
from bot.scoring import format_day
from handlers.blocks.common import (
    EMPTY,
    MAX_FALLBACK_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_MODAL_TITLE,
    MAX_SECTION_TEXT,
    MAX_VIEW_BLOCKS,
    actions,
    button,
    context,
    cut,
    header,
    plain,
    section,
    user_text,
)
from handlers.blocks.crm_ids import (
    LIST_CALLBACK,
    LIST_PAGE,
    LOG_FOR_ORG,
    NOTE_CALLBACK,
    NOTE_FOR_ORG,
    SHOW_ALL_CONTACTS,
    SHOW_ALL_FOLLOWUPS,
    SHOW_ALL_LOGS,
    SHOW_NOTE,
)
from handlers.blocks.crm_wording import (
    CARD_FALLBACK,
    FULL_NOTE,
    KIND_LABELS,
    LOG_BUTTON,
    MORE,
    NEXT,
    NO_COLLEAGUES,
    NOTE_BUTTON,
    NOTE_GONE,
    PAGE_OF,
    PREVIOUS,
    PRIVATE_MARK,
    SHOW_ALL,
)
from handlers.escape import escape
from storage.crm import FollowUp, LoggedInteraction

CARD_CONTACTS = 25
CARD_COLLEAGUES = 5
CARD_NOTE_EXCERPT = 400
CARD_FOLLOWUP_EXCERPT = 120
LOGS_PER_PAGE = 20
MAX_PAGE = 100_000

# The account card ------------------------------------------------------------------


def _day(iso_moment: str) -> str:
    return format_day(datetime.fromisoformat(iso_moment))


def take_lines(lines: list[str], *, budget: int = MAX_SECTION_TEXT - 200) -> list[str]:
    """As many whole lines as fit in `budget` characters (at least one, cut)."""
    taken: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) + 1 > budget:
            break
        taken.append(line)
        used += len(line) + 1
    if not taken and lines:
        taken.append(cut(lines[0], budget))
    return taken


def _contact_line(contact: ContactLine) -> str:
    email = f" — {escape(contact.email)}" if contact.email else ""
    line = f"• {escape(contact.name) or EMPTY}{email} · {contact.score:.0f}/100"
    return cut(line, 200)


def _log_heading(log: LoggedInteraction) -> str:
    kind = KIND_LABELS.get(log.kind, log.kind)
    who = escape(log.logger_name) or EMPTY
    private = PRIVATE_MARK if log.private else ""
    return f"*{kind}* · {_day(log.occurred_at)} · {who}{private}"


def _log_heading_lines(log: LoggedInteraction, *, org: bool = False) -> list[str]:
    lines = [_log_heading(log)]
    if org:
        lines.append(f"*{user_text(log.org_name, limit=150)}*")
    if log.contact_names:
        names = ", ".join(escape(n) for n in log.contact_names)
        lines.append("With " + cut(names, 300))
    return lines


def log_text(log: LoggedInteraction, *, excerpt: int) -> str:
    note = log.note.strip()
    body = user_text(note, limit=excerpt) if note else EMPTY
    return cut("\n".join([*_log_heading_lines(log), body]), MAX_SECTION_TEXT)


def _full_log_sections(log: LoggedInteraction, *, org: bool = False) -> list[str]:
    """The whole entry, note uncut, split over as many sections as it needs."""
    heading = "\n".join(_log_heading_lines(log, org=org))
    return split_text(heading + "\n" + (escape(log.note.strip()) or EMPTY))


def _note_was_cut(log: LoggedInteraction, excerpt: int) -> bool:
    return len(escape(log.note.strip())) > excerpt


def _followup_line(item: FollowUp) -> str:
    kind = KIND_LABELS.get(item.kind, item.kind).lower()
    private = PRIVATE_MARK if item.visibility == "private" else ""
    note = (
        user_text(item.note.strip(), limit=CARD_FOLLOWUP_EXCERPT)
        if item.note.strip()
        else EMPTY
    )
    day = format_day(date.fromisoformat(item.due_on))
    return f"• *{day}* — {escape(item.owner_name) or EMPTY} ({kind}){private}: {note}"


def card_message(card: AccountCard) -> dict:
    """The ephemeral /client answer: at most 50 blocks, each section 1–3,000 chars."""
    org = card.org
    blocks: list[dict] = [header(org.name or EMPTY)]
    domains = ", ".join(escape(d) for d in org.domains) or EMPTY
    blocks.append(
        section(
            f"*Domains:* {cut(domains, 1000)}\n"
            f"*Contacts known:* {len(card.contacts):,} · "
            f"*Logged interactions:* {card.log_count:,} · "
            f"*Open follow-ups:* {card.followup_count:,}"
        )
    )

    if card.colleagues:
        lines = [
            f"{rank}. *{escape(c.name) or EMPTY}* — {c.score:.0f}/100"
            f" — {escape(c.explanation)}"
            for rank, c in enumerate(card.colleagues[:CARD_COLLEAGUES], start=1)
        ]
        blocks.append(section("*Who knows them best*\n" + "\n".join(take_lines(lines))))
    else:
        blocks.append(section("*Who knows them best*\n" + NO_COLLEAGUES))

    lines = take_lines([_contact_line(c) for c in card.contacts[:CARD_CONTACTS]])
    text = "*Key contacts*\n" + ("\n".join(lines) if lines else EMPTY)
    rest = len(card.contacts) - len(lines)
    accessory = None
    if rest > 0:
        text += "\n" + MORE.format(count=rest)
        accessory = button(SHOW_ALL, action_id=SHOW_ALL_CONTACTS, value=str(org.id))
    blocks.append(section(text, accessory=accessory))

    rest = card.log_count - len(card.logs)
    blocks.append(
        section(
            "*Latest interactions*" + ("" if card.logs else "\n" + EMPTY),
            accessory=button(SHOW_ALL, action_id=SHOW_ALL_LOGS, value=str(org.id))
            if rest > 0
            else None,
        )
    )
    for log in card.logs:
        accessory = None
        if _note_was_cut(log, CARD_NOTE_EXCERPT):
            accessory = button(FULL_NOTE, action_id=SHOW_NOTE, value=str(log.id))
        blocks.append(
            section(log_text(log, excerpt=CARD_NOTE_EXCERPT), accessory=accessory)
        )
    if rest > 0:
        blocks.append(context(MORE.format(count=rest) + " logged interactions"))

    lines = [_followup_line(f) for f in card.followups]
    text = "*Open follow-ups*\n" + ("\n".join(take_lines(lines)) if lines else EMPTY)
    rest = card.followup_count - len(card.followups)
    accessory = None
    if rest > 0:
        text += "\n" + MORE.format(count=rest)
        accessory = button(SHOW_ALL, action_id=SHOW_ALL_FOLLOWUPS, value=str(org.id))
    blocks.append(section(cut(text, MAX_SECTION_TEXT), accessory=accessory))

    blocks.append(
        actions(
            button(
                LOG_BUTTON, action_id=LOG_FOR_ORG, value=str(org.id), style="primary"
            ),
            button(NOTE_BUTTON, action_id=NOTE_FOR_ORG, value=str(org.id)),
        )
    )
    fallback = CARD_FALLBACK.format(
        org=escape(org.name), contacts=len(card.contacts), logs=card.log_count
    )
    return {
        "response_type": "ephemeral",
        "text": cut(fallback, MAX_FALLBACK_TEXT),
        "blocks": blocks[:MAX_MESSAGE_BLOCKS],
    }


# Full lists in a modal ---------------------------------------------------------------


def split_text(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """Escaped text in pieces of at most `limit`, never cutting through an entity."""
    pieces = []
    while len(text) > limit:
        end = text.rfind("\n", 0, limit)
        if end < limit // 2:
            end = limit
            amp = text.rfind("&", end - 5, end)
            if amp != -1 and ";" not in text[amp:end]:
                end = amp
        pieces.append(text[:end])
        text = text[end:].lstrip("\n")
    pieces.append(text)
    return [p for p in pieces if p] or [EMPTY]


def list_view(
    *, title: str, sections: list[str], what: str, org_id: int, page: int, pages: int
) -> dict:
    """A modal page of a long list, with Previous/Next when there is more."""
    blocks: list[dict] = [section(text) for text in sections[: MAX_VIEW_BLOCKS - 3]]
    if pages > 1:
        blocks.append(context(PAGE_OF.format(page=page + 1, pages=pages)))
        nav = []
        if page > 0:
            nav.append(
                button(
                    PREVIOUS,
                    action_id=f"{LIST_PAGE}_prev",
                    value=_page_value(what, org_id, page - 1),
                )
            )
        if page + 1 < pages:
            nav.append(
                button(
                    NEXT,
                    action_id=f"{LIST_PAGE}_next",
                    value=_page_value(what, org_id, page + 1),
                )
            )
        blocks.append(actions(*nav))
    return {
        "type": "modal",
        "callback_id": LIST_CALLBACK,
        "title": plain(cut(title, MAX_MODAL_TITLE), limit=MAX_MODAL_TITLE),
        "close": plain("Close", limit=MAX_MODAL_TITLE),
        "private_metadata": json.dumps({"list": what, "org": org_id, "page": page}),
        "blocks": blocks,
    }


def _page_value(what: str, org_id: int, page: int) -> str:
    return f"{what}:{org_id}:{page}"


def parse_page_value(value: str) -> tuple[str, int, int] | None:
    what, _, rest = value.partition(":")
    org, _, page = rest.partition(":")
    org_id, page_number = parse_row_id(org), parse_row_id(page)
    if what not in ("contacts", "logs", "followups") or org_id is None:
        return None
    # No list has this many pages; a larger number would overflow the offset.
    if page_number is None or page_number > MAX_PAGE:
        return None
    return what, org_id, page_number


def contacts_sections(org_name: str, contacts: list[ContactLine]) -> list[str]:
    lines = [_contact_line(c) for c in contacts]
    sections = [f"*{user_text(org_name, limit=150)}* — {len(contacts):,} contacts"]
    while lines:
        taken = take_lines(lines)
        sections.append("\n".join(taken))
        lines = lines[len(taken) :]
    return sections


def logs_sections(logs: list[LoggedInteraction]) -> list[str]:
    sections: list[str] = []
    for log in logs:
        sections.extend(_full_log_sections(log))
    return sections or [EMPTY]


def followups_sections(items: list[FollowUp]) -> list[str]:
    lines = [_followup_line(f) for f in items]
    sections = []
    while lines:
        taken = take_lines(lines)
        sections.append("\n".join(taken))
        lines = lines[len(taken) :]
    return sections or [EMPTY]


def page_count(total: int, size: int) -> int:
    return max(1, -(-total // size))


def note_view(log: LoggedInteraction | None) -> dict:
    sections = [NOTE_GONE] if log is None else _full_log_sections(log, org=True)
    return {
        "type": "modal",
        "callback_id": NOTE_CALLBACK,
        "title": plain("Note", limit=MAX_MODAL_TITLE),
        "close": plain("Close", limit=MAX_MODAL_TITLE),
        "blocks": [section(t) for t in sections[:MAX_VIEW_BLOCKS]],
    }
