"""A fake of Slack's Web API, served over HTTP on 127.0.0.1 for tests.

It answers the way slack.com does on the wire: HTTP 200 with ``ok: false`` for
refusals, cursor pagination, ``Retry-After`` on 429, Block Kit checks with
``response_metadata.messages``. Shapes follow Slack's own samples in
``shared/data/slack-payloads`` (java-slack-sdk field inventories and the
OpenAPI examples in slack-api-specs).

    async with FakeSlackApi() as fake:
        fake.state.add_user("U01", name="ada", email="ada@example.com")
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake.base_url)
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import itertools
import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from aiohttp import web

from tests.fakes.slack_blocks import message_block_problems, view_problems

logger = logging.getLogger(__name__)

Params = dict[str, Any]
Json = dict[str, Any]

DEFAULT_BOT_TOKEN = "xoxb-fake-bot-token"
BOT_USER_ID = "U0BOT00001"
TRIGGER_LIFETIME_SECONDS = 3.0

# Slack says it truncates text past 40,000 characters (chat.postMessage
# reference); the fake refuses it with msg_too_long so tests notice the loss.
MAX_MESSAGE_TEXT = 40_000


class _Refusal(Exception):
    """An ``ok: false`` answer; handlers raise it so each check is one line."""

    def __init__(
        self,
        error: str,
        *,
        messages: list[str] | None = None,
        errors: list[str] | None = None,
        status: int = 200,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.errors = errors or []
        self.status = status

    def body(self) -> Json:
        body: Json = {"ok": False, "error": self.error}
        if self.errors:
            body["errors"] = self.errors
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _schema_refusal(error: str, problems: list[str], *, status: int = 200) -> _Refusal:
    """Slack lists schema problems bare in ``errors`` and tagged in the metadata."""
    return _Refusal(
        error,
        errors=problems if error == "invalid_blocks" else None,
        messages=[f"[ERROR] {p}" for p in problems],
        status=status,
    )


@dataclass
class FakeSlackState:
    """Everything the fake workspace holds; tests load it before calling."""

    team: Json = field(
        default_factory=lambda: {
            "id": "T0FAKE0001",
            "name": "Rapport Test",
            "domain": "rapport-test",
            "email_domain": "example.com",
            "icon": {"image_default": True},
        }
    )
    bot_id: str = "B0BOT00001"
    app_id: str = "A0APP00001"
    # token -> user id the token acts as.
    tokens: dict[str, str] = field(
        default_factory=lambda: {DEFAULT_BOT_TOKEN: BOT_USER_ID}
    )
    revoked_tokens: set[str] = field(default_factory=set)
    users: list[Json] = field(default_factory=list)
    channels: list[Json] = field(default_factory=list)
    channel_members: dict[str, list[str]] = field(default_factory=dict)
    # channel id -> every message, thread replies included, in any order.
    messages: dict[str, list[Json]] = field(default_factory=dict)
    ephemeral_messages: list[Json] = field(default_factory=list)
    views: dict[str, Json] = field(default_factory=dict)
    home_views: dict[str, str] = field(default_factory=dict)
    trigger_ids: dict[str, float] = field(default_factory=dict)
    used_trigger_ids: set[str] = field(default_factory=set)
    # Off by default so tests may use made-up trigger ids; each still works once.
    strict_trigger_ids: bool = False
    clock: Callable[[], float] = time.time
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _last_ts: Decimal = Decimal(0)

    def add_user(
        self, user_id: str, *, name: str, email: str | None = None, **extra: Any
    ) -> Json:
        real_name = extra.pop("real_name", name.title())
        profile = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": name,
            "display_name_normalized": name,
            "first_name": real_name.split(" ")[0],
            "last_name": " ".join(real_name.split(" ")[1:]),
            "title": "",
            "status_text": "",
            "status_emoji": "",
            "avatar_hash": "g0000000000",
            "image_72": f"https://avatars.example.com/{user_id}_72.png",
            "team": self.team["id"],
            **({"email": email} if email else {}),
            **extra.pop("profile", {}),
        }
        user = {
            "id": user_id,
            "team_id": self.team["id"],
            "name": name,
            "deleted": False,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": int(self.clock()),
            **extra,
        }
        self.users.append(user)
        return user

    def add_channel(
        self,
        channel_id: str,
        *,
        name: str,
        members: list[str] | tuple[str, ...] = (),
        **flags: Any,
    ) -> Json:
        channel = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": not flags.get("is_private", False),
            "is_group": flags.get("is_private", False)
            and not flags.get("is_mpim", False),
            "is_im": False,
            "is_mpim": False,
            "is_private": False,
            "created": int(self.clock()),
            "creator": members[0] if members else "",
            "is_archived": False,
            "is_general": False,
            "unlinked": 0,
            "is_shared": flags.get("is_ext_shared", False),
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "context_team_id": self.team["id"],
            "is_member": True,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "", "creator": "", "last_set": 0},
            "previous_names": [],
            **flags,
        }
        self.channels.append(channel)
        self.channel_members[channel_id] = list(members)
        return channel

    def add_im(self, user_id: str, *, channel_id: str | None = None) -> Json:
        channel = {
            "id": channel_id or f"D{user_id[1:]}",
            "created": int(self.clock()),
            "is_archived": False,
            "is_im": True,
            "is_org_shared": False,
            "context_team_id": self.team["id"],
            "user": user_id,
            "is_user_deleted": False,
            "priority": 0,
        }
        self.channels.append(channel)
        self.channel_members[channel["id"]] = [BOT_USER_ID, user_id]
        return channel

    def add_message(
        self, channel_id: str, *, text: str, ts: str | None = None, **fields: Any
    ) -> Json:
        """Store a message; a ``thread_ts`` other than its own ts makes it a reply."""
        message = {"type": "message", "ts": ts or self.next_ts(), "text": text}
        message.update(fields)
        thread_ts = message.get("thread_ts", message["ts"])
        parent = self.find_message(channel_id, thread_ts)
        if thread_ts != message["ts"] and parent is not None:
            message["parent_user_id"] = parent.get("user", "")
            parent["thread_ts"] = parent["ts"]
            parent["reply_count"] = parent.get("reply_count", 0) + 1
            repliers = parent.setdefault("reply_users", [])
            if message.get("user") and message["user"] not in repliers:
                repliers.append(message["user"])
            parent["reply_users_count"] = len(repliers)
            latest = parent.get("latest_reply", message["ts"])
            parent["latest_reply"] = max(latest, message["ts"], key=_ts_key)
        self.messages.setdefault(channel_id, []).append(message)
        return message

    def issue_trigger_id(self, *, age: float = 0.0) -> str:
        """A trigger id as an interaction payload would carry, issued ``age`` s ago."""
        trigger_id = f"{next(self._ids)}.98765.abcd2358fdea"
        self.trigger_ids[trigger_id] = self.clock() - age
        return trigger_id

    def next_ts(self) -> str:
        ts = max(Decimal(f"{self.clock():.6f}"), self._last_ts + Decimal("0.000001"))
        self._last_ts = ts
        return f"{ts:.6f}"

    def new_id(self, prefix: str) -> str:
        return f"{prefix}0FAKE{next(self._ids):05d}"

    def find_user(self, user_id: str) -> Json | None:
        return next((u for u in self.users if u["id"] == user_id), None)

    def find_channel(self, channel_id: str) -> Json | None:
        if channel_id.startswith("#"):
            return next(
                (c for c in self.channels if c.get("name") == channel_id[1:]), None
            )
        return next((c for c in self.channels if c["id"] == channel_id), None)

    def find_message(self, channel_id: str, ts: str) -> Json | None:
        return next(
            (m for m in self.messages.get(channel_id, []) if m["ts"] == ts), None
        )


@dataclass
class RecordedCall:
    """One request the fake received; the token is kept apart from the headers."""

    method: str
    http_method: str
    params: Params
    token: str | None
    headers: dict[str, str]
    status: int = 0
    response: Any = None


@dataclass
class ResponsePost:
    path: str
    body: Json
    headers: dict[str, str]
    status: int = 0


@dataclass
class Fault:
    """A programmed failure: answer ``method`` this way for the next ``times`` calls."""

    method: str
    status: int
    error: str | None
    retry_after: int | None
    times: int | None
    match: Callable[[Params], bool] | None
    body: Json | str | None

    def response(self) -> web.Response:
        headers = (
            {"Retry-After": str(self.retry_after)}
            if self.retry_after is not None
            else {}
        )
        if isinstance(self.body, str):
            return web.Response(
                status=self.status,
                text=self.body,
                headers=headers,
                content_type="text/html",
            )
        body = (
            self.body if self.body is not None else {"ok": False, "error": self.error}
        )
        return web.json_response(body, status=self.status, headers=headers)


class FakeSlackApi:
    """The HTTP server; ``async with FakeSlackApi() as fake`` starts and stops it."""

    def __init__(self, state: FakeSlackState | None = None) -> None:
        self.state = state or FakeSlackState()
        self.calls: list[RecordedCall] = []
        self.response_posts: list[ResponsePost] = []
        self.faults: list[Fault] = []
        self.delays: dict[str, float] = {}
        self.base_url = ""
        self._root = ""
        self._runner: web.AppRunner | None = None

    async def __aenter__(self) -> FakeSlackApi:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{path:.*}", self._handle_response_url)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        port = self._runner.addresses[0][1]
        self._root = f"http://127.0.0.1:{port}"
        self.base_url = f"{self._root}/api/"
        logger.debug("Fake Slack Web API listening on port %s", port)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def calls_to(self, method: str) -> list[RecordedCall]:
        return [call for call in self.calls if call.method == method]

    def response_url(self, path: str) -> str:
        """A URL to hand out as a payload's ``response_url``; see response_posts."""
        return f"{self._root}/response/{path.lstrip('/')}"

    def fail_next(
        self,
        method: str,
        *,
        status: int = 200,
        error: str | None = None,
        retry_after: int | None = None,
        times: int | None = 1,
        match: Callable[[Params], bool] | None = None,
        body: Json | str | None = None,
    ) -> Fault:
        """Program a failure for ``method`` ("response_url" for those posts).

        ``times=None`` keeps failing; ``match`` sees the call's params; a str
        ``body`` is served as HTML, as an edge proxy would.
        """
        if status == 429:
            error = error or "ratelimited"
        elif status >= 500:
            error = error or "fatal_error"
        elif error is None and body is None:
            raise ValueError(
                "an HTTP 200 fault needs an error code, e.g. channel_not_found"
            )
        fault = Fault(
            method=method,
            status=status,
            error=error,
            retry_after=retry_after,
            times=times,
            match=match,
            body=body,
        )
        self.faults.append(fault)
        return fault

    def delay(self, method: str, seconds: float) -> None:
        """Answer ``method`` (or "*" for every method) only after ``seconds``."""
        self.delays[method] = seconds

    async def _apply_delay_and_faults(
        self, method: str, params: Params
    ) -> Fault | None:
        seconds = self.delays.get(method, self.delays.get("*", 0.0))
        if seconds:
            await asyncio.sleep(seconds)
        for fault in self.faults:
            if fault.method != method or (fault.match and not fault.match(params)):
                continue
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
            return fault
        return None

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        params, token, parse_error = await _read_params(request)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() != "authorization"
        }
        call = RecordedCall(
            method=method,
            http_method=request.method,
            params=params,
            token=token,
            headers=headers,
        )
        self.calls.append(call)

        fault = await self._apply_delay_and_faults(method, params)
        if fault is not None:
            response = fault.response()
            call.status, call.response = (
                response.status,
                fault.body or {"ok": False, "error": fault.error},
            )
            return response

        status, body = self._dispatch(
            method, params, token=token, parse_error=parse_error
        )
        call.status, call.response = status, body
        return web.json_response(body, status=status)

    def _dispatch(
        self,
        method: str,
        params: Params,
        *,
        token: str | None,
        parse_error: str | None,
    ) -> tuple[int, Json]:
        handler = ROUTES.get(method)
        if handler is None:
            # Slack answers unknown methods with 404 and this body.
            return 404, {"ok": False, "error": "unknown_method", "req_method": method}
        try:
            if parse_error:
                raise _Refusal(parse_error)
            if not token:
                raise _Refusal("not_authed")
            if token in self.state.revoked_tokens:
                raise _Refusal("token_revoked")
            if token not in self.state.tokens:
                raise _Refusal("invalid_auth")
            return 200, {"ok": True, **handler(self.state, params, token)}
        except _Refusal as refusal:
            return refusal.status, refusal.body()

    async def _handle_response_url(self, request: web.Request) -> web.StreamResponse:
        params, _, parse_error = await _read_params(request)
        headers = {
            k: v for k, v in request.headers.items() if k.lower() != "authorization"
        }
        post = ResponsePost(
            path=request.match_info["path"], body=params, headers=headers
        )
        self.response_posts.append(post)

        fault = await self._apply_delay_and_faults("response_url", params)
        if fault is not None:
            post.status = fault.status
            return fault.response()

        # Slack's exact status and body for a refused response_url post are not
        # documented; the fake answers 400 with a Web-API-style body.
        try:
            if parse_error:
                raise _Refusal("invalid_payload", status=400)
            _check_message_content(params, status=400)
        except _Refusal as refusal:
            post.status = refusal.status
            return web.json_response(refusal.body(), status=refusal.status)
        post.status = 200
        return web.json_response({"ok": True})


async def _read_params(request: web.Request) -> tuple[Params, str | None, str | None]:
    """Merge query string and body as Slack does; give (params, token, error)."""
    params: Params = dict(request.query)
    error = None
    if request.method == "POST" and request.body_exists:
        if request.content_type == "application/json":
            try:
                body = json.loads(await request.text())
            except ValueError:
                body, error = {}, "invalid_json"
            if not isinstance(body, dict):
                body, error = {}, "json_not_object"
            # Slack ignores a token inside a JSON body; it must come as a header.
            body.pop("token", None)
            params.update(body)
        elif request.content_type in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        else:
            error = "invalid_post_type"
    token = params.pop("token", None)
    auth = request.headers.get("Authorization", "")
    if auth.startswith("Bearer "):
        token = auth.removeprefix("Bearer ").strip()
    return params, token, error


# Parameter helpers -----------------------------------------------------------


def _required(params: Params, name: str, *, error: str) -> str:
    value = params.get(name)
    if not value:
        raise _Refusal(error)
    return str(value)


def _flag(params: Params, name: str) -> bool:
    return str(params.get(name, "")).lower() in ("1", "true")


def _int(params: Params, name: str, *, default: int) -> int:
    try:
        return int(params.get(name) or default)
    except (TypeError, ValueError):
        raise _Refusal("invalid_limit") from None


def _json_param(params: Params, name: str, *, error: str) -> Any:
    """Form posts carry blocks and views as JSON strings, JSON posts as objects."""
    value = params.get(name)
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            raise _Refusal(error) from None
    return value


def _ts_key(ts: str) -> Decimal:
    return Decimal(ts)


def _ts_param(params: Params, name: str, *, default: Decimal) -> Decimal:
    if params.get(name) in (None, ""):
        return default
    try:
        return Decimal(str(params[name]))
    except InvalidOperation:
        raise _Refusal(f"invalid_ts_{name}") from None


def _encode_cursor(kind: str, value: object) -> str:
    return base64.b64encode(f"{kind}:{value}".encode()).decode()


def _decode_cursor(params: Params, kind: str) -> str | None:
    cursor = params.get("cursor")
    if not cursor:
        return None
    try:
        found_kind, _, value = base64.b64decode(cursor).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise _Refusal("invalid_cursor") from None
    if found_kind != kind or not value:
        raise _Refusal("invalid_cursor")
    return value


def _page(items: list[Any], params: Params, *, default: int, key: str) -> Json:
    """Offset pagination with Slack's cursor envelope; "" marks the last page."""
    offset_text = _decode_cursor(params, "offset") or "0"
    if not offset_text.isdigit():
        raise _Refusal("invalid_cursor")
    offset = int(offset_text)
    limit = _int(params, "limit", default=default)
    limit = min(limit, 1000) if limit > 0 else 1000
    page = items[offset : offset + limit]
    more = offset + limit < len(items)
    next_cursor = _encode_cursor("offset", offset + limit) if more else ""
    return {key: page, "response_metadata": {"next_cursor": next_cursor}}


# Access rules -------------------------------------------------------------------


def _visible_channel(state: FakeSlackState, params: Params) -> Json:
    """A conversation the token can see; private ones it is not in are hidden."""
    channel = state.find_channel(
        _required(params, "channel", error="channel_not_found")
    )
    if channel is None:
        raise _Refusal("channel_not_found")
    hidden = channel.get("is_private") or channel.get("is_mpim")
    if hidden and not channel.get("is_member"):
        raise _Refusal("channel_not_found")
    return channel


def _joined_channel(state: FakeSlackState, params: Params) -> Json:
    channel = _visible_channel(state, params)
    if not channel.get("is_im") and not channel.get("is_member"):
        raise _Refusal("not_in_channel")
    return channel


def _is_top_level(message: Json) -> bool:
    thread_ts = message.get("thread_ts")
    return (
        thread_ts in (None, message["ts"])
        or message.get("subtype") == "thread_broadcast"
    )


def _channel_view(state: FakeSlackState, channel: Json) -> Json:
    view = dict(channel)
    if not channel.get("is_im"):
        view["num_members"] = len(state.channel_members.get(channel["id"], []))
    return view


def _check_message_content(params: Params, *, status: int = 200) -> None:
    """What Slack refuses in a message: no content, too much text, bad blocks."""
    blocks = _json_param(params, "blocks", error="invalid_blocks_format")
    text = params.get("text") or ""
    empty_allowed = _flag(params, "delete_original")
    if not (text or blocks or params.get("attachments") or empty_allowed):
        raise _Refusal("no_text", status=status)
    if len(text) > MAX_MESSAGE_TEXT:
        raise _Refusal("msg_too_long", status=status)
    if blocks is not None:
        problems = message_block_problems(blocks)
        if problems:
            raise _schema_refusal("invalid_blocks", problems, status=status)


def _check_view(view: Any, *, kind: str) -> Json:
    """Slack refuses bad views with invalid_arguments, not invalid_blocks."""
    if not isinstance(view, dict) or view.get("type") != kind:
        raise _Refusal("invalid_arguments", messages=["invalid `view`"])
    problems = view_problems(view)
    if problems:
        raise _schema_refusal("invalid_arguments", problems)
    return view


# Method handlers -------------------------------------------------------------------


def _auth_test(state: FakeSlackState, params: Params, token: str) -> Json:
    user_id = state.tokens[token]
    user = state.find_user(user_id) or {"name": "rapport"}
    body = {
        "url": f"https://{state.team['domain']}.slack.com/",
        "team": state.team["name"],
        "user": user["name"],
        "team_id": state.team["id"],
        "user_id": user_id,
        "is_enterprise_install": False,
    }
    if token.startswith("xoxb-"):
        body["bot_id"] = state.bot_id
    return body


def _team_info(state: FakeSlackState, params: Params, token: str) -> Json:
    return {"team": dict(state.team)}


def _users_list(state: FakeSlackState, params: Params, token: str) -> Json:
    # users.list has no default limit; the fake still caps a page at 1000.
    return {
        **_page(state.users, params, default=0, key="members"),
        "cache_ts": int(state.clock()),
    }


def _users_info(state: FakeSlackState, params: Params, token: str) -> Json:
    user = state.find_user(_required(params, "user", error="user_not_found"))
    if user is None:
        raise _Refusal("user_not_found")
    return {"user": user}


def _users_lookup_by_email(state: FakeSlackState, params: Params, token: str) -> Json:
    email = _required(params, "email", error="invalid_email").lower()
    for user in state.users:
        if str(user["profile"].get("email", "")).lower() == email:
            return {"user": user}
    raise _Refusal("users_not_found")


_CONVERSATION_TYPES = {
    "public_channel": lambda c: (
        not c.get("is_im") and not c.get("is_mpim") and not c.get("is_private")
    ),
    "private_channel": lambda c: c.get("is_private") and not c.get("is_mpim"),
    "mpim": lambda c: bool(c.get("is_mpim")),
    "im": lambda c: bool(c.get("is_im")),
}


def _conversations_list(state: FakeSlackState, params: Params, token: str) -> Json:
    types = str(params.get("types") or "public_channel").split(",")
    if any(t not in _CONVERSATION_TYPES for t in types):
        raise _Refusal("invalid_types")
    exclude_archived = _flag(params, "exclude_archived")
    found = [
        _channel_view(state, c)
        for c in state.channels
        if any(_CONVERSATION_TYPES[t](c) for t in types)
        and (c.get("is_member") or not (c.get("is_private") or c.get("is_mpim")))
        and not (exclude_archived and c.get("is_archived"))
    ]
    return _page(found, params, default=100, key="channels")


def _conversations_info(state: FakeSlackState, params: Params, token: str) -> Json:
    return {"channel": _channel_view(state, _visible_channel(state, params))}


def _conversations_members(state: FakeSlackState, params: Params, token: str) -> Json:
    channel = _visible_channel(state, params)
    members = state.channel_members.get(channel["id"], [])
    return _page(members, params, default=100, key="members")


def _conversations_history(state: FakeSlackState, params: Params, token: str) -> Json:
    # Known shortcoming: Slack returns the messages nearest ``oldest`` when only
    # ``oldest`` is given; the fake always returns the newest ones in range.
    channel = _joined_channel(state, params)
    latest = _ts_param(params, "latest", default=Decimal(f"{state.clock():.6f}"))
    oldest = _ts_param(params, "oldest", default=Decimal(0))
    inclusive = _flag(params, "inclusive")
    before = _decode_cursor(params, "next_ts")
    upper = min(latest, Decimal(before)) if before else latest
    upper_inclusive = inclusive or before is not None

    def in_range(ts: Decimal) -> bool:
        above = ts >= oldest if inclusive else ts > oldest
        below = ts <= upper if upper_inclusive else ts < upper
        return above and below

    found = sorted(
        (
            m
            for m in state.messages.get(channel["id"], [])
            if _is_top_level(m) and in_range(_ts_key(m["ts"]))
        ),
        key=lambda m: _ts_key(m["ts"]),
        reverse=True,
    )
    limit = _int(params, "limit", default=100)
    limit = min(limit, 999) if limit > 0 else 100
    body: Json = {
        "messages": found[:limit],
        "has_more": len(found) > limit,
        "pin_count": 0,
        "channel_actions_ts": None,
        "channel_actions_count": 0,
    }
    for name in ("latest", "oldest"):
        if params.get(name):
            body[name] = str(params[name])
    if body["has_more"]:
        body["response_metadata"] = {
            "next_cursor": _encode_cursor("next_ts", found[limit]["ts"])
        }
    return body


def _conversations_replies(state: FakeSlackState, params: Params, token: str) -> Json:
    channel = _joined_channel(state, params)
    message = state.find_message(
        channel["id"], _required(params, "ts", error="thread_not_found")
    )
    if message is None:
        raise _Refusal("thread_not_found")
    thread_ts = message.get("thread_ts", message["ts"])
    parent = state.find_message(channel["id"], thread_ts) or message
    replies = sorted(
        (
            m
            for m in state.messages[channel["id"]]
            if m.get("thread_ts") == thread_ts and m is not parent
        ),
        key=lambda m: _ts_key(m["ts"]),
    )
    # Slack repeats the parent at the head of every page.
    page = _page(replies, params, default=1000, key="messages")
    page["messages"] = [parent, *page["messages"]]
    page["has_more"] = bool(page["response_metadata"]["next_cursor"])
    return page


def _conversations_open(state: FakeSlackState, params: Params, token: str) -> Json:
    user_ids = [u for u in str(params.get("users") or "").split(",") if u]
    if not user_ids and params.get("channel"):
        return {"channel": {"id": _visible_channel(state, params)["id"]}}
    if not user_ids:
        raise _Refusal("users_list_not_supplied")
    if any(state.find_user(u) is None for u in user_ids):
        raise _Refusal("user_not_found")
    if len(user_ids) > 8:
        raise _Refusal("too_many_users")
    if len(user_ids) == 1:
        existing = next(
            (c for c in state.channels if c.get("is_im") and c["user"] == user_ids[0]),
            None,
        )
        channel = existing or state.add_im(user_ids[0])
    else:
        existing = None
        members = [BOT_USER_ID, *user_ids]
        name = "mpdm-" + "--".join(state.find_user(u)["name"] for u in user_ids) + "-1"
        channel = state.add_channel(
            state.new_id("G"), name=name, members=members, is_mpim=True, is_private=True
        )
    body: Json = {
        "channel": _channel_view(state, channel)
        if _flag(params, "return_im")
        else {"id": channel["id"]}
    }
    if existing is not None:
        body.update(no_op=True, already_open=True)
    return body


def _target_channel(state: FakeSlackState, params: Params) -> Json:
    """chat.* accept a user id and then post in the DM with that user."""
    channel_id = _required(params, "channel", error="channel_not_found")
    if channel_id[0] in "UW" and state.find_user(channel_id):
        found = next(
            (c for c in state.channels if c.get("is_im") and c["user"] == channel_id),
            None,
        )
        return found or state.add_im(channel_id)
    channel = _joined_channel(state, params)
    if channel.get("is_archived"):
        raise _Refusal("is_archived")
    return channel


def _chat_post_message(state: FakeSlackState, params: Params, token: str) -> Json:
    channel = _target_channel(state, params)
    _check_message_content(params)
    fields: Json = {
        "user": state.tokens[token],
        "bot_id": state.bot_id,
        "app_id": state.app_id,
        "team": state.team["id"],
    }
    blocks = _json_param(params, "blocks", error="invalid_blocks_format")
    if blocks:
        fields["blocks"] = blocks
    # An unknown thread_ts is stored as given; Slack's answer to it is not modelled.
    if params.get("thread_ts"):
        fields["thread_ts"] = str(params["thread_ts"])
    message = state.add_message(
        channel["id"], text=str(params.get("text") or ""), **fields
    )
    return {"channel": channel["id"], "ts": message["ts"], "message": dict(message)}


def _chat_post_ephemeral(state: FakeSlackState, params: Params, token: str) -> Json:
    channel = _target_channel(state, params)
    user_id = _required(params, "user", error="user_not_in_channel")
    if user_id not in state.channel_members.get(channel["id"], []):
        raise _Refusal("user_not_in_channel")
    _check_message_content(params)
    ts = state.next_ts()
    state.ephemeral_messages.append(
        {
            "channel": channel["id"],
            "user": user_id,
            "ts": ts,
            "text": params.get("text") or "",
            "blocks": _json_param(params, "blocks", error="invalid_blocks_format"),
        }
    )
    return {"message_ts": ts}


def _chat_update(state: FakeSlackState, params: Params, token: str) -> Json:
    channel = _joined_channel(state, params)
    message = state.find_message(
        channel["id"], _required(params, "ts", error="message_not_found")
    )
    if message is None:
        raise _Refusal("message_not_found")
    if message.get("bot_id") != state.bot_id:
        raise _Refusal("cant_update_message")
    _check_message_content(params)
    blocks = _json_param(params, "blocks", error="invalid_blocks_format")
    message["text"] = str(params.get("text") or "")
    if blocks is not None:
        message["blocks"] = blocks
    message["edited"] = {"user": state.tokens[token], "ts": state.next_ts()}
    return {
        "channel": channel["id"],
        "ts": message["ts"],
        "text": message["text"],
        "message": dict(message),
    }


def _chat_get_permalink(state: FakeSlackState, params: Params, token: str) -> Json:
    channel = _visible_channel(state, params)
    message = state.find_message(
        channel["id"], _required(params, "message_ts", error="message_not_found")
    )
    if message is None:
        raise _Refusal("message_not_found")
    archive = f"https://{state.team['domain']}.slack.com/archives/{channel['id']}"
    link = f"{archive}/p{message['ts'].replace('.', '')}"
    if not _is_top_level(message):
        link += f"?thread_ts={message['thread_ts']}&cid={channel['id']}"
    return {"channel": channel["id"], "permalink": link}


def _exchange_trigger(state: FakeSlackState, params: Params) -> None:
    """A trigger works once (then exchanged_trigger_id) and for 3 s (expired_...)."""
    trigger_id = params.get("trigger_id") or params.get("interactivity_pointer")
    if not trigger_id:
        raise _Refusal("invalid_arguments", messages=["invalid `trigger_id`"])
    if trigger_id in state.used_trigger_ids:
        raise _Refusal("exchanged_trigger_id")
    issued = state.trigger_ids.get(trigger_id)
    if issued is None and state.strict_trigger_ids:
        raise _Refusal("invalid_trigger_id")
    if issued is not None and state.clock() - issued > TRIGGER_LIFETIME_SECONDS:
        raise _Refusal("expired_trigger_id")
    state.used_trigger_ids.add(trigger_id)


def _stored_view(
    state: FakeSlackState, view: Json, *, view_id: str | None = None
) -> Json:
    view_id = view_id or state.new_id("V")
    stored = {
        "id": view_id,
        "team_id": state.team["id"],
        "type": view["type"],
        "title": view.get("title"),
        "close": view.get("close"),
        "submit": view.get("submit"),
        "blocks": view.get("blocks", []),
        "private_metadata": view.get("private_metadata", ""),
        "callback_id": view.get("callback_id", ""),
        "external_id": view.get("external_id", ""),
        "state": {"values": {}},
        "hash": f"{int(state.clock())}.{next(state._ids):08d}",
        "clear_on_close": bool(view.get("clear_on_close", False)),
        "notify_on_close": bool(view.get("notify_on_close", False)),
        "root_view_id": view_id,
        "previous_view_id": None,
        "app_id": state.app_id,
        "app_installed_team_id": state.team["id"],
        "bot_id": state.bot_id,
    }
    state.views[view_id] = stored
    return stored


def _views_open(state: FakeSlackState, params: Params, token: str) -> Json:
    view = _check_view(
        _json_param(params, "view", error="invalid_arguments"), kind="modal"
    )
    _exchange_trigger(state, params)
    return {"view": _stored_view(state, view)}


def _views_push(state: FakeSlackState, params: Params, token: str) -> Json:
    # Known shortcoming: the fake keeps no view stack, so push_limit_reached
    # never happens and root_view_id is the pushed view itself.
    return _views_open(state, params, token)


def _views_update(state: FakeSlackState, params: Params, token: str) -> Json:
    view = _json_param(params, "view", error="invalid_arguments")
    view_id = params.get("view_id") or next(
        (
            v["id"]
            for v in state.views.values()
            if params.get("external_id") and v["external_id"] == params["external_id"]
        ),
        None,
    )
    current = state.views.get(str(view_id)) if view_id else None
    if current is None:
        raise _Refusal("not_found")
    _check_view(view, kind=current["type"])
    if params.get("hash") and params["hash"] != current["hash"]:
        raise _Refusal("hash_conflict")
    return {"view": _stored_view(state, view, view_id=current["id"])}


def _views_publish(state: FakeSlackState, params: Params, token: str) -> Json:
    user_id = str(params.get("user_id") or "")
    if state.find_user(user_id) is None:
        raise _Refusal("invalid_arguments", messages=["invalid `user_id`"])
    view = _check_view(
        _json_param(params, "view", error="invalid_arguments"), kind="home"
    )
    current = state.views.get(state.home_views.get(user_id, ""))
    if current and params.get("hash") and params["hash"] != current["hash"]:
        raise _Refusal("hash_conflict")
    stored = _stored_view(state, view, view_id=current["id"] if current else None)
    state.home_views[user_id] = stored["id"]
    return {"view": stored}


Handler = Callable[[FakeSlackState, Params, str], Json]

ROUTES: dict[str, Handler] = {
    "auth.test": _auth_test,
    "team.info": _team_info,
    "users.list": _users_list,
    "users.info": _users_info,
    "users.lookupByEmail": _users_lookup_by_email,
    "conversations.list": _conversations_list,
    "conversations.info": _conversations_info,
    "conversations.history": _conversations_history,
    "conversations.replies": _conversations_replies,
    "conversations.members": _conversations_members,
    "conversations.open": _conversations_open,
    "chat.postMessage": _chat_post_message,
    "chat.postEphemeral": _chat_post_ephemeral,
    "chat.update": _chat_update,
    "chat.getPermalink": _chat_get_permalink,
    "views.open": _views_open,
    "views.push": _views_push,
    "views.update": _views_update,
    "views.publish": _views_publish,
}
