"""Shared set-up for the Gmail, Calendar and Google credential tests.

A service account key generated here is registered with `FakeGoogle`, written
to a key file as Google would hand it out, and used by the real google-auth
flow through settings, exactly as in production.
"""

from __future__ import annotations

import email.utils
import json
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from bot.capture.google_http import Backoff
from bot.services import Services, create_services
from bot.settings import Settings
from tests.fakes.google_api import FakeGoogle

SA_EMAIL = "rapport-sync@rapport-test.iam.gserviceaccount.com"
FIRM = "firm.example"
ALICE = "alice@firm.example"
BOB = "bob@firm.example"
CAROL = "carol@firm.example"
NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)

_KEY: rsa.RSAPrivateKey | None = None


def private_key() -> rsa.RSAPrivateKey:
    """One RSA key for the whole run: generating one takes a noticeable moment."""
    global _KEY
    if _KEY is None:
        _KEY = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _KEY


def write_key_file(folder: Path, fake: FakeGoogle) -> Path:
    """A service account key file like the one the Cloud console downloads."""
    key = private_key()
    fake.add_service_account(SA_EMAIL, key.public_key())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    info = {
        "type": "service_account",
        "project_id": "rapport-test",
        "private_key_id": "key-1",
        "private_key": pem,
        "client_email": SA_EMAIL,
        "client_id": "1234567890",
        # Deliberately Google's real endpoint: settings must override it.
        "token_uri": "https://oauth2.googleapis.com/token",
    }
    path = folder / "service-account.json"
    path.write_text(json.dumps(info), encoding="utf-8")
    return path


def google_settings(tmp_path: Path, fake: FakeGoogle, **changes) -> Settings:
    settings = Settings(
        db_path=tmp_path / "rapport.db",
        internal_domains=(FIRM,),
        google_service_account_file=write_key_file(tmp_path, fake),
        google_token_uri=fake.token_uri,
        google_api_url=fake.base_url,
    )
    return replace(settings, **changes)


@dataclass
class Clock:
    now: datetime = NOW

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Sleeps:
    """An instant `sleep` that remembers every wait asked for."""

    waits: list[float] = field(default_factory=list)

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    def backoff(self, *, attempts: int = 5) -> Backoff:
        return Backoff(attempts=attempts, sleep=self, random=lambda: 0.5)


async def make_services(settings: Settings, clock: Clock) -> Services:
    return await create_services(settings, clock=clock)


async def add_colleague(
    db: aiosqlite.Connection,
    address: str,
    *,
    slack_id: str | None = None,
    opted_out: bool = False,
    deleted: bool = False,
) -> int:
    """A colleague as the Slack member sync leaves them."""
    async with db.execute("SELECT COALESCE(MAX(id), 0) + 1 FROM people") as cursor:
        person_id = (await cursor.fetchone())[0]
    await db.execute(
        "INSERT INTO people (id, display_name, is_colleague, slack_user_id, opted_out,"
        " is_deleted, created_at) VALUES (?, ?, 1, ?, ?, ?, ?)",
        (
            person_id,
            address.split("@")[0].title(),
            slack_id,
            int(opted_out),
            int(deleted),
            NOW.isoformat(),
        ),
    )
    await db.execute(
        "INSERT INTO email_addresses (address_key, display, domain, person_id)"
        " VALUES (?, ?, ?, ?)",
        (address, address, address.split("@")[1], person_id),
    )
    return person_id


def mail(
    n: int,
    *,
    sender: str = "",
    to: str = ALICE,
    when: datetime | None = None,
    **extra: str,
) -> dict[str, str]:
    """Headers of test message `n`, from an outside contact unless told."""
    when = when or NOW - timedelta(days=30) + timedelta(minutes=n)
    return {
        "From": sender or f"Client {n} <client{n}@acme.example>",
        "To": to,
        "Subject": f"Confidential subject {n}",
        "Date": email.utils.format_datetime(when),
        "Message-ID": f"<m{n}@acme.example>",
        **extra,
    }


def deliver(
    fake: FakeGoogle, user: str, numbers: range | list[int], **kwargs
) -> list[str]:
    """Put messages into `user`'s mailbox; return their Gmail ids."""
    return [fake.add_message(user, mail(n, **kwargs)).id for n in numbers]


async def scalar(db: aiosqlite.Connection, sql: str, params: tuple = ()) -> object:
    async with db.execute(sql, params) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


def batch_sizes(fake: FakeGoogle) -> list[int]:
    """Parts per batch request, in the order the batches arrived."""
    sizes: list[int] = []
    for call in fake.calls:
        if call.kind == "batch":
            sizes.append(0)
        elif call.in_batch and sizes:
            sizes[-1] += 1
    return sizes
