"""The CRM half: log interactions and notes, account cards, the App Home's data.

Plain async functions over `Services`; the Slack handlers parse payloads into
the values these take and turn the results into Block Kit. Slack Web API calls
these need (a user's profile, a message permalink) come in as callables, so
everything here runs in tests without Slack.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import aiosqlite

from bot.capture.slack_fields import TZ_MAX, Fields
from bot.graph import RelationshipGraph
from bot.identity.addresses import address_key, domain_of
from bot.identity.organisations import is_internal, name_key
from bot.identity.resolver import IdentityResolver, SeenAddress
from bot.queries import (
    Answer,
    Colleague,
    Match,
    lookup,
    rank_colleagues_for_org,
    search_names,
)
from bot.scoring import PairStats, explain, to_score
from bot.services import Services
from storage import crm as store
from storage import drafts as draft_store
from storage.connection import transaction
from storage.interactions import NewInteraction, insert_interactions
from storage.people import get_person, person_by_address
from storage.sql import parse_row_id

logger = logging.getLogger(__name__)

# services.extras key: an optional callable (sync or async) run while a message
# shortcut's form is prepared; tests make it slow or make it fail.
LOOKUP_HOOK = "crm_lookup_hook"

NOTE_MAX = 3000
ORG_NAME_MAX = 100
MAX_CANDIDATES = 100
MAX_PRESELECTED = 10
# users.info calls in flight at once while preparing one form.
USERS_INFO_CONCURRENCY = 8
# Dates a day ahead are allowed: the user's "today" may be UTC's tomorrow.
DATE_SLACK = timedelta(days=1)
HOME_FOLLOWUP_DAYS = 7

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# [0-9], not \d or str.isdigit(): those also take "²" and other digits int()
# refuses. 19 digits reach SQLite's largest INTEGER, 2**63 - 1.
# Slack's markup in slash command text: <http://…|label>, <@U…>, <#C…|name>.
_MARKUP_RE = re.compile(r"<[^<>]*>")

UsersInfo = Callable[[str], Awaitable[dict | None]]
Permalink = Callable[[], Awaitable[str | None]]


class CrmError(Exception):
    """An expected failure with a code the blocks module turns into words."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class OrganisationNotFound(CrmError):
    """A name that matches no organisation, or several: the choices come back."""

    def __init__(self, query: str, choices: tuple[Match, ...] = ()) -> None:
        super().__init__("org_ambiguous" if len(choices) > 1 else "org_unknown")
        self.query = query
        self.choices = choices


# Forms and drafts -----------------------------------------------------------------


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


@dataclass(frozen=True, slots=True)
class LogResult:
    logged_id: int
    created: bool
    org_id: int | None
    org_name: str | None
    kind: str
    occurred_at: str
    visibility: str


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


async def _candidates_for_users(
    services: Services,
    user_ids: list[str],
    *,
    users_info: UsersInfo,
    team_id: str | None,
) -> list[dict]:
    """One suggestion per Slack user: known people by id, the rest from users.info."""
    user_ids = user_ids[:MAX_CANDIDATES]
    known = await store.person_ids_for_slack_users(services.db, user_ids)
    people = {pid: await get_person(services.db, pid) for pid in known.values()}
    orgs = await _org_names(services.db, {p.org_id for p in people.values() if p})

    limit = asyncio.Semaphore(USERS_INFO_CONCURRENCY)

    async def fetch(user_id: str) -> dict | None:
        async with limit:
            return await users_info(user_id)

    unknown = [u for u in user_ids if u not in known]
    profiles = dict(
        zip(unknown, await asyncio.gather(*map(fetch, unknown)), strict=True)
    )

    candidates = []
    for user_id in user_ids:
        if user_id in known:
            person = people[known[user_id]]
            if person is None:
                continue
            org_name = orgs.get(person.org_id) if person.org_id else None
            candidates.append(
                {
                    "ref": f"p:{person.id}",
                    "label": person.display_name or person.email or user_id,
                    "org": org_name,
                    "org_id": person.org_id,
                    "outside": not person.is_colleague,
                }
            )
            continue
        profile = profiles.get(user_id)
        if not profile or profile.get("is_bot") or user_id == "USLACKBOT":
            continue
        info = _slack_user_info(profile, user_id=user_id)
        candidates.append(
            {
                "ref": f"u:{user_id}",
                "label": info["name"] or user_id,
                "org": None,
                "org_id": None,
                "outside": not _is_colleague(services, info, team_id=team_id),
                "user": info,
            }
        )
    return candidates


def _slack_user_info(user: dict, *, user_id: str) -> dict:
    """The few users.info fields kept in a draft to create the person later.

    Fields of the wrong type read as absent: they end in SQLite and in a draft's
    JSON, where a dict or a list has no place.
    """
    fields = Fields(user)
    profile = fields.nested("profile")
    name = (
        profile.text("real_name")
        or fields.text("real_name")
        or profile.text("display_name")
        or fields.text("name")
        or ""
    )
    if fields.wrong:
        logger.warning("users.info for %s: malformed %s", user_id, fields.wrong)
    return {
        "id": user_id,
        "team_id": fields.ident("team_id") or profile.ident("team"),
        "name": name,
        "email": profile.text("email"),
        "tz": fields.text("tz", limit=TZ_MAX),
        "is_bot": fields.flag("is_bot"),
        "guest": fields.flag("is_restricted") or fields.flag("is_ultra_restricted"),
        "stranger": fields.flag("is_stranger"),
    }


def _is_colleague(services: Services, info: dict, *, team_id: str | None) -> bool:
    """Firm members: on an internal domain, or a full member of our own team."""
    email = info.get("email")
    key = address_key(email) if email else None
    internal = services.settings.internal_domains
    if key and internal:
        return is_internal(domain_of(key), internal)
    if info.get("guest") or info.get("stranger"):
        return False
    return team_id is None or info.get("team_id") in (None, team_id)


async def _org_names(
    db: aiosqlite.Connection, org_ids: set[int | None]
) -> dict[int, str]:
    names = {}
    for org_id in org_ids:
        if org_id is None:
            continue
        org = await store.get_organisation(db, org_id)
        if org is not None:
            names[org_id] = org.name
    return names


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


# Logging --------------------------------------------------------------------------


async def person_for_slack_user(
    services: Services,
    slack_user_id: str,
    *,
    users_info: UsersInfo | None = None,
    team_id: str | None = None,
) -> int | None:
    """The person behind a Slack user; created from users.info when unknown.

    Without `users_info` nothing is created and an unknown user gives None.
    """
    known = await store.person_ids_for_slack_users(services.db, [slack_user_id])
    if slack_user_id in known or users_info is None:
        return known.get(slack_user_id)
    profile = await users_info(slack_user_id)
    if not profile:
        return None
    info = _slack_user_info(profile, user_id=slack_user_id)
    async with transaction(services.db):
        return await _person_from_info(services, info, team_id=team_id)


async def _person_from_info(
    services: Services, info: dict, *, team_id: str | None
) -> int:
    """Find or create the person for a Slack profile; caller holds transaction()."""
    db = services.db
    slack_id = str(info["id"])
    known = await store.person_ids_for_slack_users(db, [slack_id])
    if slack_id in known:
        return known[slack_id]
    key = address_key(info["email"]) if info.get("email") else None
    if key:
        existing = await person_by_address(db, key)
        if existing is not None:
            await store.link_slack_user(
                db, existing.id, slack_user_id=slack_id, team_id=info.get("team_id")
            )
            return existing.id
    colleague = _is_colleague(services, info, team_id=team_id)
    now = store.iso(services.clock())
    if key:
        resolver = IdentityResolver(services.settings.internal_domains)
        seen = SeenAddress(key, str(info["email"]), info.get("name") or "")
        person_id = (await resolver.resolve(db, [seen]))[key]
        # The resolver judges by domain alone; a Slack member of our own team
        # is a colleague whatever their address says.
        await db.execute(
            "UPDATE people SET is_colleague = ?,"
            " org_id = CASE WHEN ? THEN NULL ELSE org_id END, tz = COALESCE(tz, ?)"
            " WHERE id = ?",
            (int(colleague), int(colleague), info.get("tz"), person_id),
        )
        await store.link_slack_user(
            db, person_id, slack_user_id=slack_id, team_id=info.get("team_id")
        )
        return person_id
    return await store.insert_slack_person(
        db,
        name=info.get("name") or slack_id,
        slack_user_id=slack_id,
        team_id=info.get("team_id"),
        is_colleague=colleague,
        tz=info.get("tz"),
        created_at=now,
    )


def _occurred_at(values: FormValues, draft: dict | None) -> str:
    """The exact message time when the date was left as suggested, else midday UTC."""
    if (
        draft
        and draft.get("occurred_at")
        and draft.get("occurred_on") == values.occurred_on
    ):
        return str(draft["occurred_at"])
    day = parse_day(values.occurred_on) or date.today()
    return store.iso(datetime(day.year, day.month, day.day, 12, tzinfo=UTC))


async def log_interaction(
    services: Services,
    *,
    slack_user_id: str,
    team_id: str | None,
    values: FormValues,
    client_token: str,
    draft: dict | None = None,
    users_info: UsersInfo | None = None,
    occurred_at: str | None = None,
) -> LogResult:
    """Store a logged interaction once per `client_token`; it counts in the graph.

    The logger and the contacts become participants of an interaction of kind
    "logged" (logger role "logger", contacts role "contact"). A second call with
    the same token (a retried delivery) returns the first entry, `created=False`.
    The caller refreshes the graph afterwards.
    """
    db = services.db
    existing = await store.logged_id_for_token(db, client_token)
    if existing is not None:
        return await _result(services, existing, created=False)

    logger_id = await person_for_slack_user(
        services, slack_user_id, users_info=users_info, team_id=team_id
    )
    if logger_id is None:
        raise CrmError("unknown_user")
    candidates = {c["ref"]: c for c in (draft or {}).get("candidates", [])}
    when = occurred_at or _occurred_at(values, draft)
    now = store.iso(services.clock())

    async with transaction(db):
        existing = await store.logged_id_for_token(db, client_token)
        if existing is not None:
            created = False
            logged_id = existing
        else:
            org_id = await _org_for_ref(db, values.org, now=now)
            contact_ids = await _contacts_for_refs(
                services, values.contacts, candidates, team_id=team_id
            )
            contact_ids = [pid for pid in contact_ids if pid != logger_id]
            participants = {logger_id: "logger"}
            participants.update({pid: "contact" for pid in contact_ids})
            [interaction_id] = await insert_interactions(
                db,
                [
                    NewInteraction(
                        keys=(f"log:{client_token}",),
                        source="log",
                        occurred_at=when,
                        kind="logged",
                        sender_id=logger_id,
                        participants=participants,
                    )
                ],
            )
            logged_id = await store.insert_logged(
                db,
                store.NewLogged(
                    client_token=client_token,
                    logger_id=logger_id,
                    kind=values.kind or "note",
                    occurred_at=when,
                    note=values.note,
                    visibility=values.visibility,
                    org_id=org_id,
                    interaction_id=interaction_id,
                    permalink=(draft or {}).get("permalink"),
                    contact_ids=tuple(contact_ids),
                    followup_on=values.followup_on or None,
                ),
                created_at=now,
            )
            created = True
    if created:
        logger.info(
            "Logged a %s interaction (%d contacts, %s)",
            values.kind,
            len(values.contacts),
            values.visibility,
        )
    return await _result(services, logged_id, created=created)


async def _result(services: Services, logged_id: int, *, created: bool) -> LogResult:
    async with services.db.execute(
        "SELECT li.org_id, o.name, li.kind, li.occurred_at, li.visibility"
        " FROM logged_interactions li LEFT JOIN organisations o ON o.id = li.org_id"
        " WHERE li.id = ?",
        (logged_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return LogResult(logged_id, created, row[0], row[1], row[2], row[3], row[4])


async def _org_for_ref(
    db: aiosqlite.Connection, ref: str | None, *, now: str
) -> int | None:
    org_id = _org_id(ref)
    if org_id is not None:
        return org_id if await store.get_organisation(db, org_id) else None
    if ref and ref.startswith("new:"):
        name = " ".join(ref[4:].split())[:ORG_NAME_MAX]
        key = name_key(name)
        found = await store.org_id_for_name_key(db, key)
        if found is not None:
            return found
        return await store.insert_organisation(db, name=name, key=key, created_at=now)
    return None


async def _contacts_for_refs(
    services: Services,
    refs: tuple[str, ...],
    candidates: dict[str, dict],
    *,
    team_id: str | None,
) -> list[int]:
    ids: list[int] = []
    for ref in refs:
        person_id = parse_row_id(ref[2:]) if ref.startswith("p:") else None
        if person_id is not None:
            if await get_person(services.db, person_id) is not None:
                ids.append(person_id)
        elif ref.startswith("u:") and ref in candidates and candidates[ref].get("user"):
            ids.append(
                await _person_from_info(
                    services, candidates[ref]["user"], team_id=team_id
                )
            )
    return list(dict.fromkeys(ids))


async def check_form(services: Services, values: FormValues) -> dict[str, str]:
    """`validate_form` plus what needs the database: the organisation still exists."""
    errors = validate_form(values, today=services.clock().date())
    org_id = _org_id(values.org)
    if "org" not in errors and org_id is not None:
        if await store.get_organisation(services.db, org_id) is None:
            errors["org"] = "org_gone"
    return errors


# Finding organisations and people ---------------------------------------------------


async def resolve_organisation(services: Services, text: str) -> Match:
    """The one organisation `text` names, by the same matching as /whoknows.

    Anything less than one clear organisation raises OrganisationNotFound with
    the closest organisations as choices: never a guess.
    """
    _, index = await services.graphs.current()
    # Fuzzy matching walks every name: off the event loop, like /whoknows.
    found = await asyncio.to_thread(lookup, index, text)
    if isinstance(found, Match) and found.kind == "organisation":
        return found
    choices: tuple[Match, ...] = ()
    if isinstance(found, Answer) and found.choices:
        choices = tuple(m for m in found.choices if m.kind == "organisation")
        if len(choices) == 1:
            return choices[0]
    if not choices:
        choices = tuple(
            await asyncio.to_thread(
                search_names, index, text, kind="organisation", limit=5
            )
        )
    raise OrganisationNotFound(" ".join(text.split()), choices)


async def search_organisations(
    services: Services, text: str, *, limit: int = 20
) -> list[Match]:
    _, index = await services.graphs.current()
    return await asyncio.to_thread(
        search_names, index, text, kind="organisation", limit=limit
    )


async def search_contacts(
    services: Services, text: str, *, limit: int = 20
) -> list[tuple[str, str]]:
    """(ref, label) for outside people whose name matches `text`."""
    graph, index = await services.graphs.current()
    matches = await asyncio.to_thread(
        search_names, index, text, kind="person", limit=limit
    )
    results = []
    for match in matches:
        person = graph.people.get(match.id)
        org = graph.orgs.get(person.org_id) if person and person.org_id else None
        label = f"{match.name} ({org.name})" if org else match.name
        results.append((f"p:{match.id}", label))
    return results


# Account cards ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ContactLine:
    person_id: int
    name: str
    email: str | None
    score: float
    last: datetime | None


@dataclass(slots=True)
class AccountCard:
    org: store.OrgRow
    contacts: list[ContactLine] = field(default_factory=list)
    colleagues: list[Colleague] = field(default_factory=list)
    logs: list[store.LoggedInteraction] = field(default_factory=list)
    log_count: int = 0
    followups: list[store.FollowUp] = field(default_factory=list)
    followup_count: int = 0


def org_contacts(graph: RelationshipGraph, org_id: int) -> list[ContactLine]:
    """Everyone known at an organisation, strongest relationship with the firm first."""
    config = graph.config
    lines = []
    for contact in graph.contacts_of_org(org_id):
        person = graph.people.get(contact)
        if person is None:
            continue
        total = PairStats()
        for _, stats in graph.colleagues_of(contact):
            total.add(stats)
        lines.append(
            ContactLine(
                person_id=contact,
                name=person.name,
                email=person.email,
                score=to_score(total.effective(config), config),
                last=datetime.fromtimestamp(total.last, UTC) if total.last else None,
            )
        )
    lines.sort(key=lambda c: (-c.score, c.name.lower(), c.person_id))
    return lines


async def viewer_person_id(services: Services, slack_user_id: str | None) -> int | None:
    if not slack_user_id:
        return None
    return await person_for_slack_user(services, slack_user_id)


async def account_card(
    services: Services,
    *,
    org_id: int,
    viewer_slack_id: str | None,
    log_limit: int = 5,
    followup_limit: int = 5,
) -> AccountCard:
    """What /client shows for one organisation, as the viewer is allowed to see it."""
    org = await store.get_organisation(services.db, org_id)
    if org is None:
        raise CrmError("org_gone")
    viewer = await viewer_person_id(services, viewer_slack_id)
    graph, _ = await services.graphs.current()
    logs = await store.logged_interactions(
        services.db, org_id=org_id, viewer_person_id=viewer, limit=log_limit
    )
    followups = await store.followups_due(
        services.db, due_before=None, org_id=org_id, viewer_person_id=viewer
    )
    contacts, colleagues = await asyncio.to_thread(_graph_side, graph, org_id)
    return AccountCard(
        org=org,
        contacts=contacts,
        colleagues=colleagues,
        logs=logs,
        log_count=await store.count_logged(
            services.db, org_id=org_id, viewer_person_id=viewer
        ),
        followups=followups[:followup_limit],
        followup_count=len(followups),
    )


def _graph_side(
    graph: RelationshipGraph, org_id: int
) -> tuple[list[ContactLine], list[Colleague]]:
    return org_contacts(graph, org_id), rank_colleagues_for_org(graph, org_id, limit=5)


async def org_logs_page(
    services: Services,
    *,
    org_id: int,
    viewer_slack_id: str | None,
    page: int,
    size: int,
) -> tuple[list[store.LoggedInteraction], int]:
    viewer = await viewer_person_id(services, viewer_slack_id)
    total = await store.count_logged(
        services.db, org_id=org_id, viewer_person_id=viewer
    )
    logs = await store.logged_interactions(
        services.db,
        org_id=org_id,
        viewer_person_id=viewer,
        limit=size,
        offset=page * size,
    )
    return logs, total


async def org_followups(
    services: Services, *, org_id: int, viewer_slack_id: str | None
) -> list[store.FollowUp]:
    viewer = await viewer_person_id(services, viewer_slack_id)
    return await store.followups_due(
        services.db, due_before=None, org_id=org_id, viewer_person_id=viewer
    )


async def card_contacts(services: Services, org_id: int) -> list[ContactLine]:
    graph, _ = await services.graphs.current()
    return await asyncio.to_thread(org_contacts, graph, org_id)


async def logged_note(
    services: Services, *, logged_id: int, viewer_slack_id: str | None
) -> store.LoggedInteraction | None:
    viewer = await viewer_person_id(services, viewer_slack_id)
    return await store.get_logged(services.db, logged_id, viewer_person_id=viewer)


# App Home ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StrongContact:
    person_id: int
    name: str
    org_name: str | None
    score: float
    explanation: str


@dataclass(slots=True)
class HomeData:
    person_id: int | None
    strongest: list[StrongContact] = field(default_factory=list)
    recent_logs: list[store.LoggedInteraction] = field(default_factory=list)
    followups: list[store.FollowUp] = field(default_factory=list)
    followup_count: int = 0


def strongest_contacts(
    graph: RelationshipGraph, person_id: int, *, limit: int = 8
) -> list[StrongContact]:
    node = ("person", person_id)
    if node not in graph.graph:
        return []
    config = graph.config
    found = []
    for (kind, other), data in graph.graph.adj[node].items():
        stats = data.get("stats")
        person = graph.people.get(other) if kind == "person" else None
        if stats is None or person is None or person.is_colleague:
            continue
        org = graph.orgs.get(person.org_id) if person.org_id else None
        found.append(
            StrongContact(
                person_id=other,
                name=person.name,
                org_name=org.name if org else None,
                score=to_score(stats.effective(config), config),
                explanation=explain(stats),
            )
        )
    found.sort(key=lambda c: (-c.score, c.name.lower()))
    return found[:limit]


async def home_data(services: Services, *, slack_user_id: str) -> HomeData:
    """The App Home of one user: their relationships, their logs, their follow-ups."""
    person_id = await viewer_person_id(services, slack_user_id)
    if person_id is None:
        return HomeData(person_id=None)
    graph, _ = await services.graphs.current()
    due_by = services.clock().date() + timedelta(days=HOME_FOLLOWUP_DAYS)
    followups = await store.followups_due(
        services.db, person_id=person_id, due_before=due_by
    )
    return HomeData(
        person_id=person_id,
        strongest=strongest_contacts(graph, person_id),
        recent_logs=await store.logged_interactions(
            services.db, logger_id=person_id, viewer_person_id=person_id, limit=5
        ),
        followups=followups[:10],
        followup_count=len(followups),
    )


async def complete_followup(
    services: Services, *, followup_id: int, slack_user_id: str
) -> bool:
    """Mark a follow-up done; only its owner or, for team entries, a colleague may."""
    person_id = await viewer_person_id(services, slack_user_id)
    followup = await store.get_followup(services.db, followup_id)
    if followup is None or not _may_touch(followup, person_id):
        return False
    return await store.mark_followup_done(
        services.db, followup_id, done_at=services.clock(), by_person_id=person_id
    )


async def snooze_followup(
    services: Services, *, followup_id: int, slack_user_id: str, days: int = 7
) -> bool:
    person_id = await viewer_person_id(services, slack_user_id)
    followup = await store.get_followup(services.db, followup_id)
    if followup is None or not _may_touch(followup, person_id):
        return False
    start = max(services.clock().date(), date.fromisoformat(followup.due_on))
    return await store.snooze_followup(
        services.db, followup_id, until=start + timedelta(days=days)
    )


def _may_touch(followup: store.FollowUp, person_id: int | None) -> bool:
    if followup.visibility == "private":
        return person_id == followup.owner_id
    return person_id is not None
