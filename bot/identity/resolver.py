"""Turning email addresses into people and organisations, a batch at a time."""

from __future__ import annotations

import logging
from typing import NamedTuple

import aiosqlite

from bot.identity.addresses import domain_of
from bot.identity.organisations import (
    is_internal,
    name_from_domain,
    name_key,
    organisation_domain,
)
from storage import people as people_store

logger = logging.getLogger(__name__)


class SeenAddress(NamedTuple):
    """One address as a message showed it (a tuple: millions are made per import)."""

    key: str  # address_key()
    display: str  # as written
    name: str  # display name, may be ""


class IdentityResolver:
    """Caches address → person and domain → organisation across batches.

    Call `resolve` inside the caller's write transaction: misses are checked
    against the database first (another process may have added them), then
    created with ids allocated under that lock.
    """

    def __init__(self, internal_domains: tuple[str, ...]) -> None:
        self.internal_domains = internal_domains
        self._people: dict[str, int] = {}
        self._orgs: dict[str, int | None] = {}
        self._named: set[int] = set()

    def forget(self) -> None:
        """Drop the caches (after a rolled-back transaction they may lie)."""
        self._people.clear()
        self._orgs.clear()
        self._named.clear()

    async def resolve(
        self, db: aiosqlite.Connection, seen: list[SeenAddress]
    ) -> dict[str, int]:
        """Person id for every address in `seen`, creating what is new."""
        wanted: dict[str, SeenAddress] = {}
        for item in seen:
            if item.key not in wanted or (item.name and not wanted[item.key].name):
                wanted[item.key] = item
        missing = [key for key in wanted if key not in self._people]
        if missing:
            self._people.update(
                await people_store.person_ids_for_addresses(db, missing)
            )
            await self._create(
                db, [wanted[k] for k in missing if k not in self._people]
            )
        await self._name_nameless(db, wanted)
        return {key: self._people[key] for key in wanted}

    async def _create(self, db: aiosqlite.Connection, new: list[SeenAddress]) -> None:
        if not new:
            return
        org_ids = await self._org_ids(db, {domain_of(item.key) for item in new})
        next_id = await people_store.max_id(db, "people") + 1
        people_rows, address_rows = [], []
        for pid, item in enumerate(new, start=next_id):
            domain = domain_of(item.key)
            colleague = is_internal(domain, self.internal_domains)
            org_id = None if colleague else org_ids.get(domain)
            people_rows.append((pid, item.name, colleague, org_id))
            address_rows.append((item.key, item.display, domain, pid))
            self._people[item.key] = pid
            if item.name:
                self._named.add(pid)
        await people_store.insert_people(db, people_rows, address_rows)

    async def _org_ids(
        self, db: aiosqlite.Connection, domains: set[str]
    ) -> dict[str, int | None]:
        """Organisation id per mail domain (None for free mail and internal)."""
        result: dict[str, int | None] = {}
        unknown: dict[str, str] = {}
        for domain in domains:
            if domain in self._orgs:
                result[domain] = self._orgs[domain]
                continue
            org_domain = organisation_domain(domain)
            if org_domain is None or is_internal(domain, self.internal_domains):
                self._orgs[domain] = result[domain] = None
            else:
                unknown[domain] = org_domain
        if unknown:
            known = await people_store.org_ids_for_domains(db, set(unknown.values()))
            new_rows = []
            next_id = await people_store.max_id(db, "organisations") + 1
            for org_domain in sorted(set(unknown.values()) - known.keys()):
                name = name_from_domain(org_domain)
                new_rows.append((next_id, name, name_key(name), org_domain))
                known[org_domain] = next_id
                next_id += 1
            await people_store.insert_organisations(db, new_rows)
            for domain, org_domain in unknown.items():
                self._orgs[domain] = result[domain] = known[org_domain]
        return result

    async def _name_nameless(
        self, db: aiosqlite.Connection, wanted: dict[str, SeenAddress]
    ) -> None:
        names = {}
        for key, item in wanted.items():
            pid = self._people[key]
            if item.name and pid not in self._named:
                names[pid] = item.name
                self._named.add(pid)
        if names:
            await people_store.fill_missing_names(db, names)
