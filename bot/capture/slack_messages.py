"""Slack messages as interactions: who wrote, who was replied to, mentioned, present.

Shared by the workspace-export importer and the Web API sync. Only metadata
leaves this module: the text is read for `<@U…>` mentions and then dropped.
"""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiosqlite

from bot.capture.slack_fields import Fields
from bot.capture.slack_members import SlackDirectory
from storage import slack as slack_store
from storage.interactions import NewInteraction, existing_keys, insert_interactions

logger = logging.getLogger(__name__)

# Subtypes a person writes; every other subtype is Slack noting an event
# (joins, topic changes, pins, bot posts) and is not a relationship.
HUMAN_SUBTYPES = frozenset(
    {None, "", "thread_broadcast", "reply_broadcast", "file_share", "me_message"}
)

_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_TS_RE = re.compile(r"^(\d{1,12})(?:\.(\d{1,6}))?$")
# 2101-01-01T00:00:00Z: the mail importer's last year too. Later stamps are
# typos or forgeries, and would date a contact decades ahead.
MAX_TS_SECONDS = 4_133_980_800
# Slack's `type` and `subtype` words are short; longer ones are not Slack's.
_KIND_MAX = 40


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """The metadata of one human message, people still as Slack user ids."""

    key: str
    channel: str
    ts: str
    occurred_at: str
    author: str
    # (Slack user id, role) for everyone else it involves, strongest role first.
    refs: tuple[tuple[str, str], ...]
    # The message's own `user_profile`: how exports describe outside authors.
    author_profile: Mapping[str, Any] | None = None
    author_team: str | None = None
    # Fields Slack sent with the wrong type, left out above; for the summary.
    problems: tuple[str, ...] = field(default=(), compare=False)


@dataclass(frozen=True, slots=True)
class Rejected:
    reason: str
    bad: bool = False  # a malformed record rather than a message to ignore


@dataclass(slots=True)
class MessageCounts:
    imported: int = 0
    duplicates: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    bad: Counter[str] = field(default_factory=Counter)

    def reject(self, rejected: Rejected) -> None:
        (self.bad if rejected.bad else self.skipped)[rejected.reason] += 1

    def take(self, found: SlackMessage | Rejected) -> SlackMessage | None:
        """Count a rejection, or a kept message's malformed fields; the kept message."""
        if isinstance(found, Rejected):
            self.reject(found)
            return None
        self.bad.update(found.problems)
        return found

    def line(self, *, duplicates: str = "duplicates") -> str:
        skipped = ", ".join(f"{n} {why}" for why, n in self.skipped.most_common())
        bad = ", ".join(f"{n} {why}" for why, n in self.bad.most_common())
        return (
            f"{self.imported} imported, {self.duplicates} {duplicates}, "
            f"{sum(self.skipped.values())} skipped ({skipped or 'none'}), "
            f"{sum(self.bad.values())} bad ({bad or 'none'})"
        )


def interaction_key(team_id: str, channel_id: str, ts: str) -> str:
    return f"slack:{team_id}:{channel_id}:{ts}"


def ts_to_iso(ts: object) -> str | None:
    """Slack's `1700000000.000100` as UTC ISO 8601 (whole seconds); None if malformed.

    The part after the dot orders messages within a second; it is not a time.
    """
    if not isinstance(ts, str):
        return None
    match = _TS_RE.match(ts)
    if match is None or int(match.group(1)) >= MAX_TS_SECONDS:
        return None
    return datetime.fromtimestamp(int(match.group(1)), UTC).isoformat()


def mentioned_users(text: object) -> list[str]:
    if not isinstance(text, str) or "<@" not in text:
        return []
    return list(dict.fromkeys(_MENTION_RE.findall(text)))


def read_message(
    raw: object,
    *,
    team_id: str,
    channel_id: str,
    members: Sequence[str] = (),
    parent_authors: dict[str, str] | None = None,
) -> SlackMessage | Rejected:
    """Turn one message object into metadata, or say why it is not captured.

    `members` are the people of a DM or group DM; `parent_authors` maps a
    thread's ts to its author for exports whose replies lack `parent_user_id`
    (it is filled in as parents go by).
    """
    if not isinstance(raw, Mapping):
        return Rejected("not a message object", bad=True)
    ts = raw.get("ts")
    occurred_at = ts_to_iso(ts)
    if not isinstance(ts, str) or occurred_at is None:
        return Rejected("no usable ts", bad=True)
    fields = Fields(raw)
    kind = raw.get("type", "message")
    subtype = raw.get("subtype")
    for name, value in (("type", kind), ("subtype", subtype)):
        if value is not None and (not isinstance(value, str) or len(value) > _KIND_MAX):
            return Rejected(f"malformed {name}", bad=True)
    if kind != "message":
        return Rejected(str(kind))
    if (
        subtype == "bot_message"
        or raw.get("bot_profile")
        or (raw.get("bot_id") and not raw.get("user"))
    ):
        return Rejected("bot")
    if subtype not in HUMAN_SUBTYPES:
        return Rejected(str(subtype))
    author = fields.ident("user")
    if author is None:
        return Rejected("no author", bad=True)

    thread_ts = raw.get("thread_ts")
    if thread_ts is not None and ts_to_iso(thread_ts) is None:
        fields.wrong.append("thread_ts")
        thread_ts = None
    refs: list[tuple[str, str]] = []
    if thread_ts is not None and thread_ts != ts:
        parent = fields.ident("parent_user_id")
        if not parent and parent_authors is not None:
            parent = parent_authors.get(thread_ts)
        if parent:
            refs.append((parent, "reply"))
    elif parent_authors is not None and (
        thread_ts == ts or fields.count("reply_count")
    ):
        parent_authors[ts] = author
    text = raw.get("text")
    if text is not None and not isinstance(text, str):
        fields.wrong.append("text")
    refs.extend((user, "mention") for user in mentioned_users(text))
    refs.extend((user, "member") for user in members)

    profile = raw.get("user_profile")
    if profile is not None and not isinstance(profile, Mapping):
        fields.wrong.append("user_profile")
    team = fields.ident("user_team") or fields.ident("team")
    return SlackMessage(
        key=interaction_key(team_id, channel_id, ts),
        channel=channel_id,
        ts=ts,
        occurred_at=occurred_at,
        author=author,
        refs=tuple((u, role) for u, role in refs if u != author),
        author_profile=profile if isinstance(profile, Mapping) else None,
        author_team=team,
        problems=tuple(f"message with a malformed {name}" for name in fields.wrong),
    )


def user_ids_in(messages: Iterable[SlackMessage]) -> set[str]:
    found: set[str] = set()
    for message in messages:
        found.add(message.author)
        found.update(user for user, _ in message.refs)
    return found


class SlackMessageWriter:
    """Stores messages as interactions; call `write` inside a write transaction."""

    def __init__(
        self, *, source: str, directory: SlackDirectory, counts: MessageCounts
    ) -> None:
        self.source = source
        self.directory = directory
        self.counts = counts

    async def write(
        self, db: aiosqlite.Connection, messages: Sequence[SlackMessage]
    ) -> None:
        counts = self.counts
        known = await existing_keys(db, {m.key for m in messages})
        fresh: list[SlackMessage] = []
        for message in messages:
            if message.key in known:
                counts.duplicates += 1
            else:
                fresh.append(message)
                known.add(message.key)
        if not fresh:
            return

        ids = await self.directory.person_ids(db, user_ids_in(fresh))
        # Read now, inside the transaction: an opt-out made during a long
        # import takes effect from the next batch.
        flags = await slack_store.people_flags(db, ids.values())
        blocked = {pid for pid, f in flags.items() if f.is_bot or f.opted_out}

        items = []
        for message in fresh:
            sender = ids.get(message.author)
            if sender is None:
                reason = self.directory.skip_reason(message.author) or "unknown author"
                counts.skipped[reason] += 1
                continue
            if sender in blocked:
                counts.skipped["bot" if flags[sender].is_bot else "opted out"] += 1
                continue
            participants = {sender: "from"}
            for user, role in message.refs:
                pid = ids.get(user)
                if pid is not None and pid not in blocked:
                    participants.setdefault(pid, role)
            if len(participants) < 2:
                counts.skipped["no one else"] += 1
                continue
            items.append(
                NewInteraction(
                    keys=(message.key,),
                    source=self.source,
                    occurred_at=message.occurred_at,
                    kind="slack",
                    sender_id=sender,
                    participants=participants,
                    channel=message.channel,
                )
            )
        await insert_interactions(db, items)
        counts.imported += len(items)
