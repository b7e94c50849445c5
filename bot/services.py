"""What handlers and scheduled jobs share: settings, database, graph, clock."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import aiosqlite

from bot.graph import RelationshipGraph, build_graph
from bot.queries import Answer, NameIndex, build_index, who_knows
from bot.scoring import ScoringConfig
from bot.settings import Settings

logger = logging.getLogger(__name__)


def utc_now() -> datetime:
    return datetime.now(UTC)


class GraphCache:
    """The current graph and name index, rebuilt after captures, read by queries.

    A rebuild makes a new graph and swaps it in whole, so a query running in a
    worker thread always sees one consistent graph.
    """

    def __init__(
        self,
        db: aiosqlite.Connection,
        *,
        config: ScoringConfig,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._db = db
        self._config = config
        self._clock = clock
        self._current: tuple[RelationshipGraph, NameIndex] | None = None
        self._lock = asyncio.Lock()
        # Refresh requests are numbered; a rebuild covers every request made
        # before it started, so a burst of logs costs one rebuild, not one each.
        self._requested = 0
        self._covered = 0

    async def current(self) -> tuple[RelationshipGraph, NameIndex]:
        if self._current is None:
            await self.refresh()
        assert self._current is not None
        return self._current

    async def refresh(self) -> None:
        """Rebuild from storage; return once a rebuild begun after this call is done."""
        self._requested += 1
        ticket = self._requested
        async with self._lock:
            if self._covered >= ticket:
                return  # a rebuild that began after our request already ran
            covers = self._requested
            graph = await build_graph(
                self._db, as_of=self._clock(), config=self._config
            )
            index = await asyncio.to_thread(build_index, graph)
            self._current = (graph, index)
            self._covered = covers


@dataclass
class Services:
    settings: Settings
    db: aiosqlite.Connection
    graphs: GraphCache
    clock: Callable[[], datetime] = utc_now
    # Tests slow this down to prove a slow query never blocks other users.
    answer_hook: Callable[[Answer], None] | None = None
    extras: dict = field(default_factory=dict)

    async def who_knows(self, query: str, *, limit: int = 5) -> Answer:
        """Answer off the event loop: graph work runs in a worker thread."""
        graph, index = await self.graphs.current()

        def run() -> Answer:
            answer = who_knows(graph, index, query, limit=limit)
            if self.answer_hook is not None:
                self.answer_hook(answer)
            return answer

        return await asyncio.to_thread(run)

    async def choice_query(self, kind: str, match_id: int) -> str | None:
        """A query naming exactly this organisation or person, for choice buttons.

        A domain or an email address is looked up exactly, so re-asking never
        lands on the same ambiguous list again; the name is the last resort.
        """
        graph, _ = await self.graphs.current()
        if kind == "organisation":
            org = graph.orgs.get(match_id)
            if org is None:
                return None
            return org.domains[0] if org.domains else org.name
        person = graph.people.get(match_id)
        if person is None:
            return None
        return person.email or person.name


async def create_services(
    settings: Settings, *, clock: Callable[[], datetime] = utc_now
):
    from storage.connection import connect

    db = await connect(settings.db_path)
    config = ScoringConfig(half_life_days=settings.half_life_days)
    return Services(
        settings, db, GraphCache(db, config=config, clock=clock), clock=clock
    )
