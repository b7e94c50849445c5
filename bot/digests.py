"""What the weekly digests say: computed from the graph and the CRM, as of a moment.

A digest is computed as of its due moment, not as of when it happens to be
sent, so a digest sent late after a restart (or retried) says the same thing.

"Going cold" means: the colleague and the contact were strong over the quarter
before they went quiet (score of that window's interactions alone), and have
now been silent for `cold_after_days`; it is reported in the one week the
silence crosses that threshold. The window's weights come from two graphs, as
of the silence and a quarter before it: decay is exponential, so the older
graph's sums, decayed by one more quarter, are exactly the part to take away.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from bot.graph import RelationshipGraph, build_graph
from bot.local_time import zone
from bot.scoring import PairStats, ScoringConfig, decay, effective, explain, to_score
from bot.services import Services
from handlers.blocks import digest as blocks
from storage import crm
from storage.digests import (
    OrgActivity,
    Recipient,
    busiest_organisations,
    new_organisations,
    person_id_for_slack,
    recipient_by_slack_id,
    set_digest_preference,
)
from storage.people import person_by_slack_id

logger = logging.getLogger(__name__)

WEEK = timedelta(days=7)
QUARTER = timedelta(days=90)
# A pair at or above this score over the quarter counts as a strong relationship.
STRONG_SCORE = 40.0
ORG_LIMIT = 5
LOG_LIMIT = 30


@dataclass(frozen=True, slots=True)
class DueFollowUp:
    id: int
    due_on: date
    overdue: bool
    org_id: int | None
    org_name: str | None
    kind: str
    note: str
    private: bool


@dataclass(frozen=True, slots=True)
class ContactLine:
    """An outside contact as a digest shows them."""

    person_id: int
    name: str
    org_name: str | None
    last: datetime | None
    detail: str
    score: float


@dataclass(frozen=True, slots=True)
class LogLine:
    id: int
    logger_name: str
    logger_slack_id: str | None
    org_id: int | None
    org_name: str | None
    kind: str
    occurred_at: datetime
    note: str
    permalink: str | None
    private: bool


@dataclass(frozen=True, slots=True)
class PersonalDigest:
    person_id: int
    slack_user_id: str
    as_of: datetime
    week_start: date
    followups: tuple[DueFollowUp, ...]
    going_cold: tuple[ContactLine, ...]
    new_relationships: tuple[ContactLine, ...]
    colleague_logs: tuple[LogLine, ...]

    @property
    def empty(self) -> bool:
        return not (
            self.followups
            or self.going_cold
            or self.new_relationships
            or self.colleague_logs
        )


@dataclass(frozen=True, slots=True)
class ChannelDigest:
    as_of: datetime
    week_start: date
    busiest: tuple[OrgActivity, ...]
    new_organisations: tuple[OrgActivity, ...]
    logs: tuple[LogLine, ...]

    @property
    def empty(self) -> bool:
        return not (self.busiest or self.new_organisations or self.logs)


class GraphsAt:
    """Graphs as of given moments, built once and shared by one tick's digests."""

    def __init__(self, services: Services) -> None:
        self._services = services
        self._config = ScoringConfig(half_life_days=services.settings.half_life_days)
        self._built: dict[datetime, RelationshipGraph] = {}

    @property
    def config(self) -> ScoringConfig:
        return self._config

    async def at(self, moment: datetime) -> RelationshipGraph:
        moment = moment.astimezone(UTC)
        if moment not in self._built:
            self._built[moment] = await build_graph(
                self._services.db, as_of=moment, config=self._config
            )
        return self._built[moment]


async def personal_digest(
    services: Services, person: Recipient, *, as_of: datetime, graphs: GraphsAt
) -> PersonalDigest:
    """The weekly digest of one colleague, for the week starting at `as_of`."""
    settings = services.settings
    tz = zone(person.tz, settings.default_timezone)
    week_start = as_of.astimezone(tz).date()
    silent_since = as_of - timedelta(days=settings.cold_after_days)

    now_graph = await graphs.at(as_of)
    followups = await _followups(services, person.person_id, week_start=week_start)
    going_cold = await _going_cold(
        person.person_id, now_graph, graphs=graphs, silent_since=silent_since
    )
    new = _new_relationships(
        person.person_id, now_graph, await graphs.at(as_of - WEEK), graphs.config
    )
    logs = await _colleague_logs(services, person.person_id, now_graph, as_of=as_of)
    return PersonalDigest(
        person_id=person.person_id,
        slack_user_id=person.slack_user_id,
        as_of=as_of,
        week_start=week_start,
        followups=tuple(followups),
        going_cold=tuple(going_cold),
        new_relationships=tuple(new),
        colleague_logs=tuple(logs),
    )


async def channel_digest(services: Services, *, as_of: datetime) -> ChannelDigest:
    """The team's week: busiest and new organisations, team-visible logs."""
    db = services.db
    tz = zone(None, services.settings.default_timezone)
    since = as_of - WEEK
    busiest = await busiest_organisations(db, since=since, until=as_of, limit=ORG_LIMIT)
    new = await new_organisations(db, since=since, until=as_of, limit=ORG_LIMIT)
    # No viewer: "only me" entries are never in a channel message.
    logged = await crm.logged_interactions(
        db, since=since, until=as_of, viewer_person_id=None, limit=LOG_LIMIT
    )
    return ChannelDigest(
        as_of=as_of,
        week_start=as_of.astimezone(tz).date(),
        busiest=tuple(busiest),
        new_organisations=tuple(new),
        logs=tuple(_log_line(item) for item in logged if not item.private),
    )


async def _followups(
    services: Services, person_id: int, *, week_start: date
) -> list[DueFollowUp]:
    week_end = week_start + timedelta(days=6)
    # The owner sees their own "only me" follow-ups: the digest is theirs alone.
    due = await crm.followups_due(
        services.db, person_id=person_id, due_before=week_end.isoformat()
    )
    found = []
    for item in due:
        due_on = date.fromisoformat(item.due_on[:10])
        found.append(
            DueFollowUp(
                id=item.id,
                due_on=due_on,
                overdue=due_on < week_start,
                org_id=item.org_id,
                org_name=item.org_name,
                kind=item.kind,
                note=item.note,
                private=item.visibility == "private",
            )
        )
    return found


async def _going_cold(
    person_id: int,
    now_graph: RelationshipGraph,
    *,
    graphs: GraphsAt,
    silent_since: datetime,
) -> list[ContactLine]:
    config = graphs.config
    then = await graphs.at(silent_since)
    before = await graphs.at(silent_since - QUARTER)
    quarter_decay = decay(QUARTER.total_seconds(), config)
    crossed_after = (silent_since - WEEK).timestamp()
    found = []
    for contact_id, stats in _pairs_of(then, person_id):
        # Crossed the silence threshold this week, and nothing since.
        if not crossed_after < stats.last <= silent_since.timestamp():
            continue
        current = now_graph.pair(person_id, contact_id)
        if current is None or current.last > silent_since.timestamp():
            continue
        old = before.pair(person_id, contact_id) or PairStats()
        score = to_score(
            effective(
                max(stats.out - old.out * quarter_decay, 0.0),
                max(stats.inbound - old.inbound * quarter_decay, 0.0),
                max(stats.shared - old.shared * quarter_decay, 0.0),
                config,
            ),
            config,
        )
        if score >= STRONG_SCORE:
            found.append(_contact_line(now_graph, contact_id, current, score=score))
    found.sort(key=lambda line: (-line.score, line.name))
    return found


def _new_relationships(
    person_id: int,
    now_graph: RelationshipGraph,
    week_ago: RelationshipGraph,
    config: ScoringConfig,
) -> list[ContactLine]:
    found = []
    for contact_id, stats in _pairs_of(now_graph, person_id):
        if week_ago.pair(person_id, contact_id) is not None:
            continue
        # A cold email nobody answered is not a relationship; a reply or a
        # meeting is.
        if not ((stats.out and stats.inbound) or stats.shared):
            continue
        score = to_score(stats.effective(config), config)
        found.append(_contact_line(now_graph, contact_id, stats, score=score))
    found.sort(key=lambda line: (-line.score, line.name))
    return found


async def _colleague_logs(
    services: Services, person_id: int, graph: RelationshipGraph, *, as_of: datetime
) -> list[LogLine]:
    orgs = {
        graph.people[contact].org_id
        for contact, _ in _pairs_of(graph, person_id)
        if contact in graph.people and graph.people[contact].org_id is not None
    }
    if not orgs:
        return []
    # With this person as the viewer, the only "only me" entries returned are
    # their own, and those are dropped below: the section is colleagues' work.
    logged = await crm.logged_interactions(
        services.db, since=as_of - WEEK, until=as_of, viewer_person_id=person_id
    )
    return [
        _log_line(item)
        for item in logged
        if item.org_id in orgs and item.logger_id != person_id and not item.private
    ][:LOG_LIMIT]


def _pairs_of(graph: RelationshipGraph, person_id: int) -> list[tuple[int, PairStats]]:
    node = ("person", person_id)
    if node not in graph.graph:
        return []
    return [
        (other[1], data["stats"])
        for other, data in graph.graph.adj[node].items()
        if "stats" in data
    ]


def _contact_line(
    graph: RelationshipGraph, contact_id: int, stats: PairStats, *, score: float
) -> ContactLine:
    info = graph.people.get(contact_id)
    org = graph.orgs.get(info.org_id) if info and info.org_id is not None else None
    return ContactLine(
        person_id=contact_id,
        name=info.name if info else f"person {contact_id}",
        org_name=org.name if org else None,
        last=datetime.fromtimestamp(stats.last, UTC) if stats.last else None,
        detail=explain(stats),
        score=score,
    )


def _log_line(item: crm.LoggedInteraction) -> LogLine:
    return LogLine(
        id=item.id,
        logger_name=item.logger_name,
        logger_slack_id=item.logger_slack_id,
        org_id=item.org_id,
        org_name=item.org_name,
        kind=item.kind,
        occurred_at=_parse_time(item.occurred_at),
        note=item.note,
        permalink=item.permalink,
        private=item.private,
    )


def _parse_time(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# What /rapport digest calls ---------------------------------------------------------


async def preview_digest(services: Services, slack_user_id: str) -> dict:
    """The person's digest as it would look now: a message for the command to show.

    Returns `{"text": ..., "blocks": [...]}` ready for `respond(**message)`.
    """
    person = await recipient_by_slack_id(services.db, slack_user_id)
    if person is None:
        return blocks.not_a_recipient_message(await _why_not(services, slack_user_id))
    now = services.clock()
    digest = await personal_digest(
        services, person, as_of=now, graphs=GraphsAt(services)
    )
    tz = zone(person.tz, services.settings.default_timezone)
    return blocks.personal_digest_message(
        digest, tz=tz, preview=True, enabled=person.digests_enabled
    )


async def set_digests_enabled(
    services: Services, slack_user_id: str, enabled: bool
) -> dict:
    """Turn the person's weekly digest on or off; returns the confirmation message."""
    person_id = await person_id_for_slack(services.db, slack_user_id)
    if person_id is None:
        return blocks.not_a_recipient_message("unknown")
    # One upsert, atomic on its own: no transaction to interleave with others
    # on the connection the handlers share.
    await set_digest_preference(
        services.db, person_id, enabled=enabled, now=services.clock()
    )
    logger.info(
        "Digests turned %s for person %d", "on" if enabled else "off", person_id
    )
    return blocks.digests_toggled_message(
        enabled=enabled,
        weekday=services.settings.digest_weekday,
        hour=services.settings.digest_hour,
    )


async def _why_not(services: Services, slack_user_id: str) -> str:
    row = await person_by_slack_id(services.db, slack_user_id)
    if row is None:
        return "unknown"
    if row.opted_out:
        return "opted_out"
    return "not_colleague"
