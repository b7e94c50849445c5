"""Google access tokens for each colleague, both ways firms deploy Rapport.

A service account with domain-wide delegation impersonates each colleague
(`RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE`), or each colleague granted access
themselves and their refresh token sits in `RAPPORT_GOOGLE_OAUTH_TOKENS_DIR`
as an "authorized user" JSON file. google-auth refreshes synchronously, so
every refresh runs in a worker thread. Tokens and keys are never logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from pathlib import Path

import aiosqlite
import requests
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import Credentials
from google.auth.transport.requests import Request
from google.oauth2 import credentials as user_credentials
from google.oauth2 import service_account

from bot.capture.email_import import Exclusions
from bot.identity.addresses import address_key
from bot.identity.organisations import is_internal
from bot.settings import Settings
from storage import google as google_store

logger = logging.getLogger(__name__)

_AUTH = "https://www.googleapis.com/auth/"
# The narrowest scopes that answer what Rapport asks: headers without bodies,
# events without the right to change them.
SCOPES = {
    "gmail": (_AUTH + "gmail.metadata",),
    "calendar": (_AUTH + "calendar.events.readonly",),
}
# Token endpoint answers that mean this user cannot be read until someone
# acts (access revoked, delegation not granted, unknown user), as opposed to
# the endpoint being briefly unavailable.
_REFUSALS = frozenset(
    {"invalid_grant", "unauthorized_client", "access_denied", "invalid_client"}
)


class GoogleConfigError(RuntimeError):
    """The Google credentials configured cannot be used at all."""


class AccessRevoked(Exception):
    """No token can be had for this user: access revoked or never granted."""

    def __init__(self, mailbox: str, reason: str) -> None:
        super().__init__(f"{mailbox}: {reason}")
        self.mailbox = mailbox
        self.reason = reason


class AuthUnavailable(Exception):
    """The token endpoint could not be reached or asked us to try later."""


class GoogleAuth:
    """Access tokens per mailbox and API, cached until they near expiry."""

    def __init__(
        self,
        make: Callable[[str, str], Credentials],
        *,
        kind: str,
        own_mailboxes: tuple[str, ...] | None = None,
    ) -> None:
        self._make = make
        self.kind = kind
        # Per-user tokens decide whose data can be read; delegation reads
        # whichever colleagues storage lists.
        self.own_mailboxes = own_mailboxes
        self._cache: dict[tuple[str, str], Credentials] = {}
        self._session = requests.Session()
        self._request = Request(self._session)

    async def token(self, mailbox: str, api: str, *, fresh: bool = False) -> str:
        """A bearer token for `mailbox` on `api`; `fresh` forces a refresh."""
        key = (mailbox, api if self.own_mailboxes is None else "")
        creds = self._cache.get(key)
        if creds is None:
            creds = self._cache[key] = self._make(mailbox, api)
        if fresh or not creds.valid:
            await self._refresh(mailbox, creds)
        return str(creds.token)

    async def _refresh(self, mailbox: str, creds: Credentials) -> None:
        try:
            await asyncio.to_thread(creds.refresh, self._request)
        except auth_exceptions.RefreshError as exc:
            reason = _refusal(exc)
            if reason is None:
                raise AuthUnavailable(f"token refresh for {mailbox} failed") from None
            raise AccessRevoked(mailbox, reason) from None
        except auth_exceptions.TransportError:
            raise AuthUnavailable(f"token endpoint unreachable for {mailbox}") from None

    def close(self) -> None:
        self._session.close()


def _refusal(exc: auth_exceptions.RefreshError) -> str | None:
    """The OAuth error code when the endpoint refused this user, else None.

    Only the code is kept: the description can quote the request.
    """
    if getattr(exc, "retryable", False):
        return None
    data = exc.args[1] if len(exc.args) > 1 else None
    code = data.get("error") if isinstance(data, dict) else None
    if isinstance(code, str) and code in _REFUSALS:
        return code
    return "refresh_refused"


async def load_google_auth(settings: Settings) -> GoogleAuth | None:
    """Credentials from settings; None when Google capture is not configured."""
    if settings.google_service_account_file is not None:
        return await asyncio.to_thread(_service_account_auth, settings)
    if settings.google_oauth_tokens_dir is not None:
        return await asyncio.to_thread(_user_token_auth, settings)
    return None


def _service_account_auth(settings: Settings) -> GoogleAuth:
    path = settings.google_service_account_file
    assert path is not None
    try:
        info = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise GoogleConfigError(
            f"RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE: cannot read {path} as JSON"
            f" ({type(exc).__name__})"
        ) from None
    if settings.google_token_uri:
        info = {**info, "token_uri": settings.google_token_uri}
    try:
        bases = {
            api: service_account.Credentials.from_service_account_info(
                info, scopes=list(scopes)
            )
            for api, scopes in SCOPES.items()
        }
    except (KeyError, ValueError) as exc:
        # The message may name a field, never the key itself.
        raise GoogleConfigError(
            f"RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE: {path} is not a service account"
            f" key file ({type(exc).__name__})"
        ) from None

    def make(mailbox: str, api: str) -> Credentials:
        return bases[api].with_subject(mailbox)

    return GoogleAuth(make, kind="service account")


def _user_token_auth(settings: Settings) -> GoogleAuth:
    folder = settings.google_oauth_tokens_dir
    assert folder is not None
    if not Path(folder).is_dir():
        raise GoogleConfigError(
            f"RAPPORT_GOOGLE_OAUTH_TOKENS_DIR: {folder} is not a folder"
        )
    infos: dict[str, dict] = {}
    for file in sorted(Path(folder).glob("*.json")):
        try:
            info = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            info = None
        if not isinstance(info, dict):
            logger.warning("skipping unreadable token file %s", file.name)
            continue
        mailbox = address_key(str(info.get("account") or file.stem))
        missing = {"client_id", "client_secret", "refresh_token"} - info.keys()
        if mailbox is None or missing:
            logger.warning("skipping token file %s: no account or fields", file.name)
            continue
        infos[mailbox] = info
    token_uri = settings.google_token_uri

    def make(mailbox: str, api: str) -> Credentials:
        creds = user_credentials.Credentials.from_authorized_user_info(infos[mailbox])
        # from_authorized_user_info always sets Google's endpoint, whatever
        # the file says; only an explicit override changes it.
        return creds.with_token_uri(token_uri) if token_uri else creds

    return GoogleAuth(make, kind="user tokens", own_mailboxes=tuple(infos))


async def mailboxes_to_read(
    db: aiosqlite.Connection,
    auth: GoogleAuth,
    *,
    settings: Settings,
    exclusions: Exclusions,
) -> list[str]:
    """The colleagues whose mailbox and calendar this run reads.

    Never someone who opted out, left or is excluded by configuration. With
    delegation, once Slack members are known only they count: internal
    addresses seen only in old mail are often lists or people who left, and
    impersonating them only fails.
    """
    if auth.own_mailboxes is not None:
        blocked = await google_store.unreadable_addresses(db, auth.own_mailboxes)
        return [
            box
            for box in auth.own_mailboxes
            if box not in blocked and not exclusions.excludes(box)
        ]
    chosen: dict[int, tuple[bool, str]] = {}
    for person_id, on_slack, key, domain in await google_store.colleague_addresses(db):
        internal = is_internal(domain, settings.internal_domains)
        if (internal or not settings.internal_domains) and person_id not in chosen:
            chosen[person_id] = (on_slack, key)
    boxes = [key for _, key in chosen.values() if not exclusions.excludes(key)]
    if any(on_slack for on_slack, _ in chosen.values()):
        slack = {key for on_slack, key in chosen.values() if on_slack}
        boxes = [box for box in boxes if box in slack]
    return boxes
