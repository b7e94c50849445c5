"""Importing a Slack workspace export (the zip or its unpacked folder).

An export holds `users.json`, `channels.json`, `groups.json`, `dms.json`,
`mpims.json` and one folder per conversation (named after the channel, or the
DM's id) of per-day message files `YYYY-MM-DD.json`. Day files are read one at
a time and written in batches, so memory grows with the largest single file,
not with the export: a parsed JSON file takes roughly ten times its size.
No file over MAX_FILE_BYTES (uncompressed) is read at all; an oversized day
file counts as bad and the import carries on. One odd record (a field of the
wrong type, a timestamp out of range) counts as bad with its reason and never
stops the import.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import zipfile
import zlib
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Any

import aiosqlite
from tqdm import tqdm

from bot.capture.imports import exclusions_from
from bot.capture.slack_fields import Fields, slack_id
from bot.capture.slack_members import (
    MemberCounts,
    SlackDirectory,
    SlackMember,
    member_from_message,
    read_members,
)
from bot.capture.slack_messages import (
    MessageCounts,
    SlackMessage,
    SlackMessageWriter,
    read_message,
)
from bot.settings import Settings
from storage.connection import transaction
from storage.sql import chunked

logger = logging.getLogger(__name__)

SOURCE = "slack-export"
BATCH_SIZE = 2000
_DAY_FILE_RE = re.compile(r"^([^/]+)/(\d{4}-\d{2}-\d{2})\.json$")
# Exports made with unknown team ids still need one stable key prefix.
UNKNOWN_TEAM = "export"
# The largest file (uncompressed) read from an export. A busy channel's day is
# a few MB; a file past this is a zip bomb or not Slack's, and parsing it
# would take about ten times its size in memory.
MAX_FILE_BYTES = 64 * 1024 * 1024
# What reading and parsing one file of a damaged or hostile export can raise.
# RecursionError: JSON nested deeper than Python's stack (e.g. 100,000 "[").
_READ_ERRORS = (
    ValueError,
    RecursionError,
    zipfile.BadZipFile,
    zlib.error,
    OSError,
    EOFError,
    RuntimeError,  # an encrypted zip entry
    NotImplementedError,  # a compression method zipfile lacks
)


class SlackExportError(ValueError):
    """The path is not a Slack export (no metadata files and no day files)."""


class _TooLarge(ValueError):
    """A file in the export is larger than MAX_FILE_BYTES."""


@dataclass(frozen=True, slots=True)
class Conversation:
    id: str
    # Everyone in a DM or group DM; empty for channels, where presence alone
    # is not a relationship.
    members: tuple[str, ...] = ()


@dataclass(slots=True)
class SlackImportSummary:
    source: str = SOURCE
    messages: MessageCounts = field(default_factory=MessageCounts)
    members: MemberCounts = field(default_factory=MemberCounts)
    day_files: int = 0
    unlisted_folders: int = 0
    seconds: float = 0.0

    @property
    def imported(self) -> int:
        return self.messages.imported

    @property
    def duplicates(self) -> int:
        return self.messages.duplicates

    def line(self) -> str:
        unlisted = (
            f", {self.unlisted_folders} folders not in the channel lists"
            if self.unlisted_folders
            else ""
        )
        return (
            f"{self.source}: {self.messages.line()}; {self.members.line()}; "
            f"{self.day_files} day files{unlisted}; {self.seconds:.1f}s"
        )


async def import_slack_export(
    db: aiosqlite.Connection, path: Path | str, *, settings: Settings
) -> SlackImportSummary:
    """Import members and message metadata from a Slack export; safe to repeat."""
    started = time.perf_counter()
    summary = SlackImportSummary()
    with _open_export(Path(path)) as export:
        users = _load_list(export, "users.json", summary)
        home_team = _home_team(users)
        directory = SlackDirectory(
            home_teams=[home_team],
            internal_domains=settings.internal_domains,
            exclusions=exclusions_from(settings),
        )
        summary.members = directory.counts
        members = read_members(users, summary.messages.bad)
        for chunk in chunked(members, 1000):
            await _write(db, directory, list(chunk), [], None)

        conversations = _conversations(export, summary)
        writer = SlackMessageWriter(
            source=SOURCE, directory=directory, counts=summary.messages
        )
        day_files = sorted(
            (m.group(1), m.group(2), name)
            for name in export.names
            if (m := _DAY_FILE_RE.match(name))
        )
        if not users and not conversations and not day_files:
            raise SlackExportError(f"{path} holds no Slack export files")
        batch: list[SlackMessage] = []
        with tqdm(
            total=len(day_files),
            desc="importing Slack export",
            unit=" days",
            disable=not sys.stderr.isatty(),
        ) as progress:
            for folder, files in groupby(day_files, key=lambda item: item[0]):
                conversation = conversations.get(folder)
                if conversation is None:
                    # Channel ids are what keys are made of; the folder name
                    # is the only stable name such a folder has.
                    summary.unlisted_folders += 1
                    conversation = Conversation(folder)
                parents: dict[str, str] = {}
                for _, _, name in files:
                    summary.day_files += 1
                    progress.update(1)
                    for raw in _day_records(export, name, summary):
                        found = summary.messages.take(
                            read_message(
                                raw,
                                team_id=home_team,
                                channel_id=conversation.id,
                                members=conversation.members,
                                parent_authors=parents,
                            )
                        )
                        if found is not None:
                            batch.append(found)
                    if len(batch) >= BATCH_SIZE:
                        await _write(db, directory, [], batch, writer)
                        batch = []
            await _write(db, directory, [], batch, writer)

    summary.seconds = time.perf_counter() - started
    logger.info("%s", summary.line())
    return summary


async def _write(
    db: aiosqlite.Connection,
    directory: SlackDirectory,
    members: list[SlackMember],
    messages: list[SlackMessage],
    writer: SlackMessageWriter | None,
) -> None:
    """One transaction: members, then authors seen only in messages, then messages."""
    if not members and not messages:
        return
    try:
        async with transaction(db):
            if members:
                await directory.upsert(db, members)
            if messages and writer is not None:
                authors = await _unlisted_authors(db, directory, messages)
                for author in authors:
                    writer.counts.bad.update(author.problems)
                await directory.upsert(db, authors)
                await writer.write(db, messages)
    except BaseException:
        directory.forget()
        raise


async def _unlisted_authors(
    db: aiosqlite.Connection, directory: SlackDirectory, messages: list[SlackMessage]
) -> list[SlackMember]:
    """Authors missing from users.json (outside members, leavers) as people.

    People only mentioned or present, and never seen writing, are left out:
    nothing but an id is known about them.
    """
    by_author: dict[str, SlackMessage] = {}
    for message in messages:
        if message.author not in by_author or (
            message.author_profile and not by_author[message.author].author_profile
        ):
            by_author[message.author] = message
    unknown = await directory.unknown(db, by_author)
    return [
        member_from_message(
            user,
            by_author[user].author_profile,
            team_id=by_author[user].author_team,
        )
        for user in sorted(unknown)
    ]


def _home_team(users: list[Any]) -> str:
    """The workspace that made the export: the team most of its people are in."""
    teams = Counter(
        team
        for user in users
        if isinstance(user, Mapping)
        and (team := slack_id(user.get("team_id")))
        and user.get("is_bot") is not True
    )
    return teams.most_common(1)[0][0] if teams else UNKNOWN_TEAM


def _conversations(
    export: _Export, summary: SlackImportSummary
) -> dict[str, Conversation]:
    """Folder name → conversation, from the four conversation lists."""
    found: dict[str, Conversation] = {}
    for name, is_direct in (
        ("channels.json", False),
        ("groups.json", False),
        ("mpims.json", True),
        ("dms.json", True),
    ):
        for item in _load_list(export, name, summary):
            fields = Fields(item)
            conversation_id = fields.ident("id")
            if conversation_id is None:
                summary.messages.bad[f"entry without id in {name}"] += 1
                continue
            # Channel member lists are not read: presence is not a relationship.
            members = fields.ids("members") if is_direct else ()
            # DM folders carry the DM's id; every other folder its name.
            folder = conversation_id if name == "dms.json" else fields.text("name")
            if fields.wrong:
                summary.messages.bad[f"malformed entry in {name}"] += 1
            if folder:
                found[folder] = Conversation(conversation_id, members)
    return found


def _load_list(export: _Export, name: str, summary: SlackImportSummary) -> list[Any]:
    if name not in export.names:
        return []
    try:
        data = export.load(name)
    except _READ_ERRORS as exc:
        logger.warning(
            "%s is unreadable (%s); carrying on without it", name, type(exc).__name__
        )
        summary.messages.bad[_unreadable(name, exc)] += 1
        return []
    if not isinstance(data, list):
        summary.messages.bad[f"malformed {name}"] += 1
        return []
    return data


def _day_records(export: _Export, name: str, summary: SlackImportSummary) -> list[Any]:
    try:
        data = export.load(name)
    except _READ_ERRORS as exc:
        # The file name says where; its content (message text) is never logged.
        logger.warning("skipping day file %s: %s", name, type(exc).__name__)
        summary.messages.bad[_unreadable("day file", exc)] += 1
        return []
    if not isinstance(data, list):
        logger.warning("skipping day file %s: not a list of messages", name)
        summary.messages.bad["malformed day file"] += 1
        return []
    return data


def _unreadable(what: str, exc: BaseException) -> str:
    if isinstance(exc, _TooLarge):
        megabytes, rest = divmod(MAX_FILE_BYTES, 1024 * 1024)
        size = f"{MAX_FILE_BYTES} bytes" if rest else f"{megabytes} MB"
        return f"{what} over {size}"
    return f"malformed {what}"


class _Export:
    """The files of an export by their names relative to its root ("a/b.json")."""

    def __init__(self, names: list[str]) -> None:
        self.names = names

    def load(self, name: str) -> Any:
        raise NotImplementedError


class _FolderExport(_Export):
    def __init__(self, root: Path) -> None:
        found = [*root.glob("*.json"), *root.glob("*/*.json")]
        names = [p.relative_to(root).as_posix() for p in found if p.is_file()]
        super().__init__(sorted(names))
        self.root = root

    def load(self, name: str) -> Any:
        path = self.root / name
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _TooLarge(name)
        with path.open("rb") as file:
            # Read no more than the cap, should the file grow meanwhile.
            return _parse(name, file.read(MAX_FILE_BYTES + 1))


class _ZipExport(_Export):
    def __init__(self, archive: zipfile.ZipFile) -> None:
        entries = [
            n
            for n in archive.namelist()
            if n.endswith(".json") and not n.startswith("__MACOSX/")
        ]
        # Some tools wrap the export in one top folder inside the zip.
        markers = [
            n.rpartition("/")[0]
            for n in entries
            if n.rpartition("/")[2] in ("users.json", "channels.json")
        ]
        prefix = (
            min(markers, key=len) + "/" if markers and min(markers, key=len) else ""
        )
        names = {n[len(prefix) :]: n for n in entries if n.startswith(prefix)}
        super().__init__(sorted(names))
        self._archive = archive
        self._members = names

    def load(self, name: str) -> Any:
        info = self._archive.getinfo(self._members[name])
        # The declared size is also all zipfile will inflate, whatever the
        # compressed stream holds, so checking it first bounds the memory.
        if info.file_size > MAX_FILE_BYTES:
            raise _TooLarge(name)
        with self._archive.open(info) as entry:
            return _parse(name, entry.read(MAX_FILE_BYTES + 1))


def _parse(name: str, data: bytes) -> Any:
    if len(data) > MAX_FILE_BYTES:
        raise _TooLarge(name)
    return json.loads(data)


@contextmanager
def _open_export(path: Path) -> Iterator[_Export]:
    if not path.is_dir() and not path.is_file():
        # A device (/dev/zero), a pipe or a socket would be read for ever.
        raise SlackExportError(f"{path} is neither a folder nor a regular file")
    if path.is_dir():
        root = path
        if not any((path / n).is_file() for n in ("users.json", "channels.json")):
            inner = [
                d for d in path.iterdir() if d.is_dir() and (d / "users.json").is_file()
            ]
            root = inner[0] if len(inner) == 1 else path
        yield _FolderExport(root)
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise SlackExportError(f"{path} is neither a folder nor a zip: {exc}") from exc
    with archive:
        yield _ZipExport(archive)
