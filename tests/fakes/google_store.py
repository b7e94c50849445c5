"""The state behind the fake Google APIs: mailboxes, calendars and page tokens."""

from __future__ import annotations

import base64
import email.utils
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.fakes.google_errors import api_error


@dataclass
class StoredMessage:
    id: str
    thread_id: str
    label_ids: list[str]
    headers: list[tuple[str, str]]
    internal_date: int
    history_id: int
    size_estimate: int

    def summary(self) -> dict[str, Any]:
        """The fields every message format shares (format=minimal)."""
        return {
            "id": self.id,
            "threadId": self.thread_id,
            "labelIds": list(self.label_ids),
            "snippet": "",
            "historyId": str(self.history_id),
            "internalDate": str(self.internal_date),
            "sizeEstimate": self.size_estimate,
        }


class Mailbox:
    """One user's messages and the history of their arrival."""

    def __init__(self, address: str, *, first_history_id: int = 1000) -> None:
        self.address = address
        self.messages: dict[str, StoredMessage] = {}
        self.history: list[tuple[int, str]] = []
        self.history_id = first_history_id
        # A startHistoryId below this answers 404, as an expired one does.
        self.history_floor = 0
        self._by_message_id: dict[str, str] = {}

    def add(
        self,
        message_id: str,
        headers: list[tuple[str, str]],
        *,
        internal_date: int,
        label_ids: list[str] | None = None,
        thread_id: str | None = None,
    ) -> StoredMessage:
        by_name = {name.lower(): value for name, value in headers}
        if thread_id is None:
            refs = by_name.get("in-reply-to", "") + " " + by_name.get("references", "")
            parents = [
                self._by_message_id[ref]
                for ref in re.findall(r"<[^>]+>", refs)
                if ref in self._by_message_id
            ]
            thread_id = self.messages[parents[0]].thread_id if parents else message_id
        if label_ids is None:
            sender = email.utils.parseaddr(by_name.get("from", ""))[1].lower()
            mine = sender == self.address.lower()
            label_ids = ["SENT"] if mine else ["INBOX", "UNREAD"]
        # History ids grow with gaps, as Gmail's do, so clients cannot count on +1.
        self.history_id += 1 + len(self.messages) % 3
        stored = StoredMessage(
            id=message_id,
            thread_id=thread_id,
            label_ids=list(label_ids),
            headers=headers,
            internal_date=internal_date,
            history_id=self.history_id,
            size_estimate=sum(len(n) + len(v) + 4 for n, v in headers) + 2,
        )
        self.messages[message_id] = stored
        self.history.append((self.history_id, message_id))
        if "message-id" in by_name:
            self._by_message_id[by_name["message-id"].strip()] = message_id
        return stored


@dataclass
class Calendar:
    """Events plus the change sequence that sync tokens point into."""

    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    changed_at: dict[str, int] = field(default_factory=dict)
    seq: int = 0
    # Sync tokens minted before this sequence number answer 410.
    sync_floor: int = 0

    def put(self, event: dict[str, Any]) -> None:
        self.seq += 1
        self.events[event["id"]] = event
        self.changed_at[event["id"]] = self.seq


def render_event(event: dict[str, Any], viewer: str) -> dict[str, Any]:
    """An event as events.list shows it to `viewer`."""
    if event["status"] == "cancelled":
        # Google guarantees only id and status for deleted events.
        return {"kind": "calendar#event", "id": event["id"], "status": "cancelled"}
    shown = {"kind": "calendar#event", **event}
    organizer = dict(event["organizer"])
    # Google leaves out false booleans rather than sending them.
    if organizer["email"] == viewer:
        organizer["self"] = True
    shown["organizer"] = organizer
    attendees = []
    for attendee in shown.pop("attendees", []):
        person = {"responseStatus": "needsAction", **attendee}
        if person["email"] == viewer:
            person["self"] = True
        if person["email"] == organizer["email"]:
            person["organizer"] = True
        attendees.append(person)
    if attendees:
        shown["attendees"] = attendees
    return shown


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encode_token(state: Any) -> str:
    """An opaque page or sync token carrying `state`."""
    return base64.urlsafe_b64encode(json.dumps(state).encode()).decode().rstrip("=")


def decode_token(token: str, name: str = "pageToken") -> Any:
    try:
        return json.loads(b64url_decode(token))
    except ValueError as exc:
        raise api_error(400, "invalidArgument", f"Invalid {name}") from exc


def parse_time(value: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise api_error(400, "badRequest", f"Bad Request: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def event_time(point: Mapping[str, str]) -> datetime:
    return parse_time(point.get("dateTime") or point["date"])


def int_param(query: dict[str, list[str]], name: str, *, default: int, cap: int) -> int:
    raw = query.get(name, [str(default)])[0]
    if not raw.isdigit():
        raise api_error(400, "invalidArgument", f"Invalid value for {name}: {raw}")
    # Google caps an oversized maxResults instead of refusing it.
    return max(1, min(int(raw), cap))
