"""Block Kit and wording for the weekly digests, their settings and delivery alerts."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from handlers.blocks.common import (
    EMPTY,
    MAX_FALLBACK_TEXT,
    MAX_SECTION_TEXT,
    context,
    cut,
    fit_blocks,
    header,
    section,
    user_text,
)
from handlers.escape import escape

if TYPE_CHECKING:
    from bot.digests import (
        ChannelDigest,
        ContactLine,
        DueFollowUp,
        LogLine,
        PersonalDigest,
    )
    from storage.digests import OrgActivity

WEEKDAYS = (
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
    "Sunday",
)
NOTE_PREVIEW = 200
LINES_PER_SECTION = 10
_SLACK_ID_RE = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID_RE = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_SAFE_URL_RE = re.compile(r"^https://[^\s<>|]+$")

PERSONAL_TITLE = "Your week in client relationships"
PREVIEW_TITLE = "Your digest, as of now"
CHANNEL_TITLE = "This week's client activity"
OFF_HINT = "Turn this digest off with `/rapport digest off`."
NOTHING_THIS_WEEK = "Nothing needs your attention this week."


def personal_digest_message(
    digest: PersonalDigest, *, tz: ZoneInfo, preview: bool = False, enabled: bool = True
) -> dict:
    """The DM a colleague gets (or sees now with `/rapport digest`)."""
    week = f"Week of {_day(digest.week_start)}"
    if preview:
        week = f"Preview as of {_day(digest.as_of.astimezone(tz).date())}"
        if not enabled:
            week += " · your weekly digest is off (`/rapport digest on`)"
    blocks: list[dict] = [
        header(PREVIEW_TITLE if preview else PERSONAL_TITLE),
        context(week),
    ]
    sections = [
        _list_section(
            "Follow-ups due this week",
            [_followup_line(f) for f in digest.followups],
        ),
        _list_section(
            "Going cold",
            [_cold_line(c) for c in digest.going_cold],
            note="strong over the last quarter, silent since",
        ),
        _list_section(
            "New relationships", [_new_line(c) for c in digest.new_relationships]
        ),
        _list_section(
            "Logged by colleagues on your accounts",
            [_log_line(item, tz=tz) for item in digest.colleague_logs],
        ),
    ]
    shown = [s for s in sections if s is not None]
    blocks.extend(shown or [section(NOTHING_THIS_WEEK)])
    if enabled:
        blocks.append(context(OFF_HINT))
    return {
        "text": _personal_fallback(digest, preview=preview),
        "blocks": fit_blocks(blocks, more="…more in `/rapport digest`"),
    }


def channel_digest_message(digest: ChannelDigest, *, tz: ZoneInfo) -> dict:
    """The post in the configured digest channel: team-visible facts only."""
    blocks: list[dict] = [
        header(CHANNEL_TITLE),
        context(f"Week of {_day(digest.week_start)}"),
    ]
    sections = [
        _list_section(
            "Most active organisations", [_org_line(o) for o in digest.busiest]
        ),
        _list_section(
            "New organisations", [_org_line(o) for o in digest.new_organisations]
        ),
        _list_section(
            "Logged this week", [_log_line(item, tz=tz) for item in digest.logs]
        ),
    ]
    shown = [s for s in sections if s is not None]
    blocks.extend(shown or [section("A quiet week: nothing to report.")])
    parts = [
        _count(len(digest.busiest), "active organisation"),
        _count(len(digest.new_organisations), "new organisation"),
        _count(len(digest.logs), "logged interaction"),
    ]
    text = (
        f"{CHANNEL_TITLE}: " + ", ".join(p for p in parts if p)
        if any(parts)
        else (f"{CHANNEL_TITLE}: a quiet week")
    )
    return {
        "text": cut(text, MAX_FALLBACK_TEXT),
        "blocks": fit_blocks(blocks, more="…and more"),
    }


def not_a_recipient_message(reason: str) -> dict:
    text = {
        "opted_out": (
            "You have opted out of Rapport, so there is no digest for you. "
            "`/rapport optin` turns Rapport back on."
        ),
        "not_colleague": "Digests are for colleagues with an active account.",
    }.get(
        reason,
        "I don't know you yet. Your digest will be ready once Rapport has "
        "synced the workspace.",
    )
    return {"text": text, "blocks": [section(text)]}


def digests_toggled_message(*, enabled: bool, weekday: int, hour: int) -> dict:
    when = f"{WEEKDAYS[weekday]}s at {hour:02d}:00 your time"
    if enabled:
        text = f"Weekly digest on: it arrives {when}. `/rapport digest` shows it now."
    else:
        text = (
            "Weekly digest off. Follow-up reminders still come. "
            "`/rapport digest on` turns it back on."
        )
    return {"text": text, "blocks": [section(text)]}


def delivery_alert_message(*, description: str, error: str) -> dict:
    """For admins: a scheduled message Slack refused, reported once."""
    code = re.sub(r"[^a-z0-9_]", "", error.lower()) or "unknown_error"
    text = (
        f"Rapport could not send {description}: Slack answered `{code}`. "
        "It was skipped; you will not hear about this again until it works once more."
    )
    return {"text": cut(text, MAX_FALLBACK_TEXT), "blocks": [section(text)]}


def capture_problem_message(*, mailbox: str, api: str, reason: str) -> dict:
    """For admins: a colleague whose Google data Rapport can no longer read."""
    code = re.sub(r"[^a-z0-9_ ]", "", reason.lower()) or "unknown"
    text = (
        f"Rapport cannot read the {escape(api)} of {escape(mailbox)} "
        f"(Google answered `{code}`). They are skipped while everyone else syncs; "
        "grant access again (domain-wide delegation or their own consent) to resume."
    )
    return {"text": cut(text, MAX_FALLBACK_TEXT), "blocks": [section(text)]}


def describe_personal(slack_user_id: str) -> str:
    return f"the weekly digest for {mention(slack_user_id, fallback='a colleague')}"


def describe_reminder(slack_user_id: str) -> str:
    return f"a follow-up reminder for {mention(slack_user_id, fallback='a colleague')}"


def describe_channel(channel: str) -> str:
    if _CHANNEL_ID_RE.match(channel):
        return f"the weekly digest for <#{channel}>"
    return f"the weekly digest for {escape(channel)}"


def mention(slack_user_id: str | None, *, fallback: str) -> str:
    if slack_user_id and _SLACK_ID_RE.match(slack_user_id):
        return f"<@{slack_user_id}>"
    return escape(fallback)


# Lines ----------------------------------------------------------------------------


def _list_section(title: str, lines: Sequence[str], *, note: str = "") -> dict | None:
    """A titled list cut to Slack's section limit, ending "…and N more"."""
    if not lines:
        return None
    head = f"*{title}*"
    text, shown = head, 0
    for line in lines[:LINES_PER_SECTION]:
        candidate = f"{text}\n• {line}"
        # Room is kept for the "…and N more" tail.
        if len(candidate) > MAX_SECTION_TEXT - 40:
            break
        text, shown = candidate, shown + 1
    if shown < len(lines):
        text += f"\n…and {len(lines) - shown} more"
    return section(text)


def _followup_line(item: DueFollowUp) -> str:
    org = f"*{user_text(item.org_name, limit=100)}*" if item.org_name else EMPTY
    due = (
        f"overdue since {_day(item.due_on)}"
        if item.overdue
        else f"due {_day(item.due_on)}"
    )
    note = f": {user_text(item.note, limit=NOTE_PREVIEW)}" if item.note else ""
    private = " _(only you)_" if item.private else ""
    return f"{org} · {escape(item.kind)} · {due}{note}{private}"


def _cold_line(item: ContactLine) -> str:
    org = f" ({user_text(item.org_name, limit=100)})" if item.org_name else ""
    since = f"silent since {_day(item.last.date())}" if item.last else "silent"
    return f"{user_text(item.name, limit=100)}{org} — {since}"


def _new_line(item: ContactLine) -> str:
    org = f" ({user_text(item.org_name, limit=100)})" if item.org_name else ""
    return f"{user_text(item.name, limit=100)}{org} — {escape(item.detail)}"


def _log_line(item: LogLine, *, tz: ZoneInfo) -> str:
    who = mention(item.logger_slack_id, fallback=item.logger_name or "someone")
    org = user_text(item.org_name, limit=100) if item.org_name else EMPTY
    when = _day(item.occurred_at.astimezone(tz).date())
    note = f": {user_text(item.note, limit=NOTE_PREVIEW)}" if item.note else ""
    link = ""
    if item.permalink and _SAFE_URL_RE.match(item.permalink):
        link = f" <{item.permalink}|link>"
    return f"{who} · {escape(item.kind)} with *{org}* · {when}{note}{link}"


def _org_line(item: OrgActivity) -> str:
    return (
        f"*{user_text(item.name, limit=100)}* — "
        f"{_count(item.interactions, 'interaction')} with "
        f"{_count(item.contacts, 'contact')}"
    )


def _personal_fallback(digest: PersonalDigest, *, preview: bool) -> str:
    parts = [
        _count(len(digest.followups), "follow-up"),
        _count(
            len(digest.going_cold),
            "relationship going cold",
            "relationships going cold",
        ),
        _count(len(digest.new_relationships), "new relationship"),
        _count(len(digest.colleague_logs), "colleague log"),
    ]
    found = ", ".join(p for p in parts if p)
    title = PREVIEW_TITLE if preview else PERSONAL_TITLE
    return f"{title}: {found}" if found else f"{title}: {NOTHING_THIS_WEEK}"


def _count(n: int, singular: str, plural: str | None = None) -> str:
    if not n:
        return ""
    return f"{n} {singular if n == 1 else (plural or singular + 's')}"


def _day(value: date | datetime) -> str:
    return f"{value:%a} {value.day} {value:%b}"
