"""Slack members as people: keyed by Slack user id, joined to email people by address.

Shared by the workspace-export importer and the Web API sync. A member whose
email is already known becomes that person (so Slack and mail resolve to one
person); a member without email is a person keyed by Slack id and team.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aiosqlite

from bot.capture.email_import import Exclusions
from bot.capture.slack_fields import TZ_MAX, Fields
from bot.identity.addresses import address_key, domain_of
from bot.identity.organisations import (
    is_internal,
    name_from_domain,
    name_key,
    organisation_domain,
)
from storage import people as people_store
from storage import slack as slack_store

logger = logging.getLogger(__name__)

# Slackbot is a user (not flagged is_bot) in every workspace.
SLACKBOT_ID = "USLACKBOT"


@dataclass(frozen=True, slots=True)
class SlackMember:
    """One Slack account, reduced to what identity and ranking need."""

    user_id: str
    team_id: str | None
    name: str
    email: str | None = None
    tz: str | None = None
    is_bot: bool = False
    is_deleted: bool = False
    is_guest: bool = False
    enterprise_id: str | None = None
    # The other organisation's name as the profile shows it (enterprise name).
    org_hint: str | None = None
    # False for an author known only by id (no users.json entry, no users.info).
    has_profile: bool = True
    # Fields Slack sent with the wrong type, left out above; for the summary.
    problems: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class TeamInfo:
    """Another organisation's workspace as team.info describes it."""

    team_id: str
    name: str
    email_domain: str | None = None


def member_from_json(user: object) -> SlackMember | None:
    """A users.list / users.info / users.json entry; None when it has no usable id.

    Fields of the wrong type are left out of the member and named in its
    `problems`, for the caller to count.
    """
    fields = Fields(user)
    user_id = fields.ident("id") if isinstance(user, Mapping) else None
    if user_id is None:
        return None
    profile = fields.nested("profile")
    enterprise = fields.nested("enterprise_user")
    team_id = fields.ident("team_id") or profile.ident("team")
    return SlackMember(
        user_id=user_id,
        team_id=team_id,
        name=_name(fields, profile),
        email=profile.text("email"),
        tz=fields.text("tz", limit=TZ_MAX),
        is_bot=user_id == SLACKBOT_ID
        or any(
            fields.flag(flag)
            for flag in ("is_bot", "is_app_user", "is_workflow_bot", "is_connector_bot")
        ),
        is_deleted=fields.flag("deleted"),
        is_guest=fields.flag("is_restricted") or fields.flag("is_ultra_restricted"),
        enterprise_id=fields.ident("enterprise_id")
        or enterprise.ident("enterprise_id"),
        org_hint=fields.text("enterprise_name") or enterprise.text("enterprise_name"),
        problems=_problems(fields),
    )


def member_from_message(
    user_id: str, profile: Mapping[str, Any] | None, *, team_id: str | None
) -> SlackMember:
    """An author known only from a message (its `user_profile`, if any)."""
    if not profile:
        return SlackMember(user_id, team_id, "", has_profile=False)
    fields = Fields(profile)
    return SlackMember(
        user_id=user_id,
        team_id=fields.ident("team") or team_id,
        name=_name(fields, fields),
        is_guest=fields.flag("is_restricted") or fields.flag("is_ultra_restricted"),
        problems=_problems(fields, prefix="user_profile."),
    )


def read_members(users: Iterable[object], bad: Counter[str]) -> list[SlackMember]:
    """The usable members of a users list; what is wrong is counted in `bad`."""
    members = []
    for user in users:
        member = member_from_json(user)
        if member is None:
            bad["member without id"] += 1
            continue
        bad.update(member.problems)
        members.append(member)
    return members


def _name(user: Fields, profile: Fields) -> str:
    # Every candidate is read, so each malformed one is noted.
    candidates = (
        profile.text("real_name"),
        user.text("real_name"),
        profile.text("display_name"),
        user.text("name"),
    )
    return next((name for name in candidates if name), "")


def _problems(fields: Fields, *, prefix: str = "") -> tuple[str, ...]:
    # A field read twice (a message profile stands for both user and profile)
    # is still one problem.
    wrong = dict.fromkeys(fields.wrong)
    return tuple(f"member with a malformed {prefix}{name}" for name in wrong)


@dataclass(slots=True)
class MemberCounts:
    seen: int = 0
    created: int = 0
    linked_by_email: int = 0
    without_email: int = 0
    without_profile: int = 0
    bots: int = 0
    guests: int = 0
    external: int = 0
    deleted: int = 0
    excluded: int = 0
    # A member whose email belongs to another person already keyed by Slack id.
    email_conflicts: int = 0

    def line(self) -> str:
        text = (
            f"{self.seen} members ({self.created} new, {self.linked_by_email} linked "
            f"by email, {self.without_email} without email, {self.bots} bots, "
            f"{self.guests} guests, {self.external} Slack Connect, {self.deleted} "
            f"deleted, {self.excluded} excluded"
        )
        if self.without_profile:
            text += f", {self.without_profile} known only by id"
        if self.email_conflicts:
            text += f", {self.email_conflicts} email already on another person"
        return text + ")"


class SlackDirectory:
    """Slack user id → person id, creating and updating people from profiles.

    `upsert` and `person_ids` run inside the caller's write transaction; after
    a rollback call `forget`, as the caches may then name rows that are gone.
    """

    def __init__(
        self,
        *,
        home_teams: Iterable[str],
        internal_domains: tuple[str, ...],
        exclusions: Exclusions,
    ) -> None:
        self.home_teams = frozenset(t for t in home_teams if t)
        self.internal_domains = internal_domains
        self.exclusions = exclusions
        self.counts = MemberCounts()
        self._ids: dict[str, int] = {}
        self._skipped: dict[str, str] = {}
        self._domain_orgs: dict[str, int | None] = {}
        self._team_orgs: dict[str, int | None] = {}

    def forget(self) -> None:
        self._ids.clear()
        self._domain_orgs.clear()
        self._team_orgs.clear()

    def is_external(self, member: SlackMember) -> bool:
        """A member of another organisation's workspace (Slack Connect)."""
        if not member.team_id or not self.home_teams:
            return False
        if member.team_id in self.home_teams:
            return False
        return not (member.enterprise_id and member.enterprise_id in self.home_teams)

    def skip_reason(self, user_id: str) -> str | None:
        """Why this account is never captured ("excluded"), if it is not."""
        return self._skipped.get(user_id)

    async def person_ids(
        self, db: aiosqlite.Connection, user_ids: Iterable[str]
    ) -> dict[str, int]:
        """Person id for each known, capturable account among `user_ids`."""
        wanted = {u for u in user_ids if u not in self._skipped}
        missing = wanted - self._ids.keys()
        if missing:
            self._ids.update(await slack_store.person_ids_for_slack_users(db, missing))
        return {u: self._ids[u] for u in wanted if u in self._ids}

    async def unknown(
        self, db: aiosqlite.Connection, user_ids: Iterable[str]
    ) -> set[str]:
        """Accounts never seen before (neither stored nor skipped)."""
        wanted = set(user_ids)
        known = await self.person_ids(db, wanted)
        return {u for u in wanted if u not in known and u not in self._skipped}

    async def teams_to_look_up(
        self, db: aiosqlite.Connection, members: Sequence[SlackMember]
    ) -> set[str]:
        """Other workspaces whose organisation only team.info can tell."""
        candidates = {
            m.team_id
            for m in members
            if m.team_id
            and self.is_external(m)
            and not m.is_bot
            and m.team_id not in self._team_orgs
            and self._email_org_domain(m) is None
        }
        if not candidates:
            return set()
        stored = await slack_store.teams(db, candidates)
        return {t for t in candidates if t not in stored}

    async def upsert(
        self,
        db: aiosqlite.Connection,
        members: Sequence[SlackMember],
        *,
        teams: Mapping[str, TeamInfo] | None = None,
    ) -> None:
        """Create or update the people behind `members`."""
        accepted = self._accept(members)
        if not accepted:
            return
        by_slack = await slack_store.person_ids_for_slack_users(
            db, [m.user_id for m, _ in accepted]
        )
        by_email = await people_store.person_ids_for_addresses(
            db, {key for _, key in accepted if key}
        )

        plan: list[tuple[SlackMember, str | None, int]] = []
        new_addresses: list[tuple[str, str, str, int]] = []
        to_resolve: list[tuple[SlackMember, str]] = []
        bare: list[SlackMember] = []
        for member, key in accepted:
            pid = by_slack.get(member.user_id)
            email_pid = by_email.get(key) if key else None
            if pid is None and email_pid is not None:
                pid = email_pid
                self.counts.linked_by_email += 1
            elif pid is not None and key and email_pid is None:
                new_addresses.append((key, member.email or key, domain_of(key), pid))
                by_email[key] = pid
            elif pid is not None and email_pid is not None and email_pid != pid:
                # Merging two stored people is not done here: both keep their
                # interactions, and the email stays with the person it named.
                self.counts.email_conflicts += 1
                logger.debug("Slack user %s: email on another person", member.user_id)
            if pid is not None:
                plan.append((member, key, pid))
            elif key:
                to_resolve.append((member, key))
            else:
                bare.append(member)

        # An email first met on a later account of this batch is that person's.
        plan.extend((m, key, by_email[key]) for m, key in to_resolve if key in by_email)
        to_resolve = [(m, key) for m, key in to_resolve if key not in by_email]
        if new_addresses:
            await slack_store.insert_addresses(db, new_addresses)
        if to_resolve:
            plan.extend(await self._create_with_email(db, to_resolve))
        if bare:
            next_id = await people_store.max_id(db, "people") + 1
            rows = [(next_id + i, m.name, m.user_id) for i, m in enumerate(bare)]
            await slack_store.insert_slack_people(db, rows)
            plan.extend(
                (m, None, pid) for m, (pid, _, _) in zip(bare, rows, strict=True)
            )
            self.counts.created += len(bare)

        await self._write_fields(db, plan, teams or {})
        await slack_store.link_slack_users(
            db, [(m.user_id, m.team_id, pid) for m, _, pid in plan]
        )
        self._ids.update({m.user_id: pid for m, _, pid in plan})

    async def _create_with_email(
        self, db: aiosqlite.Connection, members: list[tuple[SlackMember, str]]
    ) -> list[tuple[SlackMember, str | None, int]]:
        """New people with their address; two accounts sharing one email share one."""
        next_id = await people_store.max_id(db, "people") + 1
        ids: dict[str, int] = {}
        people_rows, address_rows = [], []
        for member, key in members:
            if key in ids:
                continue
            pid = ids[key] = next_id + len(ids)
            colleague = self._is_colleague(member, key)
            org_id = None
            if not colleague and not member.is_bot:
                org_id = await self._domain_org(db, domain_of(key), name="")
            people_rows.append((pid, member.name, colleague, org_id))
            address_rows.append((key, member.email or key, domain_of(key), pid))
        await people_store.insert_people(db, people_rows, address_rows)
        self.counts.created += len(people_rows)
        return [(m, key, ids[key]) for m, key in members]

    def _accept(
        self, members: Sequence[SlackMember]
    ) -> list[tuple[SlackMember, str | None]]:
        latest = {m.user_id: m for m in members}
        accepted = []
        for member in latest.values():
            counts = self.counts
            key = address_key(member.email) if member.email else None
            counts.seen += 1
            counts.without_profile += not member.has_profile
            counts.without_email += key is None and member.has_profile
            counts.bots += member.is_bot
            counts.guests += member.is_guest and not member.is_bot
            counts.external += self.is_external(member) and not member.is_bot
            counts.deleted += member.is_deleted
            if key and self.exclusions.excludes(key):
                counts.excluded += 1
                self._skipped[member.user_id] = "excluded"
                self._ids.pop(member.user_id, None)
                continue
            self._skipped.pop(member.user_id, None)
            accepted.append((member, key))
        return accepted

    async def _write_fields(
        self,
        db: aiosqlite.Connection,
        plan: list[tuple[SlackMember, str | None, int]],
        teams: Mapping[str, TeamInfo],
    ) -> None:
        flags = await slack_store.people_flags(db, {pid for _, _, pid in plan})
        rows: dict[int, slack_store.SlackPersonFields] = {}
        for member, key, pid in plan:
            current = flags[pid]
            if current.slack_user_id not in (None, member.user_id) or pid in rows:
                # A second account of a person: the first one speaks for them.
                continue
            colleague = self._is_colleague(member, key)
            org_id = None
            if not colleague and not member.is_bot:
                org_id = current.org_id
                if org_id is None and key:
                    org_id = await self._domain_org(db, domain_of(key), name="")
                if org_id is None and self.is_external(member):
                    org_id = await self._team_org(db, member, teams)
            rows[pid] = slack_store.SlackPersonFields(
                person_id=pid,
                display_name=member.name,
                is_colleague=colleague,
                org_id=org_id,
                team_id=member.team_id,
                is_bot=member.is_bot,
                is_deleted=member.is_deleted,
                tz=member.tz,
            )
        await slack_store.update_slack_people(db, list(rows.values()))

    def _is_colleague(self, member: SlackMember, key: str | None) -> bool:
        """Home workspace, and on the firm's domains when both are known.

        Without an email (scope users:read.email missing, or hidden), a full
        member of the home workspace still counts; guests never do.
        """
        if member.is_bot or not member.has_profile or self.is_external(member):
            return False
        if member.team_id is None and not self.home_teams:
            return False
        if key and self.internal_domains:
            return is_internal(domain_of(key), self.internal_domains)
        return not member.is_guest

    def _email_org_domain(self, member: SlackMember) -> str | None:
        key = address_key(member.email) if member.email else None
        if key is None:
            return None
        domain = domain_of(key)
        if is_internal(domain, self.internal_domains):
            return None
        return organisation_domain(domain)

    async def _domain_org(
        self, db: aiosqlite.Connection, domain: str, *, name: str
    ) -> int | None:
        """The organisation of a mail domain (created when new); None for free mail."""
        if domain in self._domain_orgs:
            return self._domain_orgs[domain]
        org_domain = organisation_domain(domain)
        org_id = None
        if org_domain is not None and not is_internal(domain, self.internal_domains):
            known = await people_store.org_ids_for_domains(db, [org_domain])
            org_id = known.get(org_domain)
            if org_id is None:
                label = name or name_from_domain(org_domain)
                org_id = await slack_store.insert_organisation(
                    db, name=label, key=name_key(label), domain=org_domain
                )
        self._domain_orgs[domain] = org_id
        return org_id

    async def _team_org(
        self,
        db: aiosqlite.Connection,
        member: SlackMember,
        teams: Mapping[str, TeamInfo],
    ) -> int | None:
        """The organisation behind another workspace: by email domain, else by name."""
        team_id = member.team_id
        if team_id is None:
            return None
        if team_id in self._team_orgs:
            return self._team_orgs[team_id]
        stored = (await slack_store.teams(db, [team_id])).get(team_id)
        if stored is not None and stored.org_id is not None:
            self._team_orgs[team_id] = stored.org_id
            return stored.org_id

        info = teams.get(team_id)
        org_id = None
        if info is not None:
            for domain in (info.email_domain or "").split(","):
                if domain.strip():
                    org_id = await self._domain_org(db, domain.strip(), name=info.name)
                if org_id is not None:
                    break
            if org_id is None and info.name:
                org_id = await self._named_org(db, info.name)
            await slack_store.save_team(
                db, slack_store.TeamRow(team_id, info.name, info.email_domain, org_id)
            )
        elif member.org_hint:
            org_id = await self._named_org(db, member.org_hint)
        self._team_orgs[team_id] = org_id
        return org_id

    async def _named_org(self, db: aiosqlite.Connection, name: str) -> int | None:
        """An organisation known only by name: one exact name match, or a new one."""
        key = name_key(name)
        if not key:
            return None
        found = await slack_store.org_ids_for_name_key(db, key)
        if len(found) == 1:
            return found[0]
        if found:
            # Two organisations share the name: guessing would tie the
            # contact to the wrong one, so the contact stays unlinked.
            return None
        return await slack_store.insert_organisation(
            db, name=name, key=key, domain=None
        )
