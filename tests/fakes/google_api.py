"""A fake of Google's OAuth token endpoint, Gmail API v1 and Calendar API v3.

One aiohttp server on 127.0.0.1 that speaks the same wire protocol as the real
services, so google-auth and production code run against it unchanged:

    async with FakeGoogle() as g:
        g.add_service_account("sync@proj.iam.gserviceaccount.com", public_key)
        g.load_mailbox("alice@firm.example", [{"From": ..., "To": ...}])
        g.fail_next("messages.get", status=429, times=7)

`fail_next` targets a request kind (token, messages.list, messages.get,
history.list, profile, batch, batch_part = any request inside a batch,
events.list) or else a regular expression searched in the path and query.

Known shortcomings: `q` is accepted but not applied for tokens allowed to
search; recurring events are not expanded; a `syncToken` combined with
`timeMin` is not refused; only `messageAdded` history is recorded.
"""

from __future__ import annotations

import asyncio
import base64
import email.parser
import email.policy
import email.utils
import http
import itertools
import json
import logging
import re
import secrets
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiohttp import web
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.fakes import google_errors as errors
from tests.fakes.google_errors import HttpFailure, api_error, error_body, oauth_error
from tests.fakes.google_store import (
    Calendar,
    Mailbox,
    StoredMessage,
    b64url_decode,
    decode_token,
    encode_token,
    event_time,
    int_param,
    parse_time,
    render_event,
)

logger = logging.getLogger(__name__)

JWT_BEARER_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"
# google-auth signs this audience whatever token_uri says, as Google requires.
GOOGLE_TOKEN_AUDIENCE = "https://oauth2.googleapis.com/token"
_AUTH = "https://www.googleapis.com/auth/"
GMAIL_METADATA_SCOPE = _AUTH + "gmail.metadata"
GMAIL_SCOPES = frozenset(
    [_AUTH + s for s in ("gmail.readonly", "gmail.modify", "gmail.metadata")]
    + ["https://mail.google.com/"]
)
CALENDAR_SCOPES = frozenset(
    _AUTH + s
    for s in (
        "calendar",
        "calendar.readonly",
        "calendar.events",
        "calendar.events.readonly",
    )
)
TOKEN_LIFETIME = 3599
BATCH_LIMIT = 100
# kind, method, path: the kind names the handler and is a target for fail_next.
_ROUTES = [
    ("token", "POST", r"/token"),
    ("batch", "POST", r"/batch/gmail/v1"),
    ("messages.list", "GET", r"/gmail/v1/users/([^/]+)/messages"),
    ("messages.get", "GET", r"/gmail/v1/users/([^/]+)/messages/([^/]+)"),
    ("history.list", "GET", r"/gmail/v1/users/([^/]+)/history"),
    ("profile", "GET", r"/gmail/v1/users/([^/]+)/profile"),
    ("events.list", "GET", r"/calendar/v3/calendars/([^/]+)/events"),
]
KINDS = frozenset([kind for kind, _, _ in _ROUTES] + ["batch_part"])


def _route(method: str, path: str) -> tuple[str, re.Match[str]] | None:
    for kind, route_method, pattern in _ROUTES:
        match = re.fullmatch(pattern, path)
        if match and route_method == method:
            return kind, match
    return None


@dataclass
class Reply:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


class _Disconnect(Exception):
    """Raised to close the client's connection without an answer."""


@dataclass
class Call:
    """One request the fake received; `status` 0 means the connection was cut.

    Header names are lower-cased; `form` holds the token endpoint's form fields.
    """

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    kind: str
    in_batch: bool = False
    form: dict[str, str] = field(default_factory=dict)
    status: int | None = None


@dataclass
class Fault:
    target: str
    status: int | None
    times: int
    after: int
    body: Any
    headers: dict[str, str]
    delay: float
    disconnect: bool

    def matches(self, kinds: set[str], target: str) -> bool:
        if self.target in KINDS:
            return self.target in kinds
        return re.search(self.target, target) is not None


@dataclass
class Grant:
    """An access token the token endpoint issued."""

    subject: str
    scopes: frozenset[str]
    client: str
    # The verified JWT claims of a service account grant; None for refresh_token.
    claims: dict[str, Any] | None = None
    access_token: str = field(
        default_factory=lambda: f"ya29.fake-{secrets.token_urlsafe(24)}"
    )
    expires_at: float = field(default_factory=lambda: time.time() + TOKEN_LIFETIME)

    @property
    def metadata_only(self) -> bool:
        # Gmail applies the metadata scope's limits whenever that scope is
        # granted, even alongside gmail.readonly.
        return GMAIL_METADATA_SCOPE in self.scopes


@dataclass
class ServiceAccount:
    client_email: str
    public_key: rsa.RSAPublicKey
    delegation: bool
    allowed_scopes: frozenset[str] | None


@dataclass
class RefreshToken:
    client_id: str
    user: str
    scopes: frozenset[str]


class FakeGoogle:
    """Serve the token endpoint, Gmail v1 and Calendar v3 on 127.0.0.1."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.grants: dict[str, Grant] = {}
        self.service_accounts: dict[str, ServiceAccount] = {}
        self.oauth_clients: dict[str, str] = {}
        self.refresh_tokens: dict[str, RefreshToken] = {}
        self.revoked_users: set[str] = set()
        self.revoked_refresh_tokens: set[str] = set()
        # None accepts any subject; a set turns others into "Invalid email or User ID".
        self.known_users: set[str] | None = None
        self.mailboxes: dict[str, Mailbox] = {}
        self.calendars: dict[str, Calendar] = {}
        self.faults: list[Fault] = []
        self.base_url = ""
        self._ids = itertools.count(0x18F3A2C000000000)
        self._runner: web.AppRunner | None = None

    @property
    def token_uri(self) -> str:
        return self.base_url + "/token"

    async def __aenter__(self) -> FakeGoogle:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.base_url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    # ---- credentials ------------------------------------------------------------

    def add_service_account(
        self,
        client_email: str,
        public_key: rsa.RSAPublicKey | bytes,
        *,
        delegation: bool = True,
        allowed_scopes: Iterable[str] | None = None,
    ) -> None:
        """Register a key (object or PEM); `allowed_scopes` None allows any."""
        if isinstance(public_key, bytes):
            public_key = serialization.load_pem_public_key(public_key)
        allowed = None if allowed_scopes is None else frozenset(allowed_scopes)
        self.service_accounts[client_email] = ServiceAccount(
            client_email, public_key, delegation, allowed
        )

    def add_refresh_token(
        self,
        token: str,
        *,
        client_id: str,
        client_secret: str,
        user: str,
        scopes: Iterable[str],
    ) -> None:
        self.oauth_clients[client_id] = client_secret
        self.refresh_tokens[token] = RefreshToken(client_id, user, frozenset(scopes))

    def revoke_user(self, user: str) -> None:
        """Refuse new tokens for `user` and invalidate the ones already issued."""
        self.revoked_users.add(user)
        self.expire_tokens(user)

    def expire_tokens(self, user: str | None = None) -> None:
        for grant in self.grants.values():
            if user is None or grant.subject == user:
                grant.expires_at = 0

    # ---- mailboxes and calendars -----------------------------------------------

    def mailbox(self, user: str) -> Mailbox:
        return self.mailboxes.setdefault(user, Mailbox(user))

    def add_message(
        self,
        user: str,
        headers: Mapping[str, str | list[str]],
        *,
        internal_date: int | datetime | None = None,
        label_ids: list[str] | None = None,
        thread_id: str | None = None,
    ) -> StoredMessage:
        """Deliver a message made of `headers` (a list value repeats a header).

        internalDate defaults to the Date header; labels to SENT when From is
        the mailbox owner, else INBOX+UNREAD; the thread follows In-Reply-To.
        """
        pairs = [
            (name, one)
            for name, value in headers.items()
            for one in ([value] if isinstance(value, str) else value)
        ]
        if isinstance(internal_date, datetime):
            internal_date = int(internal_date.timestamp() * 1000)
        if internal_date is None:
            date = next((v for n, v in pairs if n.lower() == "date"), "")
            try:
                sent = email.utils.parsedate_to_datetime(date)
                internal_date = int(sent.timestamp() * 1000)
            except (TypeError, ValueError):
                internal_date = int(time.time() * 1000)
        message_id = f"{next(self._ids):016x}"
        return self.mailbox(user).add(
            message_id,
            pairs,
            internal_date=internal_date,
            label_ids=label_ids,
            thread_id=thread_id,
        )

    def load_mailbox(
        self, user: str, messages: Iterable[Mapping[str, str | list[str]]]
    ) -> list[StoredMessage]:
        """Deliver each header dict in order, each with the next history id."""
        return [self.add_message(user, headers) for headers in messages]

    def expire_history(self, user: str) -> None:
        """Make every history id handed out so far answer 404."""
        box = self.mailbox(user)
        box.history_floor = box.history_id + 1

    def add_event(
        self,
        calendar_id: str,
        *,
        start: str,
        end: str,
        organizer: str,
        attendees: Iterable[str | Mapping[str, Any]] = (),
        status: str = "confirmed",
        event_id: str | None = None,
        **fields: Any,
    ) -> str:
        """Store or replace an event; `start`/`end` are RFC 3339 or YYYY-MM-DD.

        Attendees are emails or dicts with email, responseStatus, resource...
        """
        event_id = event_id or secrets.token_hex(13)
        key = "date" if len(start) == 10 else "dateTime"
        people = [{"email": a} if isinstance(a, str) else dict(a) for a in attendees]
        event = {"id": event_id, "status": status, "start": {key: start}}
        event |= {"end": {key: end}, "organizer": {"email": organizer}}
        self.calendars.setdefault(calendar_id, Calendar()).put(
            {**event, "attendees": people, **fields}
        )
        return event_id

    def cancel_event(self, calendar_id: str, event_id: str) -> None:
        cal = self.calendars[calendar_id]
        cal.put({**cal.events[event_id], "status": "cancelled"})

    def expire_sync_tokens(self, calendar_id: str) -> None:
        cal = self.calendars.setdefault(calendar_id, Calendar())
        cal.sync_floor = cal.seq + 1

    # ---- faults and recorded calls -----------------------------------------------

    def fail_next(
        self,
        target: str,
        *,
        status: int | None = 429,
        times: int = 1,
        after: int = 0,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        delay: float = 0.0,
        disconnect: bool = False,
    ) -> Fault:
        """Make the next `times` matching requests fail, after letting `after` pass.

        The body defaults to Google's for `status` (see `error_body`). A part of
        a batch fails alone while the batch answers 200. `status=None` with a
        `delay` gives a slow but normal answer; `disconnect` closes the
        connection instead of answering (inside a batch, the whole batch's).
        """
        if status is not None and body is None:
            body = error_body(status)
        fault = Fault(
            target, status, times, after, body, dict(headers or {}), delay, disconnect
        )
        self.faults.append(fault)
        return fault

    def calls_to(self, kind: str) -> list[Call]:
        return [call for call in self.calls if call.kind == kind]

    async def _injected(self, kinds: set[str], target: str) -> Reply | None:
        for fault in self.faults:
            if fault.times <= 0 or not fault.matches(kinds, target):
                continue
            if fault.after > 0:
                fault.after -= 1
                continue
            fault.times -= 1
            await asyncio.sleep(fault.delay)
            if fault.disconnect:
                raise _Disconnect
            if fault.status is not None:
                return Reply(fault.status, fault.body, dict(fault.headers))
            return None
        return None

    # ---- dispatch -------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        try:
            reply = await self._dispatch(
                request.method, request.path_qs, dict(request.headers), body
            )
        except _Disconnect:
            return await self._cut(request)
        if isinstance(reply.body, bytes):
            return web.Response(
                status=reply.status, body=reply.body, headers=reply.headers
            )
        return web.json_response(reply.body, status=reply.status, headers=reply.headers)

    @staticmethod
    async def _cut(request: web.Request) -> web.StreamResponse:
        # Close mid-body: a drop before any answer is retried by clients such
        # as aiohttp on a kept-alive connection, a truncated page is not.
        logger.debug("fake google cut the connection on %s", request.path)
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.content_length = 4096
        await response.prepare(request)
        await response.write(b'{"')
        assert request.transport is not None
        request.transport.close()
        return response

    async def _dispatch(
        self,
        method: str,
        target: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        in_batch: bool = False,
    ) -> Reply:
        url = urlsplit(target)
        routed = _route(method, url.path)
        if routed is None:
            return Reply(404, error_body(404, "notFound", "Not Found"))
        kind, match = routed
        query = parse_qs(url.query, keep_blank_values=True)
        lowered = {name.lower(): value for name, value in headers.items()}
        call = Call(method, url.path, query, lowered, kind, in_batch)
        if kind == "token":
            call.form = {k: v[-1] for k, v in parse_qs(body.decode()).items()}
        self.calls.append(call)

        handler = getattr(self, "_" + kind.replace(".", "_"))
        try:
            kinds = {kind, "batch_part"} if in_batch else {kind}
            reply = await self._injected(kinds, target)
            if reply is None:
                reply = await handler(call, body, *match.groups())
        except HttpFailure as failure:
            reply = Reply(failure.status, failure.body, failure.headers)
        except _Disconnect:
            call.status = 0
            raise
        call.status = reply.status
        logger.debug("fake google %s %s -> %d", method, url.path, reply.status)
        return reply

    # ---- OAuth token endpoint -------------------------------------------------

    async def _token(self, call: Call, body: bytes) -> Reply:
        grant_type = call.form.get("grant_type", "")
        if grant_type == JWT_BEARER_GRANT:
            grant = self._jwt_grant(call.form.get("assertion", ""))
        elif grant_type == "refresh_token":
            grant = self._refresh_grant(call.form)
        else:
            message = f"Invalid grant_type: {grant_type}"
            raise oauth_error(400, "unsupported_grant_type", message)
        self.grants[grant.access_token] = grant
        answer = {"access_token": grant.access_token, "expires_in": TOKEN_LIFETIME}
        answer["token_type"] = "Bearer"
        if grant.claims is None:
            answer["scope"] = " ".join(sorted(grant.scopes))
        return Reply(200, answer)

    def _jwt_grant(self, assertion: str) -> Grant:
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(b64url_decode(header_b64))
            claims = json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
        except ValueError as exc:
            raise oauth_error(400, "invalid_grant", "Bad Request") from exc
        account = self.service_accounts.get(claims.get("iss", ""))
        if account is None:
            raise oauth_error(400, "invalid_grant", "Invalid grant: account not found")
        signed = f"{header_b64}.{claims_b64}".encode()
        try:
            if header.get("alg") != "RS256":
                raise InvalidSignature
            account.public_key.verify(
                signature, signed, padding.PKCS1v15(), hashes.SHA256()
            )
        except InvalidSignature as exc:
            raise oauth_error(400, "invalid_grant", "Invalid JWT Signature.") from exc
        if claims.get("aud") not in (GOOGLE_TOKEN_AUDIENCE, self.token_uri):
            message = "Invalid JWT: Failed audience check."
            raise oauth_error(400, "invalid_grant", message)
        iat, exp = claims.get("iat", 0), claims.get("exp", 0)
        if not (iat - 300 <= time.time() < exp and exp - iat <= 3600):
            raise oauth_error(400, "invalid_grant", errors.BAD_JWT_TIME)
        scopes = frozenset(str(claims.get("scope", "")).split())
        if not scopes:
            message = "Empty or missing scope not allowed."
            raise oauth_error(400, "invalid_scope", message)

        subject = claims.get("sub", account.client_email)
        if "sub" in claims:
            if self.known_users is not None and subject not in self.known_users:
                raise oauth_error(400, "invalid_grant", "Invalid email or User ID")
            allowed = account.allowed_scopes
            refused = allowed is not None and not scopes <= allowed
            if refused or not account.delegation or subject in self.revoked_users:
                raise oauth_error(
                    401, "unauthorized_client", errors.UNAUTHORIZED_CLIENT
                )
        return Grant(subject, scopes, account.client_email, claims)

    def _refresh_grant(self, form: dict[str, str]) -> Grant:
        client_id = form.get("client_id", "")
        if client_id not in self.oauth_clients:
            raise oauth_error(401, "invalid_client", "The OAuth client was not found.")
        if self.oauth_clients[client_id] != form.get("client_secret"):
            raise oauth_error(401, "invalid_client", "Unauthorized")
        token = form.get("refresh_token", "")
        stored = self.refresh_tokens.get(token)
        revoked = token in self.revoked_refresh_tokens
        if stored is None or revoked or stored.user in self.revoked_users:
            message = "Token has been expired or revoked."
            raise oauth_error(400, "invalid_grant", message)
        if stored.client_id != client_id:
            raise oauth_error(401, "unauthorized_client", "Unauthorized")
        scopes = stored.scopes
        if form.get("scope"):
            # A refresh may narrow the grant but never widen it.
            scopes = frozenset(form["scope"].split()) & stored.scopes
        return Grant(stored.user, scopes, client_id)

    # ---- authorization of API calls ---------------------------------------------

    def _authorize(self, call: Call, api_scopes: frozenset[str]) -> Grant:
        auth = call.headers.get("authorization", "")
        grant = self.grants.get(auth[7:]) if auth.startswith("Bearer ") else None
        if grant is None or grant.expires_at < time.time():
            where = {"location": "Authorization", "locationType": "header"}
            body = error_body(401, "authError", errors.UNAUTHENTICATED, **where)
            raise HttpFailure(401, body, dict(errors.INVALID_TOKEN_HEADERS))
        if not grant.scopes & api_scopes:
            message = "Request had insufficient authentication scopes."
            raise api_error(403, "insufficientPermissions", message)
        return grant

    def _gmail_user(self, call: Call, user_id: str) -> tuple[Grant, Mailbox]:
        grant = self._authorize(call, GMAIL_SCOPES)
        if user_id not in ("me", grant.subject):
            raise api_error(403, "forbidden", f"Delegation denied for {grant.subject}")
        return grant, self.mailbox(grant.subject)

    # ---- Gmail ------------------------------------------------------------------

    async def _profile(self, call: Call, body: bytes, user_id: str) -> Reply:
        _, box = self._gmail_user(call, user_id)
        threads = {m.thread_id for m in box.messages.values()}
        profile = {"emailAddress": box.address, "messagesTotal": len(box.messages)}
        profile |= {"threadsTotal": len(threads), "historyId": str(box.history_id)}
        return Reply(200, profile)

    async def _messages_list(self, call: Call, body: bytes, user_id: str) -> Reply:
        grant, box = self._gmail_user(call, user_id)
        if "q" in call.query and grant.metadata_only:
            raise api_error(403, "forbidden", errors.METADATA_NO_Q)
        size = int_param(call.query, "maxResults", default=100, cap=500)
        wanted = set(call.query.get("labelIds", []))
        found = [m for m in box.messages.values() if wanted <= set(m.label_ids)]
        found.sort(key=lambda m: (m.internal_date, m.id), reverse=True)
        if "pageToken" in call.query:
            # The token holds the last key served, so new mail cannot shift pages.
            last = tuple(decode_token(call.query["pageToken"][0]))
            found = [m for m in found if (m.internal_date, m.id) < last]

        page = found[:size]
        # Gmail leaves "messages" out entirely when nothing matches.
        answer: dict[str, Any] = {"resultSizeEstimate": len(found)}
        if page:
            answer["messages"] = [{"id": m.id, "threadId": m.thread_id} for m in page]
        if len(found) > size:
            answer["nextPageToken"] = encode_token(
                [page[-1].internal_date, page[-1].id]
            )
        return Reply(200, answer)

    async def _messages_get(
        self, call: Call, body: bytes, user_id: str, message_id: str
    ) -> Reply:
        grant, box = self._gmail_user(call, user_id)
        fmt = call.query.get("format", ["full"])[0].lower()
        if fmt not in ("minimal", "full", "raw", "metadata"):
            message = f"Invalid value at 'format' ({fmt})"
            raise api_error(400, "invalidArgument", message)
        if fmt in ("full", "raw") and grant.metadata_only:
            message = f"Metadata scope doesn't allow format {fmt.upper()}"
            raise api_error(403, "forbidden", message)
        if not re.fullmatch(r"[0-9a-f]+", message_id):
            raise api_error(400, "invalidArgument", "Invalid id value")
        stored = box.messages.get(message_id)
        if stored is None:
            raise api_error(404)

        answer = stored.summary()
        headers = stored.headers
        if fmt == "metadata" and "metadataHeaders" in call.query:
            names = {name.lower() for name in call.query["metadataHeaders"]}
            headers = [(n, v) for n, v in headers if n.lower() in names]
        listed = [{"name": n, "value": v} for n, v in headers]
        if fmt == "metadata":
            answer["payload"] = {"mimeType": "text/plain", "headers": listed}
        elif fmt == "full":
            answer["payload"] = {"partId": "", "mimeType": "text/plain", "filename": ""}
            answer["payload"] |= {"headers": listed, "body": {"size": 0}}
        elif fmt == "raw":
            raw = "".join(f"{n}: {v}\r\n" for n, v in headers) + "\r\n"
            answer["raw"] = base64.urlsafe_b64encode(raw.encode()).decode()
        return Reply(200, answer)

    async def _history_list(self, call: Call, body: bytes, user_id: str) -> Reply:
        _, box = self._gmail_user(call, user_id)
        start = call.query.get("startHistoryId", [""])[0]
        if not start.isdigit():
            message = "Invalid startHistoryId" if start else "Missing startHistoryId"
            raise api_error(400, "invalidArgument", message)
        if int(start) < box.history_floor:
            raise api_error(404)
        size = int_param(call.query, "maxResults", default=100, cap=500)
        after = int(start)
        if "pageToken" in call.query:
            after = int(decode_token(call.query["pageToken"][0]))
        wanted = "messageAdded" in call.query.get("historyTypes", ["messageAdded"])
        records = [(hid, mid) for hid, mid in box.history if hid > after and wanted]

        page = records[:size]
        answer: dict[str, Any] = {"historyId": str(box.history_id)}
        if page:
            answer["history"] = [
                self._history_record(hid, box.messages[mid]) for hid, mid in page
            ]
        if len(records) > size:
            answer["nextPageToken"] = encode_token(str(page[-1][0]))
        return Reply(200, answer)

    @staticmethod
    def _history_record(history_id: int, message: StoredMessage) -> dict[str, Any]:
        ids = {"id": message.id, "threadId": message.thread_id}
        added = {**ids, "labelIds": list(message.label_ids)}
        record = {"id": str(history_id), "messages": [ids]}
        return record | {"messagesAdded": [{"message": added}]}

    # ---- Gmail batch ------------------------------------------------------------

    async def _batch(self, call: Call, body: bytes) -> Reply:
        content_type = call.headers.get("content-type", "")
        if not re.match(r"multipart/mixed;.*boundary=", content_type):
            raise api_error(400, "badRequest", "Bad Request")
        envelope = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
        )
        parts = list(envelope.iter_parts())
        if len(parts) > BATCH_LIMIT:
            message = (
                f"Inner request count exceeds the limit. Received: {len(parts)}, "
                f"Limit: {BATCH_LIMIT}"
            )
            # Google sends this one error without an "errors" list.
            error = {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}
            raise HttpFailure(400, {"error": error})

        boundary = f"batch_{secrets.token_hex(12)}"
        out = []
        for part in parts:
            raw = part.get_payload(decode=True) or b""
            reply = await self._batch_part(raw, call.headers.get("authorization"))
            lines = [f"--{boundary}", "Content-Type: application/http"]
            content_id = str(part.get("Content-ID", "")).strip().strip("<>")
            if content_id:
                lines.append(f"Content-ID: <response-{content_id}>")
            phrase = http.HTTPStatus(reply.status).phrase
            lines += ["", f"HTTP/1.1 {reply.status} {phrase}"]
            lines.append("Content-Type: application/json; charset=UTF-8")
            lines += [f"{name}: {value}" for name, value in reply.headers.items()]
            lines += ["", json.dumps(reply.body, indent=2), ""]
            out.append("\r\n".join(lines))
        out.append(f"--{boundary}--\r\n")
        content_type = f"multipart/mixed; boundary={boundary}"
        return Reply(200, "".join(out).encode(), {"Content-Type": content_type})

    async def _batch_part(self, raw: bytes, outer_auth: str | None) -> Reply:
        head, _, inner_body = raw.replace(b"\r\n", b"\n").partition(b"\n\n")
        request_line, *header_lines = head.decode().strip().split("\n")
        try:
            method, target = request_line.split()[:2]
        except ValueError:
            return Reply(400, error_body(400, "badRequest", "Bad Request"))
        pairs = (line.split(":", 1) for line in header_lines if ":" in line)
        headers = {name.strip(): value.strip() for name, value in pairs}
        # An inner request without its own Authorization inherits the batch's.
        if outer_auth and "authorization" not in {h.lower() for h in headers}:
            headers["Authorization"] = outer_auth
        if target.startswith("http"):
            target = urlsplit(target)._replace(scheme="", netloc="").geturl()
        return await self._dispatch(method, target, headers, inner_body, in_batch=True)

    # ---- Calendar ---------------------------------------------------------------

    async def _events_list(self, call: Call, body: bytes, calendar_id: str) -> Reply:
        grant = self._authorize(call, CALENDAR_SCOPES)
        if calendar_id == "primary":
            calendar_id = grant.subject
        cal = self.calendars.get(calendar_id)
        if cal is None:
            raise api_error(404, "notFound", "Not Found")
        query = {name: values[0] for name, values in call.query.items()}
        size = int_param(call.query, "maxResults", default=250, cap=2500)
        state = decode_token(query["pageToken"]) if "pageToken" in query else {}
        sync_from = state.get("from")
        if "syncToken" in query and sync_from is None:
            sync_from = self._sync_start(cal, query["syncToken"])

        # Pages of one listing share a snapshot, so later changes wait for the
        # next sync instead of shifting the pages.
        snapshot = state.get("snap", cal.seq)
        events = []
        for event_id, event in cal.events.items():
            changed = cal.changed_at[event_id]
            if changed > snapshot or (sync_from is not None and changed <= sync_from):
                continue
            if sync_from is None and not self._in_window(event, query):
                continue
            events.append(event)
        events.sort(key=lambda e: (event_time(e["start"]), e["id"]))

        offset = state.get("o", 0)
        page = events[offset : offset + size]
        answer: dict[str, Any] = {"kind": "calendar#events", "summary": calendar_id}
        answer |= {"timeZone": "UTC", "accessRole": "owner", "defaultReminders": []}
        answer["items"] = [render_event(e, grant.subject) for e in page]
        if offset + size < len(events):
            state = {"o": offset + size, "snap": snapshot, "from": sync_from}
            answer["nextPageToken"] = encode_token(state)
        else:
            answer["nextSyncToken"] = encode_token({"seq": snapshot})
        return Reply(200, answer)

    @staticmethod
    def _sync_start(cal: Calendar, token: str) -> int:
        try:
            start = int(decode_token(token, "syncToken")["seq"])
        except (HttpFailure, KeyError, TypeError, ValueError) as exc:
            raise api_error(400, "invalid", "Invalid sync token value.") from exc
        if start < cal.sync_floor:
            where = {"location": "syncToken", "locationType": "parameter"}
            raise api_error(410, "fullSyncRequired", **where)
        return start

    @staticmethod
    def _in_window(event: dict[str, Any], query: dict[str, str]) -> bool:
        # An incremental sync skips this: it always includes cancelled events.
        if event["status"] == "cancelled" and query.get("showDeleted") != "true":
            return False
        start, end = event_time(event["start"]), event_time(event["end"])
        if "timeMin" in query and end <= parse_time(query["timeMin"]):
            return False
        return "timeMax" not in query or start < parse_time(query["timeMax"])
