"""Account cards: what /client shows of one organisation to one viewer.

Its contacts by strength, the colleagues who know it best, and the logs and
follow-ups the viewer may see, whole or a page at a time.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.crm.errors import CrmError
from bot.crm.people import viewer_person_id
from bot.graph import RelationshipGraph
from bot.queries import Colleague, rank_colleagues_for_org
from bot.scoring import PairStats, to_score
from bot.services import Services
from storage import crm as store


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
