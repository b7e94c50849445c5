"""Block Kit for `/rapport help` and the replies of `/rapport` subcommands."""

from __future__ import annotations

from handlers.blocks.common import context, section

COMMANDS = (
    (
        "/whoknows Acme",
        "Who at the firm knows a company, a domain, an email or a person.",
    ),
    ("/client Acme", "The account card: contacts, who knows them, logs, follow-ups."),
    ("/log acme: call with the GC about the renewal", "Log a note in one line."),
    ("/log", "Open the form to log a call, meeting, email or note."),
    ("/rapport digest", "Preview your weekly digest now."),
    ("/rapport digest off", "Stop your weekly digests (`on` starts them again)."),
    ("/rapport optout", "Leave Rapport: your captured connections are deleted."),
    ("/rapport optin", "Come back: new mail and meetings count again."),
    ("/rapport help", "This list."),
)
SHORTCUTS = (
    "*Shortcuts:* “Log interaction” in any message’s ⋯ menu logs that message; "
    "the same name in the ⚡ shortcuts menu opens an empty form. "
    "The *Home* tab shows your relationships, logs and follow-ups."
)
PRIVACY = (
    "Rapport reads who wrote to whom and when, never what was written. "
    "Entries logged as “Only me” are shown to nobody else."
)
HELP_TEXT = "Rapport commands: " + "; ".join(f"{c} ({d})" for c, d in COMMANDS)

UNKNOWN_SUBCOMMAND = "Rapport has no `{word}` command. Here is what it can do:"
OPTED_OUT = (
    "You are opted out. Rapport deleted {count:,} captured connections of yours "
    "and will not read your mail or calendar. `/rapport optin` undoes this."
)
ALREADY_OUT = "You were already opted out; nothing more to delete."
OPTED_IN = "Welcome back: new mail, meetings and Slack activity count again."
NOT_OUT = "You are not opted out, so there is nothing to undo."
NO_PROFILE = "Rapport could not find your Slack profile; nothing was changed."
DIGESTS_ON = "Weekly digests are on."
DIGESTS_OFF = "Weekly digests are off. `/rapport digest on` starts them again."
DIGEST_USAGE = "Use `/rapport digest` to preview, or `/rapport digest on|off`."
DIGESTS_UNAVAILABLE = "Digests are not available in this installation yet."
EMPTY_DIGEST = "Your digest is empty this week."


def help_message(intro: str | None = None) -> dict:
    lines = "\n".join(f"• `{command}` — {text}" for command, text in COMMANDS)
    blocks = []
    if intro:
        blocks.append(section(intro))
    blocks += [
        section("*Rapport commands*\n" + lines),
        section(SHORTCUTS),
        context(PRIVACY),
    ]
    return {"response_type": "ephemeral", "text": HELP_TEXT, "blocks": blocks}


def reply(text: str) -> dict:
    return {"response_type": "ephemeral", "text": text, "blocks": [section(text)]}
