"""Logging an interaction, and finding the organisation or contacts a log names.

`log_interaction` stores a log once per client token as a "logged"
interaction that counts in the graph; its helpers resolve the form's
organisation and contact refs. Organisation resolution and search and contact
search serve /log, /client and the form's external selects.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime

import aiosqlite

from bot.crm.errors import CrmError, OrganisationNotFound
from bot.crm.forms import FormValues, _org_id, parse_day
from bot.crm.people import UsersInfo, _person_from_info, person_for_slack_user
from bot.identity.organisations import name_key
from bot.queries import Answer, Match, lookup, search_names
from bot.services import Services
from storage import crm as store
from storage.connection import transaction
from storage.interactions import NewInteraction, insert_interactions
from storage.people import get_person
from storage.sql import parse_row_id

logger = logging.getLogger(__name__)

ORG_NAME_MAX = 100


@dataclass(frozen=True, slots=True)
class LogResult:
    logged_id: int
    created: bool
    org_id: int | None
    org_name: str | None
    kind: str
    occurred_at: str
    visibility: str


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
