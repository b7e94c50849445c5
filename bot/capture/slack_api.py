"""Live, incremental capture from the Slack Web API.

One run: `auth.test` (who the bot is, which workspace is home), `users.list`,
`conversations.list` (the conversations the bot is in), then per conversation
`conversations.history` and `conversations.replies` from where the last run
stopped. Each history page is written in one transaction together with the
channel's cursor, so a crash or kill loses nothing and repeats nothing: the
next run resumes from the last committed page.

A channel's cursor (sync_state, source "slack", scope the channel id) is JSON:
`newest` is the newest top-level ts of the last complete pass; while a pass
runs, `oldest`, `page` (Slack's next_cursor) and `top` (newest ts seen in the
pass) say where to resume. Slack pages history newest first, so `newest` only
moves once a pass has reached its oldest page.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import aiosqlite
from slack_sdk.web.async_client import AsyncWebClient

from bot.capture.imports import exclusions_from
from bot.capture.rate_limit import (
    CallStats,
    RunStopped,
    SlackCaller,
    SlackCallError,
    Sleep,
)
from bot.capture.slack_fields import Fields, slack_id, slack_ids
from bot.capture.slack_members import (
    MemberCounts,
    SlackDirectory,
    SlackMember,
    TeamInfo,
    member_from_json,
    read_members,
)
from bot.capture.slack_messages import (
    MessageCounts,
    SlackMessage,
    SlackMessageWriter,
    read_message,
    ts_to_iso,
    user_ids_in,
)
from bot.settings import Settings
from storage import slack as slack_store
from storage.connection import transaction

logger = logging.getLogger(__name__)

SOURCE = "slack"
CONVERSATION_TYPES = "public_channel,private_channel,mpim,im"
DEFAULT_PAGE_SIZE = 200
# Slack lists a thread under its parent's ts, so a reply to an older thread
# only shows as a newer latest_reply on that parent. Each pass re-reads this
# much history before `newest` to catch them; parents whose latest_reply is
# unchanged cost nothing more.
THREAD_LOOKBACK = timedelta(days=7)


@dataclass(slots=True)
class SlackSyncSummary:
    messages: MessageCounts = field(default_factory=MessageCounts)
    members: MemberCounts = field(default_factory=MemberCounts)
    stats: CallStats = field(default_factory=CallStats)
    channels: int = 0
    channels_done: int = 0
    channels_failed: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    # Why the run ended before reading everything (None when it did not).
    stopped: str | None = None
    seconds: float = 0.0

    @property
    def rate_limited(self) -> int:
        return self.stats.rate_limited

    @property
    def complete(self) -> bool:
        return self.stopped is None and self.channels_failed == 0

    def line(self) -> str:
        errors = ", ".join(f"{n} {code}" for code, n in self.errors.most_common())
        ending = f"; stopped early: {self.stopped}" if self.stopped else ""
        return (
            f"slack sync: {self.messages.line(duplicates='already stored')}; "
            f"{self.members.line()}; {self.channels_done}/{self.channels} "
            f"conversations complete ({self.channels_failed} failed); "
            f"{sum(self.stats.calls.values())} API calls, "
            f"{self.stats.rate_limited} rate-limited (waited "
            f"{self.stats.waited_seconds:.0f}s), {self.stats.server_errors} server "
            f"errors, failed calls: {errors or 'none'}"
            f"{ending}; {self.seconds:.1f}s"
        )


@dataclass(frozen=True, slots=True)
class ChannelCursor:
    newest: str | None = None
    running: bool = False
    oldest: str | None = None
    page: str | None = None
    top: str | None = None

    @classmethod
    def loads(cls, text: str | None) -> ChannelCursor:
        if not text:
            return cls()
        try:
            data = json.loads(text)
            page = data.get("page")
            return cls(
                newest=_ts_or_none(data.get("newest")),
                running=data.get("running") is True,
                oldest=_ts_or_none(data.get("oldest")),
                page=page if isinstance(page, str) and page else None,
                top=_ts_or_none(data.get("top")),
            )
        except (ValueError, AttributeError, RecursionError):
            logger.warning("unreadable Slack channel cursor; reading the channel again")
            return cls()

    def dumps(self) -> str:
        return json.dumps(
            {
                "newest": self.newest,
                "running": self.running,
                "oldest": self.oldest,
                "page": self.page,
                "top": self.top,
            },
            sort_keys=True,
        )

    def start(self, lookback: timedelta) -> ChannelCursor:
        """A new pass: from `newest` minus the lookback (all history the first time)."""
        oldest = None
        if self.newest is not None:
            floor = Decimal(self.newest) - Decimal(int(lookback.total_seconds()))
            oldest = f"{max(floor, Decimal(0)):.6f}"
        return ChannelCursor(self.newest, True, oldest, None, self.newest)

    def advanced(self, next_page: str, seen_ts: list[str]) -> ChannelCursor:
        top = _max_ts([self.top, *seen_ts])
        if next_page and next_page != self.page:
            return replace(self, page=next_page, top=top)
        return ChannelCursor(newest=top)


async def sync_slack(
    db: aiosqlite.Connection,
    client: AsyncWebClient,
    *,
    settings: Settings,
    clock: Callable[[], datetime],
    sleep: Sleep = asyncio.sleep,
    page_size: int = DEFAULT_PAGE_SIZE,
    max_consecutive_429: int = 5,
    thread_lookback: timedelta = THREAD_LOOKBACK,
) -> SlackSyncSummary:
    """Capture members and new message metadata; never raises for an API failure."""
    started = time.perf_counter()
    summary = SlackSyncSummary()
    caller = SlackCaller(
        client,
        sleep=sleep,
        max_consecutive_429=max_consecutive_429,
        stats=summary.stats,
    )
    run = _SlackSync(
        db,
        caller,
        settings=settings,
        clock=clock,
        summary=summary,
        page_size=page_size,
        lookback=thread_lookback,
    )
    try:
        await run.run()
    except RunStopped as exc:
        summary.errors[exc.error] += 1
        summary.stopped = f"{exc.method} {exc.error}"
        logger.warning("Slack sync stopped: %s answered %s", exc.method, exc.error)
    finally:
        summary.seconds = time.perf_counter() - started
    logger.info("%s", summary.line())
    return summary


class _SlackSync:
    def __init__(
        self,
        db: aiosqlite.Connection,
        caller: SlackCaller,
        *,
        settings: Settings,
        clock: Callable[[], datetime],
        summary: SlackSyncSummary,
        page_size: int,
        lookback: timedelta,
    ) -> None:
        self.db = db
        self.caller = caller
        self.settings = settings
        self.clock = clock
        self.summary = summary
        self.page_size = page_size
        self.lookback = lookback
        self.team_id = ""
        self.bot_user_id = ""
        self.directory: SlackDirectory | None = None
        self.writer: SlackMessageWriter | None = None
        self._logged: set[tuple[str, str]] = set()
        self._no_profile: set[str] = set()
        self._teams_asked: set[str] = set()

    async def run(self) -> None:
        try:
            auth = await self.caller.call("auth.test")
        except SlackCallError as exc:
            raise RunStopped(exc.method, exc.error, status=exc.status) from None
        self.team_id = slack_id(auth.get("team_id")) or ""
        self.bot_user_id = slack_id(auth.get("user_id")) or ""
        home = [self.team_id, slack_id(auth.get("enterprise_id")) or ""]
        self.directory = SlackDirectory(
            home_teams=home,
            internal_domains=self.settings.internal_domains,
            exclusions=exclusions_from(self.settings),
        )
        self.summary.members = self.directory.counts
        self.writer = SlackMessageWriter(
            source=SOURCE, directory=self.directory, counts=self.summary.messages
        )

        try:
            await self._sync_members()
        except SlackCallError as exc:
            if isinstance(exc, RunStopped):
                raise
            # Authors can still be looked up one by one with users.info.
            self._failed(exc)
        try:
            conversations = await self._conversations()
        except SlackCallError as exc:
            if isinstance(exc, RunStopped):
                raise
            self._failed(exc)
            self.summary.stopped = f"{exc.method} {exc.error}"
            return
        self.summary.channels = len(conversations)
        for conversation in conversations:
            try:
                await self._sync_conversation(conversation)
            except RunStopped:
                raise
            except SlackCallError as exc:
                self.summary.channels_failed += 1
                self._failed(exc)
            else:
                self.summary.channels_done += 1

    def _failed(self, exc: SlackCallError) -> None:
        """Count every failure; log each kind once per run."""
        self.summary.errors[exc.error] += 1
        if (exc.method, exc.error) not in self._logged:
            self._logged.add((exc.method, exc.error))
            logger.warning("Slack %s failed: %s (skipped)", exc.method, exc.error)

    async def _sync_members(self) -> None:
        cursor = ""
        seen: set[str] = set()
        while True:
            page = await self.caller.call(
                "users.list", limit=self.page_size, cursor=cursor
            )
            members = read_members(
                _items(page, "members", self.summary), self.summary.messages.bad
            )
            teams = await self._team_infos(members)
            await self._write(members=members, teams=teams)
            seen.add(cursor)
            cursor = _next_cursor(page)
            # An empty next_cursor is Slack's "last page"; a repeated one
            # would loop for ever.
            if not cursor or cursor in seen:
                return

    async def _conversations(self) -> list[Mapping[str, Any]]:
        found: dict[str, Mapping[str, Any]] = {}
        cursor = ""
        seen: set[str] = set()
        while True:
            page = await self.caller.call(
                "conversations.list",
                types=CONVERSATION_TYPES,
                limit=self.page_size,
                cursor=cursor,
            )
            for channel in _items(page, "channels", self.summary):
                channel_id = slack_id(channel.get("id"))
                if channel_id is None:
                    self.summary.messages.bad["conversation without id"] += 1
                    continue
                # IM objects carry no is_member: the bot is in every IM it sees.
                if channel.get("is_member") is True or channel.get("is_im") is True:
                    found[channel_id] = channel
            seen.add(cursor)
            cursor = _next_cursor(page)
            if not cursor or cursor in seen:
                return [found[cid] for cid in sorted(found)]

    async def _conversation_members(
        self, channel: Mapping[str, Any]
    ) -> tuple[str, ...]:
        """Everyone in a DM or group DM (the bot itself aside); () for channels."""
        if channel.get("is_im") is True:
            members = [slack_id(channel.get("user")) or ""]
        elif channel.get("is_mpim") is True:
            members, cursor, seen = [], "", set()
            while True:
                page = await self.caller.call(
                    "conversations.members",
                    channel=channel["id"],
                    limit=self.page_size,
                    cursor=cursor,
                )
                found = slack_ids(page.get("members"))
                if found is None:
                    self.summary.messages.bad["malformed conversations.members"] += 1
                members.extend(found or ())
                seen.add(cursor)
                cursor = _next_cursor(page)
                if not cursor or cursor in seen:
                    break
        else:
            return ()
        return tuple(m for m in members if m and m != self.bot_user_id)

    async def _sync_conversation(self, channel: Mapping[str, Any]) -> None:
        channel_id = str(channel["id"])
        stored = await slack_store.load_cursor(self.db, source=SOURCE, scope=channel_id)
        state = ChannelCursor.loads(stored)
        if not state.running:
            state = state.start(self.lookback)
        members = await self._conversation_members(channel)
        restarted = False
        while True:
            try:
                page = await self.caller.call(
                    "conversations.history",
                    channel=channel_id,
                    limit=self.page_size,
                    oldest=state.oldest,
                    cursor=state.page,
                )
            except SlackCallError as exc:
                if exc.error != "invalid_cursor" or not state.page or restarted:
                    raise
                # Slack no longer takes the saved cursor: read the pass again
                # from its newest page; stored keys make the repeat harmless.
                restarted = True
                state = replace(state, page=None)
                continue
            raw = _items(page, "messages", self.summary)
            replies, progress = await self._threads(channel_id, raw)
            messages = self._read(channel_id, [*raw, *replies], members)
            new_members = await self._new_members(messages)
            teams = await self._team_infos(new_members)
            state = state.advanced(
                _next_cursor(page),
                [str(m["ts"]) for m in raw if ts_to_iso(m.get("ts"))],
            )
            await self._write(
                members=new_members,
                teams=teams,
                messages=messages,
                progress=(channel_id, progress),
                cursor=(channel_id, state),
            )
            if not state.running:
                return

    def _read(
        self,
        channel_id: str,
        raw: list[Mapping[str, Any]],
        members: tuple[str, ...],
    ) -> list[SlackMessage]:
        found = []
        for item in raw:
            message = self.summary.messages.take(
                read_message(
                    item, team_id=self.team_id, channel_id=channel_id, members=members
                )
            )
            if message is not None:
                found.append(message)
        return found

    async def _threads(
        self, channel_id: str, messages: list[Mapping[str, Any]]
    ) -> tuple[list[Mapping[str, Any]], dict[str, str]]:
        """Replies of the threads on this page that changed since they were read."""
        parents = {
            str(m["ts"]): _ts_or_none(m.get("latest_reply")) or ""
            for m in messages
            if ts_to_iso(m.get("ts"))
            and Fields(m).count("reply_count") > 0
            and m.get("thread_ts") == m.get("ts")
        }
        if not parents:
            return [], {}
        read = await slack_store.thread_progress(self.db, channel_id, parents)
        replies: list[Mapping[str, Any]] = []
        progress: dict[str, str] = {}
        for thread_ts, latest in parents.items():
            if latest and read.get(thread_ts) == latest:
                continue
            thread = await self._replies(channel_id, thread_ts)
            replies.extend(thread)
            newest = _max_ts([latest, *(str(m.get("ts")) for m in thread)])
            if newest:
                progress[thread_ts] = newest
        return replies, progress

    async def _replies(
        self, channel_id: str, thread_ts: str
    ) -> list[Mapping[str, Any]]:
        replies: list[Mapping[str, Any]] = []
        cursor, seen = "", set()
        while True:
            try:
                page = await self.caller.call(
                    "conversations.replies",
                    channel=channel_id,
                    ts=thread_ts,
                    limit=self.page_size,
                    cursor=cursor,
                )
            except SlackCallError as exc:
                if exc.error != "thread_not_found" or isinstance(exc, RunStopped):
                    raise
                self._failed(exc)  # deleted since history listed it
                return replies
            for message in _items(page, "messages", self.summary):
                # Slack repeats the parent at the head of every page; history has it.
                if message.get("ts") != thread_ts:
                    replies.append(message)
            seen.add(cursor)
            cursor = _next_cursor(page)
            if not cursor or cursor in seen:
                return replies

    async def _new_members(self, messages: list[SlackMessage]) -> list[SlackMember]:
        """Profiles (users.info) of people not in users.list: Slack Connect, mostly."""
        assert self.directory is not None
        ids = user_ids_in(messages) - {self.bot_user_id} - self._no_profile
        unknown = await self.directory.unknown(self.db, ids)
        authors = {m.author for m in messages}
        found = []
        for user_id in sorted(unknown):
            member = None
            try:
                answer = await self.caller.call("users.info", user=user_id)
                member = member_from_json(answer.get("user"))
                if member is not None:
                    self.summary.messages.bad.update(member.problems)
            except RunStopped:
                raise
            except SlackCallError as exc:
                self._failed(exc)
            if member is None and user_id in authors:
                # Someone wrote here: keep them as a person known by id alone.
                member = SlackMember(user_id, None, "", has_profile=False)
            if member is None:
                self._no_profile.add(user_id)
            else:
                found.append(member)
        return found

    async def _team_infos(self, members: Sequence[SlackMember]) -> dict[str, TeamInfo]:
        """team.info for the other workspaces whose organisation is not yet known."""
        assert self.directory is not None
        wanted = await self.directory.teams_to_look_up(self.db, members)
        infos = {}
        for team_id in sorted(wanted - self._teams_asked):
            self._teams_asked.add(team_id)
            try:
                answer = await self.caller.call("team.info", team=team_id)
            except RunStopped:
                raise
            except SlackCallError as exc:
                # Without team:read, or for a workspace Slack will not describe,
                # the profile's enterprise name is all there is to go on.
                self._failed(exc)
                continue
            team = Fields(answer).nested("team")
            if team.ident("id") == team_id:
                infos[team_id] = TeamInfo(
                    team_id=team_id,
                    name=team.text("name") or "",
                    email_domain=team.text("email_domain"),
                )
            if team.wrong:
                self.summary.messages.bad["malformed team.info"] += 1
        return infos

    async def _write(
        self,
        *,
        members: Sequence[SlackMember] = (),
        teams: Mapping[str, TeamInfo] | None = None,
        messages: Sequence[SlackMessage] = (),
        progress: tuple[str, dict[str, str]] | None = None,
        cursor: tuple[str, ChannelCursor] | None = None,
    ) -> None:
        """One transaction: people, interactions, thread progress and the cursor."""
        assert self.directory is not None and self.writer is not None
        try:
            async with transaction(self.db):
                if members:
                    await self.directory.upsert(self.db, members, teams=teams)
                if messages:
                    await self.writer.write(self.db, messages)
                if progress and progress[1]:
                    await slack_store.save_thread_progress(self.db, *progress)
                if cursor is not None:
                    await slack_store.save_cursor(
                        self.db,
                        source=SOURCE,
                        scope=cursor[0],
                        cursor=cursor[1].dumps(),
                        updated_at=self.clock().isoformat(),
                    )
        except BaseException:
            self.directory.forget()
            raise


def _next_cursor(page: Mapping[str, Any]) -> str:
    metadata = page.get("response_metadata")
    cursor = metadata.get("next_cursor") if isinstance(metadata, Mapping) else None
    return cursor if isinstance(cursor, str) else ""


def _items(
    page: Mapping[str, Any], key: str, summary: SlackSyncSummary
) -> list[Mapping[str, Any]]:
    """The objects listed under `key`; anything else there is counted as bad."""
    value = page.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        summary.messages.bad[f"malformed {key} list"] += 1
        return []
    items = [item for item in value if isinstance(item, Mapping)]
    if len(items) < len(value):
        summary.messages.bad[f"non-object in {key} list"] += len(value) - len(items)
    return items


def _ts_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and ts_to_iso(value) else None


def _max_ts(values: list[str | None]) -> str | None:
    best: tuple[Decimal, str] | None = None
    for value in values:
        # Decimal alone would also take "Infinity" and "1e999".
        if not value or ts_to_iso(value) is None:
            continue
        try:
            number = Decimal(value)
        except InvalidOperation:
            continue
        if best is None or number > best[0]:
            best = (number, value)
    return best[1] if best else None
