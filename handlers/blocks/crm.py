"""Block Kit for the CRM: the log form, confirmations, account cards, full lists.

Every piece of user text (notes, names, organisation names) goes through
`user_text`/`escape` before it reaches a mrkdwn field; plain_text fields are
shown as typed by Slack and are only cut to length.
"""

from __future__ import annotations

import json
from datetime import date, datetime

from bot.crm import NOTE_MAX, AccountCard, ContactLine, LogResult, parse_row_id
from bot.queries import Match
from bot.scoring import format_day
from handlers.blocks.common import (
    EMPTY,
    MAX_FALLBACK_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_MODAL_TITLE,
    MAX_OPTION_TEXT,
    MAX_SECTION_TEXT,
    MAX_VIEW_BLOCKS,
    actions,
    button,
    context,
    cut,
    header,
    option,
    plain,
    section,
    user_text,
)
from handlers.escape import escape
from storage.crm import FollowUp, LoggedInteraction
from storage.drafts import Draft

# Callback and action ids (the shortcut ids are also in manifest.yml).
MESSAGE_SHORTCUT = "log_interaction_message"
GLOBAL_SHORTCUT = "log_interaction_global"
FORM_CALLBACK = "crm_log_form"
LOADING_CALLBACK = "crm_log_loading"
LIST_CALLBACK = "crm_list"
NOTE_CALLBACK = "crm_note"
ORG_ACTION = "crm_org"
CONTACTS_ACTION = "crm_contacts"
LOG_FOR_ORG = "crm_log_for_org"
NOTE_FOR_ORG = "crm_note_for_org"
SHOW_CARD = "crm_show_card"
PICK_CARD = "crm_pick_card"
PICK_LOG_ORG = "crm_pick_log_org"
SHOW_ALL_CONTACTS = "crm_all_contacts"
SHOW_ALL_LOGS = "crm_all_logs"
SHOW_ALL_FOLLOWUPS = "crm_all_followups"
SHOW_NOTE = "crm_show_note"
LIST_PAGE = "crm_list_page"

# Form fields: block ids double as the keys of response_action errors.
ORG_BLOCK = "org"
CONTACTS_BLOCK = "contacts"
KIND_BLOCK = "kind"
DATE_BLOCK = "date"
NOTE_BLOCK = "note"
FOLLOWUP_BLOCK = "followup"
VISIBILITY_BLOCK = "visibility"

CARD_CONTACTS = 25
CARD_COLLEAGUES = 5
CARD_NOTE_EXCERPT = 400
CARD_FOLLOWUP_EXCERPT = 120
LOGS_PER_PAGE = 20
MAX_PAGE = 100_000
NEW_ORG_PREFIX = "new:"

# Wording --------------------------------------------------------------------------

FORM_TITLE = "Log interaction"
NOTE_TITLE = "Add note"
LOADING_TITLE = "Log interaction"
SUBMIT = "Log it"
CLOSE = "Cancel"
LOADING_TEXT = ":hourglass_flowing_sand: Reading the message and the people on it…"
LOOKUP_FAILED = (
    ":warning: Rapport could not prepare this form: looking up the message and "
    "its people failed. Close this window and try the shortcut again in a minute."
)
KIND_LABELS = {
    "call": "Call",
    "meeting": "Meeting",
    "email": "Email",
    "note": "Note",
    "other": "Other",
}
VISIBILITY_LABELS = {"team": "Team", "private": "Only me"}
ERRORS = {
    "org_missing": (
        "Choose an organisation, or type a new name and pick “New organisation”."
    ),
    "org_gone": "That organisation no longer exists; pick another.",
    "kind_missing": "Pick what kind of interaction it was.",
    "date_missing": "Pick the date it happened.",
    "date_format": "Use a date like 2025-03-10.",
    "date_future": (
        "That date is in the future. Log what happened, and set a follow-up"
        " for what comes next."
    ),
    "followup_past": "Pick a follow-up date from today on.",
    "note_too_long": "Keep the note to 3,000 characters; this one has {length:,}.",
    "visibility_missing": "Choose who can see this entry.",
    "draft_gone": "This form has expired. Close it and start again.",
}
NOTE_CUT_HINT = (
    "The message is longer than {limit:,} characters: the note holds its start, "
    "and the saved link keeps the whole message."
)
LOG_USAGE = (
    "Log a note in one line: `/log ORG: what happened`, e.g. "
    "`/log acme: call with the GC about the renewal`. "
    "Type `/log` alone to open the form."
)
NEW_ORG_OPTION = "New organisation: {name}"
UNKNOWN_USER = "Rapport could not find your Slack profile, so nothing was logged."
ORG_SEVERAL = "“{query}” could mean several organisations. Pick one:"
ORG_NONE = "No organisation matches “{query}”."
ORG_CLOSEST = "Closest organisations:"
LOG_NEW_ORG_BUTTON = "New: {name}"
LOGGED = "Logged {kind} with *{org}* on {day}{private}."
LOGGED_PRIVATE = " (only you can see it)"
LOGGED_NO_ORG = "Logged {kind} on {day}{private}."
ALREADY_LOGGED = "That one is already logged."
SHOW_CARD_BUTTON = "Open {org}’s card"
CARD_FALLBACK = "{org}: {contacts} contacts, {logs} logged interactions"
NO_COLLEAGUES = "Nobody at the firm has been in touch yet."
MORE = "…and {count:,} more"
SHOW_ALL = "Show all"
FULL_NOTE = "Full note"
LOG_BUTTON = "Log interaction"
NOTE_BUTTON = "Add note"
PRIVATE_MARK = " · :lock: only you"
NOTE_GONE = "That note is not available."
PREVIOUS = "Previous"
NEXT = "Next"
PAGE_OF = "Page {page} of {pages}"


# The log form ---------------------------------------------------------------------


def metadata(draft_id: str) -> str:
    """private_metadata: only a reference to the draft, never its content."""
    return json.dumps({"draft": draft_id}, separators=(",", ":"))


def draft_id_from(view: dict) -> str | None:
    metadata = view.get("private_metadata")
    if not isinstance(metadata, str) or not metadata:
        return None
    try:
        found = json.loads(metadata)
    except (ValueError, RecursionError):
        return None
    value = found.get("draft") if isinstance(found, dict) else None
    return value if isinstance(value, str) else None


def loading_view() -> dict:
    return {
        "type": "modal",
        "callback_id": LOADING_CALLBACK,
        "title": plain(LOADING_TITLE, limit=MAX_MODAL_TITLE),
        "close": plain(CLOSE, limit=MAX_MODAL_TITLE),
        "blocks": [section(LOADING_TEXT)],
    }


def failed_view() -> dict:
    return {
        "type": "modal",
        "callback_id": LOADING_CALLBACK,
        "title": plain(LOADING_TITLE, limit=MAX_MODAL_TITLE),
        "close": plain("Close", limit=MAX_MODAL_TITLE),
        "blocks": [section(LOOKUP_FAILED)],
    }


def org_label(name: str, domains: list[str] | tuple[str, ...] = ()) -> str:
    label = f"{name} ({', '.join(domains[:2])})" if domains else name
    return cut(label, MAX_OPTION_TEXT)


def org_option(
    org_id: int, name: str, domains: list[str] | tuple[str, ...] = ()
) -> dict:
    return option(org_label(name, domains), f"org:{org_id}")


def new_org_option(typed: str) -> dict:
    name = " ".join(typed.split())[:100]
    return option(NEW_ORG_OPTION.format(name=name), NEW_ORG_PREFIX + name)


def org_options(matches: list[Match], typed: str) -> list[dict]:
    """Options for the organisation select: matches, then "new" for what was typed."""
    options = [org_option(m.id, m.name, m.domains) for m in matches[:99]]
    typed = " ".join(typed.split())
    exact = any(m.name.lower() == typed.lower() for m in matches)
    if typed and not exact:
        options.append(new_org_option(typed))
    return options[:100]


def contact_options(found: list[tuple[str, str]]) -> list[dict]:
    return [option(label, ref) for ref, label in found[:100]]


def _candidate_label(candidate: dict) -> str:
    label = candidate.get("label") or "?"
    if candidate.get("org"):
        label = f"{label} ({candidate['org']})"
    elif not candidate.get("outside"):
        label = f"{label} (colleague)"
    return cut(label, MAX_OPTION_TEXT)


def log_form_view(draft: Draft, *, title: str = FORM_TITLE) -> dict:
    """The modal: organisation, contacts, kind, date, note, follow-up, visibility."""
    data = draft.data
    blocks: list[dict] = []
    if data.get("permalink"):
        blocks.append(
            context(f"<{data['permalink']}|The message> is linked to this entry.")
        )
    note = data.get("note") or ""
    if len(note) > NOTE_MAX:
        blocks.append(context(NOTE_CUT_HINT.format(limit=NOTE_MAX)))

    org_element: dict = {
        "type": "external_select",
        "action_id": ORG_ACTION,
        "min_query_length": 0,
        "placeholder": plain("Type a name", emoji=False),
    }
    if data.get("org"):
        org = data["org"]
        org_element["initial_option"] = org_option(
            org["id"], org["name"], org.get("domains") or []
        )
    blocks.append(
        _input(
            ORG_BLOCK,
            "Organisation",
            org_element,
            hint="Not listed? Type its name and pick “New organisation”.",
        )
    )
    blocks.append(
        _input(CONTACTS_BLOCK, "Contacts", _contacts_element(data), optional=True)
    )
    kind = data.get("kind") or "call"
    blocks.append(
        _input(
            KIND_BLOCK,
            "Kind",
            {
                "type": "static_select",
                "action_id": KIND_BLOCK,
                "options": [option(v, k) for k, v in KIND_LABELS.items()],
                "initial_option": option(KIND_LABELS.get(kind, "Call"), kind),
            },
        )
    )
    blocks.append(
        _input(
            DATE_BLOCK,
            "Date",
            {
                "type": "datepicker",
                "action_id": DATE_BLOCK,
                "initial_date": data.get("occurred_on"),
            },
        )
    )
    note_element: dict = {
        "type": "plain_text_input",
        "action_id": NOTE_BLOCK,
        "multiline": True,
        "max_length": NOTE_MAX,
    }
    if note:
        note_element["initial_value"] = cut(note, NOTE_MAX)
    blocks.append(_input(NOTE_BLOCK, "Note", note_element, optional=True))
    blocks.append(
        _input(
            FOLLOWUP_BLOCK,
            "Follow up on",
            {"type": "datepicker", "action_id": FOLLOWUP_BLOCK},
            optional=True,
        )
    )
    team = option("Team", "team")
    blocks.append(
        _input(
            VISIBILITY_BLOCK,
            "Who can see it",
            {
                "type": "radio_buttons",
                "action_id": VISIBILITY_BLOCK,
                "options": [team, option("Only me", "private")],
                "initial_option": team,
            },
        )
    )
    return {
        "type": "modal",
        "callback_id": FORM_CALLBACK,
        "title": plain(title, limit=MAX_MODAL_TITLE),
        "submit": plain(SUBMIT, limit=MAX_MODAL_TITLE),
        "close": plain(CLOSE, limit=MAX_MODAL_TITLE),
        "private_metadata": metadata(draft.id),
        # Closing the form without logging deletes the draft and its text.
        "notify_on_close": True,
        "blocks": blocks[:MAX_VIEW_BLOCKS],
    }


def _contacts_element(data: dict) -> dict:
    candidates = data.get("candidates") or []
    if not candidates:
        return {
            "type": "multi_external_select",
            "action_id": CONTACTS_ACTION,
            "min_query_length": 1,
            "placeholder": plain("Type a name", emoji=False),
        }
    options = [option(_candidate_label(c), c["ref"]) for c in candidates[:100]]
    by_ref = {o["value"]: o for o in options}
    element: dict = {
        "type": "multi_static_select",
        "action_id": CONTACTS_ACTION,
        "options": options,
        "placeholder": plain("Who was there", emoji=False),
    }
    initial = [by_ref[r] for r in data.get("selected") or [] if r in by_ref]
    if initial:
        element["initial_options"] = initial
    return element


def _input(
    block_id: str, label: str, element: dict, *, optional: bool = False, hint: str = ""
) -> dict:
    block = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, limit=2000),
        "element": element,
        "optional": optional,
    }
    if hint:
        block["hint"] = plain(hint, limit=2000)
    return block


def form_errors(codes: dict[str, str], *, note_length: int = 0) -> dict[str, str]:
    """response_action errors: block id → sentence."""
    return {
        block: ERRORS.get(code, code).format(length=note_length)
        for block, code in codes.items()
    }


# Confirmations and choices ------------------------------------------------------------


def _day(iso_moment: str) -> str:
    return format_day(datetime.fromisoformat(iso_moment))


def logged_message(result: LogResult) -> dict:
    private = LOGGED_PRIVATE if result.visibility == "private" else ""
    kind = KIND_LABELS.get(result.kind, result.kind).lower()
    kind = (
        "a note" if kind == "note" else f"a {kind}" if kind != "email" else "an email"
    )
    day = _day(result.occurred_at)
    if result.org_name:
        text = LOGGED.format(
            kind=kind, org=escape(result.org_name), day=day, private=private
        )
    else:
        text = LOGGED_NO_ORG.format(kind=kind, day=day, private=private)
    blocks: list[dict] = [section(":white_check_mark: " + text)]
    if result.org_id is not None and result.org_name:
        blocks.append(
            actions(
                button(
                    cut(SHOW_CARD_BUTTON.format(org=result.org_name), 75),
                    action_id=SHOW_CARD,
                    value=str(result.org_id),
                )
            )
        )
    return {"text": cut(text, MAX_FALLBACK_TEXT), "blocks": blocks}


def org_choices_message(
    query: str,
    choices: tuple[Match, ...],
    *,
    action_id: str,
    value_prefix: str = "",
    new_org_value: str | None = None,
) -> dict:
    """The answer to an unknown or ambiguous organisation: choices, not a guess."""
    if len(choices) > 1:
        intro = ORG_SEVERAL.format(query=escape(query))
    elif choices:
        intro = ORG_NONE.format(query=escape(query)) + " " + ORG_CLOSEST
    else:
        intro = ORG_NONE.format(query=escape(query))
    buttons = [
        button(
            org_label(m.name, m.domains),
            action_id=f"{action_id}_{i}",
            value=f"{value_prefix}org:{m.id}",
        )
        for i, m in enumerate(choices[:5])
    ]
    if new_org_value is not None:
        name = " ".join(query.split())
        buttons.append(
            button(
                cut(LOG_NEW_ORG_BUTTON.format(name=name), 75),
                action_id=f"{action_id}_new",
                value=new_org_value,
            )
        )
    blocks = [section(intro)]
    if buttons:
        blocks.append(actions(*buttons))
    return {
        "response_type": "ephemeral",
        "text": cut(intro, MAX_FALLBACK_TEXT),
        "blocks": blocks,
    }


def log_usage_message() -> dict:
    return {
        "response_type": "ephemeral",
        "text": LOG_USAGE,
        "blocks": [section(LOG_USAGE)],
    }


def text_message(text: str) -> dict:
    return {"response_type": "ephemeral", "text": text, "blocks": [section(text)]}


# The account card ------------------------------------------------------------------


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
