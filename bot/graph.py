"""The relationship graph: people, organisations and weighted edges, from storage.

Built once (after an import or sync, or at start) and then only read: queries
never touch SQLite. Nodes are `("person", id)` and `("org", id)`; an edge
between a colleague and an outside contact carries their `PairStats`, an edge
between a contact and their organisation carries `works_at=True`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from array import array
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiosqlite
import networkx as nx

from bot.identity.addresses import name_from_address
from bot.scoring import DEFAULT_SCORING, PairStats, ScoringConfig, decay, exclusivity

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PersonInfo:
    id: int
    name: str
    email: str | None
    is_colleague: bool
    org_id: int | None
    slack_user_id: str | None


@dataclass(frozen=True, slots=True)
class OrgInfo:
    id: int
    name: str
    domains: tuple[str, ...]


@dataclass(slots=True)
class RelationshipGraph:
    graph: nx.Graph
    as_of: datetime
    config: ScoringConfig
    people: dict[int, PersonInfo] = field(default_factory=dict)
    orgs: dict[int, OrgInfo] = field(default_factory=dict)
    build_seconds: float = 0.0

    def pair(self, colleague_id: int, contact_id: int) -> PairStats | None:
        data = self.graph.get_edge_data(
            ("person", colleague_id), ("person", contact_id)
        )
        return data.get("stats") if data else None

    def contacts_of_org(self, org_id: int) -> list[int]:
        node = ("org", org_id)
        if node not in self.graph:
            return []
        return [pid for kind, pid in self.graph.neighbors(node) if kind == "person"]

    def colleagues_of(self, contact_id: int) -> list[tuple[int, PairStats]]:
        node = ("person", contact_id)
        if node not in self.graph:
            return []
        return [
            (other[1], data["stats"])
            for other, data in self.graph.adj[node].items()
            if "stats" in data
        ]


# Email and Slack: messages first, then their recipients, both read in
# storage order and joined here by interaction id. A join inside SQLite costs a
# B-tree seek per recipient; two sequential scans are several times faster.
_MESSAGES_SQL = """
SELECT id, CAST(strftime('%s', occurred_at) AS INTEGER), kind = 'slack',
       participant_count, sender_id
FROM interactions
WHERE kind IN ('email', 'slack') AND occurred_at <= :as_of
"""
_RECIPIENTS_SQL = """
SELECT interaction_id, person_id, role = 'cc' FROM interaction_participants
"""

# Meetings and logged interactions: everyone on them shares the contact.
# "Only me" logs stay out: the graph is shared, and even a count in someone
# else's explanation would tell them the private entry exists.
_SHARED_SQL = """
SELECT i.id, CAST(strftime('%s', i.occurred_at) AS INTEGER), i.kind,
       i.participant_count, ip.person_id
FROM interactions i
JOIN interaction_participants ip ON ip.interaction_id = i.id
WHERE i.kind IN ('meeting', 'logged') AND i.occurred_at <= :as_of
  AND NOT EXISTS (
      SELECT 1 FROM logged_interactions li
      WHERE li.interaction_id = i.id AND li.visibility = 'private')
ORDER BY i.id
"""

_PEOPLE_SQL = """
SELECT p.id, p.display_name, p.is_colleague, p.org_id, p.slack_user_id,
       (SELECT display FROM email_addresses e WHERE e.person_id = p.id
        ORDER BY e.address_key LIMIT 1)
FROM people p
WHERE p.opted_out = 0 AND p.is_bot = 0
"""


async def build_graph(
    db: aiosqlite.Connection,
    *,
    as_of: datetime | None = None,
    config: ScoringConfig = DEFAULT_SCORING,
) -> RelationshipGraph:
    """Read storage and build the graph with recency evaluated at `as_of`."""
    started = time.perf_counter()
    as_of = (as_of or datetime.now(UTC)).astimezone(UTC)
    params = {"as_of": as_of.isoformat()}
    result = RelationshipGraph(nx.Graph(), as_of, config)

    async with db.execute(_PEOPLE_SQL) as cursor:
        for row in await cursor.fetchall():
            result.people[row[0]] = PersonInfo(
                id=row[0],
                name=row[1] or name_from_address(row[5]),
                email=row[5],
                is_colleague=bool(row[2]),
                org_id=row[3],
                slack_user_id=row[4],
            )
    async with db.execute(
        "SELECT o.id, o.name, group_concat(d.domain, ' ') FROM organisations o"
        " LEFT JOIN org_domains d ON d.org_id = o.id GROUP BY o.id"
    ) as cursor:
        for oid, name, domains in await cursor.fetchall():
            result.orgs[oid] = OrgInfo(
                oid, name, tuple(sorted((domains or "").split()))
            )

    # The arithmetic runs in worker threads, a chunk at a time: on a large
    # firm it takes seconds, and the event loop must keep acking Slack.
    pairs: dict[tuple[int, int], PairStats] = {}
    now = as_of.timestamp()
    async with db.execute("SELECT COALESCE(MAX(id), 0) FROM interactions") as cursor:
        messages = _Messages((await cursor.fetchone())[0])
    async with db.execute(_MESSAGES_SQL, params) as cursor:
        cursor.row_factory = None
        while rows := await cursor.fetchmany(_CHUNK):
            await asyncio.to_thread(messages.add, rows, now, config)
    roles = _roles(result.people)
    async with db.execute(_RECIPIENTS_SQL) as cursor:
        cursor.row_factory = None
        while rows := await cursor.fetchmany(_CHUNK):
            await asyncio.to_thread(_add_directed, rows, messages, roles, pairs, config)
    async with db.execute(_SHARED_SQL, params) as cursor:
        rows = await cursor.fetchall()
    await asyncio.to_thread(_add_shared, rows, pairs, result.people, now, config)
    await asyncio.to_thread(_assemble, result, pairs)

    result.build_seconds = time.perf_counter() - started
    logger.info(
        "graph built: %d people, %d organisations, %d relationships in %.2fs",
        len(result.people),
        len(result.orgs),
        len(pairs),
        result.build_seconds,
    )
    return result


def _assemble(result: RelationshipGraph, pairs: dict) -> None:
    graph = result.graph
    for person in result.people.values():
        graph.add_node(("person", person.id))
        if not person.is_colleague and person.org_id is not None:
            graph.add_edge(("person", person.id), ("org", person.org_id), works_at=True)
    for (colleague, contact), stats in pairs.items():
        graph.add_edge(("person", colleague), ("person", contact), stats=stats)


_CHUNK = 100_000
_ABSENT, _CONTACT, _COLLEAGUE = 0, 1, 2


class _Messages:
    """Per-message facts in flat arrays indexed by interaction id (ids are dense)."""

    def __init__(self, max_id: int) -> None:
        size = max_id + 1
        self.sender = array("q", bytes(8 * size))
        self.when = array("d", bytes(8 * size))
        self.weight = array("d", bytes(8 * size))
        self.slack = bytearray(size)

    def add(self, rows, now: float, config: ScoringConfig) -> None:
        email, slack = config.channel("email"), config.channel("slack")
        for iid, when, is_slack, count, sender in rows:
            if sender is None:
                continue
            self.sender[iid] = sender
            self.when[iid] = when
            self.slack[iid] = is_slack
            self.weight[iid] = (
                (slack if is_slack else email)
                * exclusivity(count, "to", config)
                * decay(now - when, config)
            )


def _roles(people: dict[int, PersonInfo]) -> bytearray:
    """Colleague or contact per person id; absent (opted out, bot) stays 0."""
    roles = bytearray(max(people, default=0) + 1)
    for pid, person in people.items():
        roles[pid] = _COLLEAGUE if person.is_colleague else _CONTACT
    return roles


def _add_directed(rows, messages: _Messages, roles, pairs, config) -> None:
    senders, known = messages.sender, len(roles)
    cc = config.cc
    for iid, recipient, is_cc in rows:
        sender = senders[iid] if iid < len(senders) else 0
        if not sender or sender == recipient or sender >= known or recipient >= known:
            continue
        sender_role, recipient_role = roles[sender], roles[recipient]
        if not sender_role or not recipient_role or sender_role == recipient_role:
            continue
        weight = messages.weight[iid] * (cc if is_cc else 1.0)
        colleague_sent = sender_role == _COLLEAGUE
        key = (sender, recipient) if colleague_sent else (recipient, sender)
        stats = pairs.get(key)
        if stats is None:
            stats = pairs[key] = PairStats()
        is_slack = messages.slack[iid]
        if is_slack:
            stats.slack += 1
        if colleague_sent:
            stats.out += weight
            stats.sent += not is_slack
        else:
            stats.inbound += weight
            stats.received += not is_slack
        when = messages.when[iid]
        if when > stats.last:
            stats.last = when


def _add_shared(rows, pairs, people, now, config) -> None:
    groups: dict[int, tuple[int, str, int, list[int]]] = {}
    for iid, when, kind, count, person in rows:
        if person in people:
            groups.setdefault(iid, (when, kind, count, []))[3].append(person)
    for when, kind, count, members in groups.values():
        colleagues = [p for p in members if people[p].is_colleague]
        contacts = [p for p in members if not people[p].is_colleague]
        weight = (
            config.channel(kind)
            * exclusivity(count, "to", config)
            * decay(now - when, config)
        )
        for colleague in colleagues:
            for contact in contacts:
                stats = pairs.setdefault((colleague, contact), PairStats())
                stats.shared += weight
                if kind == "meeting":
                    stats.meetings += 1
                else:
                    stats.logged += 1
                stats.last = max(stats.last, when)
