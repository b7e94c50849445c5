"""Block Kit for the Log interaction modal: loading view, form, errors, options."""

from __future__ import annotations

import json

from bot.crm import NOTE_MAX
from bot.queries import Match
from handlers.blocks.common import (
    MAX_MODAL_TITLE,
    MAX_OPTION_TEXT,
    MAX_VIEW_BLOCKS,
    context,
    cut,
    option,
    plain,
    section,
)
from handlers.blocks.crm_ids import (
    CONTACTS_ACTION,
    CONTACTS_BLOCK,
    DATE_BLOCK,
    FOLLOWUP_BLOCK,
    FORM_CALLBACK,
    KIND_BLOCK,
    LOADING_CALLBACK,
    NOTE_BLOCK,
    ORG_ACTION,
    ORG_BLOCK,
    VISIBILITY_BLOCK,
)
from handlers.blocks.crm_wording import (
    CLOSE,
    ERRORS,
    FORM_TITLE,
    KIND_LABELS,
    LOADING_TEXT,
    LOADING_TITLE,
    LOOKUP_FAILED,
    NEW_ORG_OPTION,
    NOTE_CUT_HINT,
    SUBMIT,
)
from storage.drafts import Draft

NEW_ORG_PREFIX = "new:"


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
