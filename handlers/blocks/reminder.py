"""Block Kit and wording for follow-up reminders and what their buttons answer."""

from __future__ import annotations

from datetime import date

from handlers.blocks.common import (
    EMPTY,
    MAX_FALLBACK_TEXT,
    actions,
    button,
    context,
    cut,
    section,
    user_text,
)
from handlers.escape import escape

DONE_ACTION = "reminder_done"
SNOOZE_ACTION = "reminder_snooze"
LOG_ACTION = "reminder_log"
BLOCK_ID = "reminder_actions"
NOTE_LIMIT = 1500


def reminder_message(
    *,
    followup_id: int,
    due_on: date,
    org_id: int | None,
    org_name: str | None,
    kind: str,
    note: str,
    private: bool,
) -> dict:
    """The 9:00 DM: what to follow up, and Done / Snooze a week / Log interaction."""
    org = user_text(org_name, limit=150) if org_name else EMPTY
    lines = [
        f"*Follow-up due today* with *{org}* ({escape(kind)}, set for {_day(due_on)})"
    ]
    if note:
        lines.append(f">{user_text(note, limit=NOTE_LIMIT)}".replace("\n", "\n>"))
    blocks = [section("\n".join(lines))]
    if private:
        blocks.append(context("Only you can see this entry."))
    blocks.append(
        actions(
            button(
                "Done", action_id=DONE_ACTION, value=str(followup_id), style="primary"
            ),
            button("Snooze a week", action_id=SNOOZE_ACTION, value=str(followup_id)),
            button(
                "Log interaction",
                action_id=LOG_ACTION,
                value=f"{followup_id}:{org_id if org_id is not None else ''}",
            ),
            block_id=BLOCK_ID,
        )
    )
    # The notification shows this text: the organisation is named, the note is not.
    fallback = f"Follow-up due today with {escape(org_name) or 'a client'}"
    return {"text": cut(fallback, MAX_FALLBACK_TEXT), "blocks": blocks}


def done_message(*, org_name: str | None) -> dict:
    org = user_text(org_name, limit=150) if org_name else "this client"
    text = f":white_check_mark: Follow-up with *{org}* marked done."
    return {"text": text, "blocks": [section(text)]}


def snoozed_message(*, org_name: str | None, until: date) -> dict:
    org = user_text(org_name, limit=150) if org_name else "this client"
    text = f":zzz: Follow-up with *{org}* snoozed until {_day(until)}."
    return {"text": text, "blocks": [section(text)]}


def not_allowed_message() -> dict:
    text = "That follow-up is already closed, or it is not yours to change."
    return {"text": text, "blocks": [section(text)]}


def _day(value: date) -> str:
    return f"{value:%a} {value.day} {value:%b}"
