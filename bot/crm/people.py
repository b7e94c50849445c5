"""Slack users as people: form suggestions, find-or-create, the viewer's person.

Suggestions for the users on a message, the person behind a Slack user (created
from users.info when unknown), how a users.info profile is read and judged a
colleague, and the viewer's person id the cards and the App Home filter by.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import aiosqlite

from bot.capture.slack_fields import TZ_MAX, Fields
from bot.identity.addresses import address_key, domain_of
from bot.identity.organisations import is_internal
from bot.identity.resolver import IdentityResolver, SeenAddress
from bot.services import Services
from storage import crm as store
from storage.connection import transaction
from storage.people import people_by_ids, person_by_address

logger = logging.getLogger(__name__)

MAX_CANDIDATES = 100
# users.info calls in flight at once while preparing one form.
USERS_INFO_CONCURRENCY = 8

UsersInfo = Callable[[str], Awaitable[dict | None]]


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
    people = await people_by_ids(services.db, known.values())
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
            person = people.get(known[user_id])
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


async def viewer_person_id(services: Services, slack_user_id: str | None) -> int | None:
    if not slack_user_id:
        return None
    return await person_for_slack_user(services, slack_user_id)
