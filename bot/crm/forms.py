"""The log form: /log text, mentions and dates, `FormValues`, checks and drafts.

Parsing a /log command and a message's mentions, validating a submitted form
(`validate_form`, and `check_form` with the database), and the drafts that
prefill the form from a message shortcut or for an account card.
"""

from __future__ import annotations

import inspect
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import aiosqlite

from bot.crm.cards import org_contacts
from bot.crm.people import MAX_CANDIDATES, UsersInfo, _candidates_for_users
from bot.services import Services
from storage import crm as store
from storage import drafts as draft_store
from storage.connection import transaction
from storage.sql import parse_row_id

logger = logging.getLogger(__name__)

# services.extras key: an optional callable (sync or async) run while a message
# shortcut's form is prepared; tests make it slow or make it fail.
LOOKUP_HOOK = "crm_lookup_hook"

NOTE_MAX = 3000
MAX_PRESELECTED = 10
# Dates a day ahead are allowed: the user's "today" may be UTC's tomorrow.
DATE_SLACK = timedelta(days=1)

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Slack's markup in slash command text: <http://…|label>, <@U…>, <#C…|name>.
_MARKUP_RE = re.compile(r"<[^<>]*>")

Permalink = Callable[[], Awaitable[str | None]]


@dataclass(frozen=True, slots=True)
class FormValues:
    """What a submitted log form holds, parsed out of the view state."""

    org: str | None  # "org:<id>" or "new:<name>"
    kind: str | None
    occurred_on: str | None  # YYYY-MM-DD
    note: str
    followup_on: str | None
    visibility: str
    contacts: tuple[str, ...] = ()  # refs: "p:<person id>" or "u:<Slack user id>"


def parse_log_command(text: str) -> tuple[str, str] | None:
    """`acme: call with the GC` → ("acme", "call with the GC"); None without a colon.

    The first colon outside Slack's `<…>` markup splits: a link such as
    `<http://acme.com|acme.com>` in the organisation holds colons of its own.
    """
    position = 0
    for markup in _MARKUP_RE.finditer(text):
        colon = text.find(":", position, markup.start())
        if colon >= 0:
            break
        position = markup.end()
    else:
        colon = text.find(":", position)
    if colon < 0:
        return None
    org = " ".join(text[:colon].split())
    if not org:
        return None
    return org, text[colon + 1 :].strip()


def mentioned_users(text: str) -> list[str]:
    """Slack user ids mentioned as `<@U…>` in message text, first mention first."""
    return list(dict.fromkeys(_MENTION_RE.findall(text or "")))


def parse_day(text: str | None) -> date | None:
    if not text or not _DATE_RE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def validate_form(values: FormValues, *, today: date) -> dict[str, str]:
    """Error codes by form field; empty when the form can be logged."""
    errors: dict[str, str] = {}
    if not values.org:
        errors["org"] = "org_missing"
    elif values.org.startswith("new:"):
        if not " ".join(values.org[4:].split()):
            errors["org"] = "org_missing"
    elif not _org_id(values.org):
        errors["org"] = "org_missing"
    if values.kind not in store.KINDS:
        errors["kind"] = "kind_missing"
    occurred = parse_day(values.occurred_on)
    if values.occurred_on and occurred is None:
        errors["date"] = "date_format"
    elif occurred is None:
        errors["date"] = "date_missing"
    elif occurred > today + DATE_SLACK:
        errors["date"] = "date_future"
    if values.followup_on:
        followup = parse_day(values.followup_on)
        if followup is None:
            errors["followup"] = "date_format"
        elif followup < today - DATE_SLACK:
            errors["followup"] = "followup_past"
    if len(values.note) > NOTE_MAX:
        errors["note"] = "note_too_long"
    if values.visibility not in store.VISIBILITIES:
        errors["visibility"] = "visibility_missing"
    return errors


def _org_id(ref: str | None) -> int | None:
    if ref and ref.startswith("org:"):
        return parse_row_id(ref[4:])
    return None


async def _run_hook(services: Services) -> None:
    hook = services.extras.get(LOOKUP_HOOK)
    if hook is None:
        return
    result = hook()
    if inspect.isawaitable(result):
        await result


async def draft_from_message(
    services: Services,
    *,
    slack_user_id: str,
    team_id: str | None,
    channel_id: str | None,
    message: dict,
    users_info: UsersInfo,
    permalink: Permalink,
) -> draft_store.Draft:
    """Prepare the log form for a message: note, date, link and contact suggestions.

    This is the slow part of the message shortcut (a users.info call per
    unknown person); it runs after the modal is already open.
    """
    await _run_hook(services)
    text = str(message.get("text") or "")
    author = str(message.get("user") or "")
    wanted = [u for u in [author, *mentioned_users(text)] if u and u != slack_user_id]
    candidates = await _candidates_for_users(
        services, wanted, users_info=users_info, team_id=team_id
    )
    link = await _best_effort(permalink)

    when = _message_time(message.get("ts")) or services.clock()
    org = await _guess_org(services.db, candidates)
    data = {
        "source": "message",
        "note": text,
        "occurred_on": when.date().isoformat(),
        "occurred_at": store.iso(when),
        "permalink": link,
        "channel": channel_id,
        "message_ts": message.get("ts"),
        "org": org,
        "kind": "call",
        "candidates": candidates,
        "selected": [c["ref"] for c in candidates if c["outside"]][:MAX_PRESELECTED],
        "team_id": team_id,
    }
    async with transaction(services.db):
        return await draft_store.create_draft(
            services.db, slack_user_id=slack_user_id, data=data, now=services.clock()
        )


async def draft_for_form(
    services: Services,
    *,
    slack_user_id: str,
    team_id: str | None,
    org_id: int | None = None,
    kind: str = "call",
    note: str = "",
    source: str = "global",
) -> draft_store.Draft:
    """An empty form, or one opened from an account card for its organisation."""
    org = None
    candidates: list[dict] = []
    if org_id is not None:
        found = await store.get_organisation(services.db, org_id)
        if found is not None:
            org = {"id": found.id, "name": found.name, "domains": list(found.domains)}
            graph, _ = await services.graphs.current()
            candidates = [
                {"ref": f"p:{c.person_id}", "label": c.name, "outside": True}
                for c in org_contacts(graph, org_id)[:MAX_CANDIDATES]
            ]
    now = services.clock()
    data = {
        "source": source,
        "note": note,
        "occurred_on": now.date().isoformat(),
        "occurred_at": None,
        "permalink": None,
        "org": org,
        "kind": kind,
        "candidates": candidates,
        "selected": [],
        "team_id": team_id,
    }
    async with transaction(services.db):
        return await draft_store.create_draft(
            services.db, slack_user_id=slack_user_id, data=data, now=now
        )


async def _best_effort(fetch: Permalink) -> str | None:
    try:
        return await fetch()
    except Exception as exc:  # a missing permalink must not lose the whole form
        logger.warning("No permalink for the logged message: %s", type(exc).__name__)
        return None


def _message_time(ts: object) -> datetime | None:
    try:
        return datetime.fromtimestamp(float(str(ts)), UTC)
    except (TypeError, ValueError, OverflowError):
        return None


async def _guess_org(db: aiosqlite.Connection, candidates: list[dict]) -> dict | None:
    """The organisation most outside people on the message belong to, if any."""
    counts = Counter(
        c["org_id"] for c in candidates if c["outside"] and c.get("org_id")
    )
    if not counts:
        return None
    org = await store.get_organisation(db, counts.most_common(1)[0][0])
    if org is None:
        return None
    return {"id": org.id, "name": org.name, "domains": list(org.domains)}


async def check_form(services: Services, values: FormValues) -> dict[str, str]:
    """`validate_form` plus what needs the database: the organisation still exists."""
    errors = validate_form(values, today=services.clock().date())
    org_id = _org_id(values.org)
    if "org" not in errors and org_id is not None:
        if await store.get_organisation(services.db, org_id) is None:
            errors["org"] = "org_gone"
    return errors
