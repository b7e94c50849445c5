"""Google Calendar capture: meetings that took place, with who accepted.

Each colleague's primary calendar is listed with `singleEvents=true` (one
item per occurrence), from the start date on the first sync and from the
stored syncToken afterwards; a 410 for that token means a full re-listing.
Only attendees (email and response), organiser and start time are read; no
title, description or location is ever stored.

A meeting counts once it has started, for the organiser and the attendees
who accepted; cancelled and unconfirmed events and declined, tentative or
unanswered invitations count for nothing. A confirmed meeting that has not
started yet is kept aside (incremental sync will not report it again unless
it changes) and becomes an interaction when its time has come. Meetings
among colleagues only are not stored: they say nothing about outside
relationships. All-day events are skipped: they are mostly absences and
reminders, not meetings. Once stored, a meeting stays as it was: a later
change of answers, or the event being deleted afterwards, is not applied.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import aiosqlite

from bot.capture.email_import import Exclusions
from bot.capture.google_auth import AccessRevoked, AuthUnavailable
from bot.capture.google_http import ApiError, ApiUnavailable, GoogleApi
from bot.capture.sync_summary import SyncSummary
from bot.identity.addresses import address_key, domain_of
from bot.identity.organisations import is_internal
from bot.identity.resolver import IdentityResolver, SeenAddress
from bot.settings import Settings
from storage import google as store
from storage.connection import transaction
from storage.interactions import NewInteraction, existing_keys, insert_interactions

logger = logging.getLogger(__name__)

PAGE_SIZE = 250
# Room and resource calendars and group calendars appear as attendees or
# organisers with addresses under these domains; they are not people.
_NOT_PEOPLE = (
    "resource.calendar.google.com",
    "group.calendar.google.com",
    "group.v.calendar.google.com",
    "calendar.google.com",
)


class _SyncTokenExpired(Exception):
    """events.list answered 410: the stored syncToken is no longer valid."""


class CalendarSync:
    """One run over several colleagues' primary calendars."""

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
        self.exclusions = exclusions
        self.progress = progress
        self.resolver = IdentityResolver(settings.internal_domains)
        self.summary = SyncSummary("calendar")

    async def run(self, calendars: list[str]) -> SyncSummary:
        retries_before = self.api.stats["retries"]
        for calendar in calendars:
            await self._one(calendar)
        self.summary.retries = self.api.stats["retries"] - retries_before
        return self.summary

    async def _one(self, calendar: str) -> None:
        try:
            await self._calendar(calendar)
        except AccessRevoked as exc:
            logger.warning(
                "calendar: no access to %s (%s); skipped", calendar, exc.reason
            )
            self.summary.problems.append((calendar, exc.reason))
            await store.record_problem(
                self.db, calendar, store.CALENDAR, exc.reason, now=self._now_iso()
            )
        except (ApiUnavailable, AuthUnavailable, ApiError) as exc:
            logger.warning("calendar: %s deferred to the next run: %s", calendar, exc)
            self.summary.deferred.append(calendar)
        else:
            self.summary.accounts += 1
            await store.clear_problem(self.db, calendar, store.CALENDAR)

    async def _calendar(self, calendar: str) -> None:
        token, _ = await store.get_cursor(self.db, store.CALENDAR, calendar)
        try:
            await self._list(calendar, token)
        except _SyncTokenExpired:
            logger.info("calendar: sync token of %s expired; listing again", calendar)
            self.summary.skipped["sync token expired, re-listed"] += 1
            await self._list(calendar, None)
        await self._hold_due(calendar)

    async def _list(self, calendar: str, sync_token: str | None) -> None:
        """Read every page; the new syncToken is stored only after the last one."""
        url = f"{self.api.calendar_url}/calendar/v3/calendars/primary/events"
        base = [("singleEvents", "true"), ("maxResults", str(PAGE_SIZE))]
        if sync_token:
            base.append(("syncToken", sync_token))
        else:
            start = self.clock() - timedelta(days=self.settings.google_sync_days)
            base.append(("timeMin", _rfc3339(start)))
        page_token: str | None = None
        while True:
            params = base + ([("pageToken", page_token)] if page_token else [])
            try:
                page = await self.api.get_json(calendar, "calendar", url, params)
            except ApiError as exc:
                if exc.status == 410 and sync_token:
                    raise _SyncTokenExpired from None
                raise
            items = page.get("items") or []
            await self._store_page(calendar, [e for e in items if isinstance(e, dict)])
            if self.progress is not None:
                self.progress(len(items))
            page_token = page.get("nextPageToken") or None
            if page_token is None:
                break
        next_sync = page.get("nextSyncToken")
        async with transaction(self.db):
            await store.set_cursor(
                self.db, store.CALENDAR, calendar, next_sync, now=self._now_iso()
            )

    async def _store_page(self, calendar: str, events: list[dict]) -> None:
        now = self.clock()
        held: list[store.Upcoming] = []
        started: list[store.Upcoming] = []
        forget: list[str] = []
        for event in events:
            event_id = str(event.get("id") or "")
            if not event_id:
                self.summary.skipped["malformed event"] += 1
                continue
            status = event.get("status")
            if status == "cancelled":
                forget.append(event_id)
                self.summary.skipped["cancelled"] += 1
                continue
            forget.append(event_id)  # any earlier version is replaced below
            meeting = _meeting(calendar, event_id, event)
            if meeting is None:
                self.summary.skipped["all-day or malformed"] += 1
                continue
            if status != "confirmed":
                self.summary.skipped["not confirmed"] += 1
                continue
            when = datetime.fromisoformat(meeting.starts_at)
            (held if when >= now else started).append(meeting)
        async with self._writing():
            await store.delete_upcoming(self.db, calendar, forget)
            await store.put_upcoming(self.db, held)
            await self._store_meetings(started)

    async def _hold_due(self, calendar: str) -> None:
        """Meetings kept aside that have started since: store them now."""
        async with self._writing():
            due = await store.due_upcoming(
                self.db, calendar, before=self.clock().astimezone(UTC).isoformat()
            )
            await self._store_meetings(due)
            await store.delete_upcoming(self.db, calendar, [m.event_id for m in due])

    def _writing(self):
        return _ResolverTransaction(self.db, self.resolver)

    async def _store_meetings(self, meetings: list[store.Upcoming]) -> None:
        """Store meetings that took place; the caller holds the transaction."""
        candidates: list[tuple[store.Upcoming, list[tuple[SeenAddress, str]]]] = []
        for meeting in meetings:
            people = self._accepted(meeting)
            if len(people) < 2:
                self.summary.skipped["fewer than two accepted"] += 1
            elif all(
                is_internal(domain_of(p.key), self.settings.internal_domains)
                for p, _ in people
            ):
                self.summary.skipped["colleagues only"] += 1
            else:
                candidates.append((meeting, people))
        if not candidates:
            return

        known = await existing_keys(self.db, [m.meeting_key for m, _ in candidates])
        fresh = []
        for meeting, people in candidates:
            if meeting.meeting_key in known:
                self.summary.duplicates += 1
            else:
                known.add(meeting.meeting_key)
                fresh.append((meeting, people))
        ids = await self.resolver.resolve(
            self.db, [seen for _, people in fresh for seen, _ in people]
        )
        items = []
        for meeting, people in fresh:
            participants: dict[int, str] = {}
            organizer_id = None
            for seen, role in people:
                participants.setdefault(ids[seen.key], role)
                if role == "organizer":
                    organizer_id = ids[seen.key]
            if len(participants) < 2:  # two addresses of one person
                self.summary.skipped["fewer than two accepted"] += 1
                continue
            items.append(
                NewInteraction(
                    keys=(meeting.meeting_key,),
                    source="calendar",
                    occurred_at=meeting.starts_at,
                    kind="meeting",
                    sender_id=organizer_id,
                    participants=participants,
                    channel=meeting.calendar,
                )
            )
        await insert_interactions(self.db, items)
        self.summary.imported += len(items)

    def _accepted(self, meeting: store.Upcoming) -> list[tuple[SeenAddress, str]]:
        """The organiser (unless they declined) and every attendee who accepted."""
        answers: dict[str, str] = {}
        people: list[tuple[SeenAddress, str]] = []
        for email, status, resource in json.loads(meeting.attendees):
            key = self._person_key(email)
            if key is not None and not resource:
                answers.setdefault(key, status)
        organizer = self._person_key(meeting.organizer or "")
        if organizer is not None and answers.get(organizer) != "declined":
            people.append(
                (SeenAddress(organizer, meeting.organizer or "", ""), "organizer")
            )
        for email, status, resource in json.loads(meeting.attendees):
            key = self._person_key(email)
            if key is None or resource or key == organizer or status != "accepted":
                continue
            people.append((SeenAddress(key, email, ""), "attendee"))
        return people

    def _person_key(self, email: str) -> str | None:
        key = address_key(email) if email else None
        if key is None or self.exclusions.excludes(key):
            return None
        domain = domain_of(key)
        if any(domain == d or domain.endswith("." + d) for d in _NOT_PEOPLE):
            return None
        return key

    def _now_iso(self) -> str:
        return self.clock().astimezone(UTC).isoformat()


class _ResolverTransaction:
    """transaction(), and a resolver whose caches die with a rollback."""

    def __init__(self, db: aiosqlite.Connection, resolver: IdentityResolver) -> None:
        self._context = transaction(db)
        self._resolver = resolver

    async def __aenter__(self) -> aiosqlite.Connection:
        return await self._context.__aenter__()

    async def __aexit__(self, *exc_info) -> bool | None:
        if exc_info[0] is not None:
            self._resolver.forget()
        return await self._context.__aexit__(*exc_info)


def _meeting(calendar: str, event_id: str, event: dict) -> store.Upcoming | None:
    """The parts of an event Rapport keeps, or None for all-day or unreadable ones."""
    start = event.get("start")
    when_text = start.get("dateTime") if isinstance(start, dict) else None
    if not isinstance(when_text, str):
        return None
    try:
        when = datetime.fromisoformat(when_text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if when.tzinfo is None:
        return None
    starts_at = when.astimezone(UTC).isoformat()
    organizer = event.get("organizer")
    organizer_email = organizer.get("email") if isinstance(organizer, dict) else None
    attendees = []
    for attendee in event.get("attendees") or []:
        if isinstance(attendee, dict) and isinstance(attendee.get("email"), str):
            attendees.append(
                [
                    attendee["email"],
                    str(attendee.get("responseStatus") or "needsAction"),
                    bool(attendee.get("resource")),
                ]
            )
    # One meeting seen in several calendars shares iCalUID and start; each
    # occurrence of a recurring meeting has its own start.
    uid = event.get("iCalUID") or event_id
    return store.Upcoming(
        calendar=calendar,
        event_id=event_id,
        meeting_key=f"gcal:{uid}:{starts_at}",
        starts_at=starts_at,
        organizer=organizer_email if isinstance(organizer_email, str) else None,
        attendees=json.dumps(attendees),
    )


def _rfc3339(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
