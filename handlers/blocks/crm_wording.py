"""User-facing wording of the CRM: the log form, confirmations, cards and lists."""

from __future__ import annotations

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
