"""The App Home's data: a user's strongest contacts, logs and follow-ups.

Also completing and snoozing a follow-up, which only its owner or, for team
entries, a colleague may do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from bot.crm.people import viewer_person_id
from bot.graph import RelationshipGraph
from bot.scoring import explain, to_score
from bot.services import Services
from storage import crm as store

HOME_FOLLOWUP_DAYS = 7


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
