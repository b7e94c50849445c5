"""Gmail metadata capture: a bounded first listing, then history, per mailbox.

The gmail.metadata scope refuses `q` search queries, so the first sync lists
the newest messages and stops at a message count or at the first message
received before the start date. Later syncs read `users.history.list` from
the stored historyId; a 404 there (history expired) restarts a listing
bounded by the last successful sync.

Every listed id is queued in storage before it is fetched and leaves the
queue only once its interaction is committed, and the history cursor never
moves past a queued message: a crash loses nothing, and a re-fetched message
is recognised by its dedup keys instead of stored twice.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlencode

import aiosqlite

from bot.capture.email_import import EmailImporter, Exclusions
from bot.capture.gmail_batch import MAX_PARTS
from bot.capture.google_auth import AccessRevoked, AuthUnavailable
from bot.capture.google_http import ApiError, ApiUnavailable, GoogleApi
from bot.capture.mail_headers import parse_headers
from bot.capture.sync_summary import SyncSummary
from bot.settings import Settings
from storage import google as store
from storage.connection import transaction
from storage.sql import chunked

logger = logging.getLogger(__name__)

METADATA_HEADERS = (
    "From",
    "To",
    "Cc",
    "Date",
    "Message-ID",
    "List-Id",
    "List-Unsubscribe",
    "Precedence",
    "Auto-Submitted",
    "Return-Path",
    "X-Autoreply",
    "X-Autorespond",
)
_WANTED = frozenset(name.lower() for name in METADATA_HEADERS)
_METADATA_QUERY = urlencode(
    [("format", "metadata")] + [("metadataHeaders", h) for h in METADATA_HEADERS]
)
# Drafts were never sent and spam was never wanted: neither is a relationship.
_SKIP_LABELS = frozenset({"DRAFT", "SPAM"})
LIST_PAGE = 500
HISTORY_PAGE = 500
# A message still failing after this many runs is given up, with a warning,
# rather than holding the mailbox's history cursor back for ever.
MAX_PENDING_RUNS = 20
# How far before the last successful sync a re-listing reaches after the
# history expired, for mail that arrived while the history was lost.
RESYNC_MARGIN = timedelta(days=2)


class _HistoryExpired(Exception):
    """history.list answered 404: the stored historyId is too old."""


class GmailSync:
    """One run over several mailboxes; one importer so dedup spans mailboxes."""

    def __init__(
        self,
        db: aiosqlite.Connection,
        api: GoogleApi,
        *,
        settings: Settings,
        clock: Callable[[], datetime],
        exclusions: Exclusions,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self.api = api
        self.settings = settings
        self.clock = clock
        self.progress = progress
        self.importer = EmailImporter(
            db,
            source="gmail",
            internal_domains=settings.internal_domains,
            exclusions=exclusions,
        )
        self.summary = SyncSummary("gmail")

    async def run(self, mailboxes: list[str]) -> SyncSummary:
        for mailbox in mailboxes:
            await self._one(mailbox)
        imported = self.importer.summary
        self.summary.imported += imported.imported
        self.summary.duplicates += imported.duplicates
        self.summary.skipped["automated"] += imported.automated
        self.summary.skipped["excluded"] += imported.excluded
        self.summary.skipped.update(imported.bad)
        self.summary.skipped["dated from internalDate"] += imported.bad_dates
        self.summary.skipped = +self.summary.skipped  # drop zero counts
        self.summary.retries = self.api.stats["retries"]
        return self.summary

    async def _one(self, mailbox: str) -> None:
        now = self._now_iso()
        try:
            await self._mailbox(mailbox)
        except AccessRevoked as exc:
            logger.warning("gmail: no access to %s (%s); skipped", mailbox, exc.reason)
            self.summary.problems.append((mailbox, exc.reason))
            await store.record_problem(
                self.db, mailbox, store.GMAIL, exc.reason, now=now
            )
        except (ApiUnavailable, AuthUnavailable, ApiError) as exc:
            logger.warning("gmail: %s deferred to the next run: %s", mailbox, exc)
            self.summary.deferred.append(mailbox)
        else:
            await store.clear_problem(self.db, mailbox, store.GMAIL)
        finally:
            # Whatever was added before a failure is committed, never dropped.
            await self.importer.flush()
            self.summary.pending += await store.count_pending(self.db, mailbox)

    async def _mailbox(self, mailbox: str) -> None:
        await self._retry_pending(mailbox)
        if await store.count_pending(self.db, mailbox):
            # Still failing: keep the cursor where it is and try next run.
            self.summary.deferred.append(mailbox)
            return
        cursor, synced_at = await store.get_cursor(self.db, store.GMAIL, mailbox)
        full = await store.get_full_sync(self.db, mailbox)
        if cursor is not None and full is None:
            try:
                await self._history(mailbox, int(cursor))
                self.summary.accounts += 1
                return
            except _HistoryExpired:
                # The old cursor stays until the re-listing is done: should
                # it fail before it starts, the next run finds the same bound.
                logger.info("gmail: history of %s expired; listing again", mailbox)
                self.summary.skipped["history expired, re-listed"] += 1
        await self._full(mailbox, full, synced_at if cursor is not None else None)
        self.summary.accounts += 1

    # ---- first (or repeated) listing --------------------------------------------

    async def _full(
        self, mailbox: str, full: store.FullSync | None, last_synced: str | None
    ) -> None:
        if full is None:
            profile = await self._get(mailbox, "profile", [])
            history_id = str(profile.get("historyId") or "")
            if not history_id.isdigit():
                raise ApiError(200, "profile without historyId")
            async with transaction(self.db):
                full = await store.start_full_sync(
                    self.db,
                    mailbox,
                    history_id=history_id,
                    floor=self._floor(last_synced).isoformat(),
                    now=self._now_iso(),
                )
        floor = datetime.fromisoformat(full.floor)
        while not full.listing_done:
            limit = self.settings.google_max_messages - full.listed
            params = [("maxResults", str(min(LIST_PAGE, limit)))]
            if full.page_token:
                params.append(("pageToken", full.page_token))
            page = await self._get(mailbox, "messages", params)
            ids = _unique(m.get("id") for m in page.get("messages") or [])
            next_token = page.get("nextPageToken") or None
            listed = full.listed + len(ids)
            done = next_token is None or listed >= self.settings.google_max_messages
            async with transaction(self.db):
                await store.add_pending(self.db, mailbox, [(i, None) for i in ids])
                await store.advance_full_sync(
                    self.db,
                    mailbox,
                    page_token=next_token,
                    listed=listed,
                    listing_done=done,
                )
            full = await store.get_full_sync(self.db, mailbox)
            assert full is not None
            if await self._fetch(mailbox, ids, floor=floor, listing=True):
                async with transaction(self.db):
                    await store.advance_full_sync(
                        self.db,
                        mailbox,
                        page_token=None,
                        listed=listed,
                        listing_done=True,
                    )
                break

        if await store.count_pending(self.db, mailbox):
            # The history cursor waits until every listed message is in.
            self.summary.deferred.append(mailbox)
            return
        async with transaction(self.db):
            await store.set_cursor(
                self.db, store.GMAIL, mailbox, full.history_id, now=self._now_iso()
            )
            await store.end_full_sync(self.db, mailbox)

    def _floor(self, last_synced: str | None) -> datetime:
        floor = self.clock() - timedelta(days=self.settings.google_sync_days)
        if last_synced:
            floor = max(floor, datetime.fromisoformat(last_synced) - RESYNC_MARGIN)
        return floor.astimezone(UTC)

    # ---- history ------------------------------------------------------------------

    async def _history(self, mailbox: str, start: int) -> None:
        page_token: str | None = None
        cursor = start
        while True:
            params = [
                ("startHistoryId", str(start)),
                ("historyTypes", "messageAdded"),
                ("maxResults", str(HISTORY_PAGE)),
            ]
            if page_token:
                params.append(("pageToken", page_token))
            try:
                page = await self._get(mailbox, "history", params)
            except ApiError as exc:
                if exc.status == 404:
                    raise _HistoryExpired from None
                raise
            records = [r for r in page.get("history") or [] if _record_id(r)]
            items = _added_messages(records)
            async with transaction(self.db):
                await store.add_pending(self.db, mailbox, items)
            await self._fetch(mailbox, _unique(i for i, _ in items), floor=None)

            page_token = page.get("nextPageToken") or None
            lowest = await store.lowest_pending_history(self.db, mailbox)
            if lowest is None:
                newest = str(page.get("historyId") or "")
                if page_token is None and newest.isdigit():
                    new_cursor = max(cursor, int(newest))
                else:
                    new_cursor = max([cursor] + [_record_id(r) for r in records])
            else:
                # Only up to the record before the first message still failing.
                below = [_record_id(r) for r in records if _record_id(r) < lowest]
                new_cursor = max([cursor] + below)
            finished = lowest is None and page_token is None
            # A finished run always writes, so updated_at says when the
            # mailbox was last read in full (it bounds a re-listing).
            if new_cursor != cursor or finished:
                cursor = new_cursor
                async with transaction(self.db):
                    await store.set_cursor(
                        self.db, store.GMAIL, mailbox, str(cursor), now=self._now_iso()
                    )
            if lowest is not None:
                self.summary.deferred.append(mailbox)
                return
            if page_token is None:
                return

    # ---- fetching metadata ----------------------------------------------------------

    async def _retry_pending(self, mailbox: str) -> None:
        given_up = await store.abandon_pending(
            self.db, mailbox, max_attempts=MAX_PENDING_RUNS
        )
        if given_up:
            logger.warning(
                "gmail: gave up on %d messages of %s after %d failing runs",
                given_up,
                mailbox,
                MAX_PENDING_RUNS,
            )
            self.summary.skipped["given up after repeated failures"] += given_up
        queued = await store.pending(self.db, mailbox)
        if queued:
            full = await store.get_full_sync(self.db, mailbox)
            floor = datetime.fromisoformat(full.floor) if full else None
            await self._fetch(
                mailbox, [p.message_id for p in queued], floor=floor, listing=False
            )

    async def _fetch(
        self,
        mailbox: str,
        ids: list[str],
        *,
        floor: datetime | None,
        listing: bool = True,
    ) -> bool:
        """Fetch, store and dequeue `ids`; True once a message predates `floor`.

        Ids of a `listing` come newest first, so the ones after a message
        older than `floor` are older too and are dropped unfetched.
        """
        for position, chunk in enumerate(chunked(ids, MAX_PARTS)):
            paths = {
                f"m{n}": f"/gmail/v1/users/me/messages/{quote(mid, safe='')}"
                f"?{_METADATA_QUERY}"
                for n, mid in enumerate(chunk)
            }
            by_part = dict(zip(paths, chunk, strict=True))
            result = await self.api.batch_get(mailbox, paths)

            done: list[str] = []
            reached_floor = False
            for part_id, message_id in by_part.items():
                if part_id in result.ok:
                    if await self._add(mailbox, result.ok[part_id], floor) == "old":
                        reached_floor = True
                    done.append(message_id)
                elif part_id in result.gone:
                    self.summary.skipped["deleted before fetched"] += 1
                    done.append(message_id)
                elif part_id in result.refused:
                    self.summary.skipped["refused by Gmail"] += 1
                    done.append(message_id)
            failing = [by_part[p] for p in result.failing]
            # Interactions first, queue after: a crash in between only means
            # a harmless re-fetch.
            await self.importer.flush()
            async with transaction(self.db):
                await store.remove_pending(self.db, mailbox, done)
                await store.count_failed_attempt(self.db, mailbox, failing)
            if self.progress is not None:
                self.progress(len(done))
            if failing and not done:
                # Nothing gets through: leave the rest for the next run rather
                # than spend the whole retry budget on every batch.
                raise ApiUnavailable(f"batch still failing for {mailbox}")
            if reached_floor and listing:
                rest = ids[(position + 1) * MAX_PARTS :]
                async with transaction(self.db):
                    await store.remove_pending(self.db, mailbox, rest)
                return True
        return False

    async def _add(self, mailbox: str, message: dict, floor: datetime | None) -> str:
        internal = str(message.get("internalDate") or "")
        payload = message.get("payload")
        headers = payload.get("headers") if isinstance(payload, dict) else None
        if not internal.isdigit() or not isinstance(headers, list):
            self.summary.skipped["malformed metadata"] += 1
            return "bad"
        received = datetime.fromtimestamp(int(internal) / 1000, UTC)
        if floor is not None and received < floor:
            self.summary.skipped["before the start date"] += 1
            return "old"
        if _SKIP_LABELS.intersection(message.get("labelIds") or []):
            self.summary.skipped["draft or spam"] += 1
            return "skipped"
        try:
            parsed = parse_headers(_raw_headers(headers), fallback_date=received)
        except Exception:  # a parser bug must cost one message, not the mailbox
            logger.exception("gmail: unparseable headers in %s", mailbox)
            self.summary.skipped["malformed metadata"] += 1
            return "bad"
        await self.importer.add(parsed, channel=mailbox)
        return "added"

    async def _get(
        self, mailbox: str, resource: str, params: list[tuple[str, str]]
    ) -> dict:
        url = f"{self.api.gmail_url}/gmail/v1/users/me/{resource}"
        return await self.api.get_json(mailbox, "gmail", url, params)

    def _now_iso(self) -> str:
        return self.clock().astimezone(UTC).isoformat()


def _raw_headers(headers: list) -> bytes:
    """The header block parse_headers reads, from Gmail's name/value list."""
    lines = []
    for header in headers:
        if not isinstance(header, dict):
            continue
        name, value = header.get("name"), header.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            continue
        if name.lower() not in _WANTED:
            continue
        # Gmail unfolds values; a stray line break must not start a new header.
        value = value.replace("\r", " ").replace("\n", " ")
        lines.append(f"{name}: {value}\n".encode())
    return b"".join(lines)


def _record_id(record: dict) -> int:
    value = str(record.get("id") or "") if isinstance(record, dict) else ""
    return int(value) if value.isdigit() else 0


def _added_messages(records: list[dict]) -> list[tuple[str, int]]:
    items = []
    for record in records:
        for added in record.get("messagesAdded") or []:
            message = added.get("message") if isinstance(added, dict) else None
            if not isinstance(message, dict) or not message.get("id"):
                continue
            if _SKIP_LABELS.intersection(message.get("labelIds") or []):
                continue
            items.append((str(message["id"]), _record_id(record)))
    return items


def _unique(values) -> list[str]:
    return list(dict.fromkeys(str(v) for v in values if v))
