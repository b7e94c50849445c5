"""The fake Google APIs answer as Google does, checked with the real google-auth."""

from __future__ import annotations

import asyncio
import email
import email.parser
import email.policy
import email.utils
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import google.auth.exceptions
import google.auth.transport.requests
import google.oauth2.credentials
import pytest
import pytest_asyncio
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from google.oauth2 import service_account

from tests.fakes.google_api import GMAIL_METADATA_SCOPE, FakeGoogle

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SA_EMAIL = "rapport-sync@rapport-test.iam.gserviceaccount.com"
ALICE = "alice@firm.example"
FIRST_DATE = datetime(2024, 1, 1, 9, 0, tzinfo=UTC)
READONLY = "https://www.googleapis.com/auth/gmail.readonly"
CALENDAR_READONLY = "https://www.googleapis.com/auth/calendar.readonly"
NOT_FOUND = {
    "error": {
        "code": 404,
        "message": "Requested entity was not found.",
        "errors": [
            {
                "message": "Requested entity was not found.",
                "domain": "global",
                "reason": "notFound",
            }
        ],
        "status": "NOT_FOUND",
    }
}


def _headers(n: int, **extra: str) -> dict[str, str]:
    return {
        "From": f"Bob {n} <bob{n}@client.example>",
        "To": ALICE,
        "Date": email.utils.format_datetime(FIRST_DATE + timedelta(hours=n)),
        "Message-ID": f"<m{n}@client.example>",
        **extra,
    }


@pytest.fixture(scope="module")
def private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest_asyncio.fixture
async def fake(private_key: rsa.RSAPrivateKey) -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle() as fake:
        fake.add_service_account(SA_EMAIL, private_key.public_key())
        yield fake


@pytest_asyncio.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


def _delegated(
    fake: FakeGoogle, key: rsa.RSAPrivateKey, scopes: list[str]
) -> service_account.Credentials:
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    info = {
        "type": "service_account",
        "client_email": SA_EMAIL,
        "private_key": pem.decode(),
        "private_key_id": "key-1",
        "token_uri": fake.token_uri,
    }
    creds = service_account.Credentials.from_service_account_info(info, scopes=scopes)
    return creds.with_subject(ALICE)


async def _refresh(creds: google.auth.credentials.Credentials) -> None:
    session = requests.Session()
    # A proxy from the environment must not see requests meant for 127.0.0.1.
    session.trust_env = False
    request = google.auth.transport.requests.Request(session=session)
    await asyncio.to_thread(creds.refresh, request)


async def _bearer(
    fake: FakeGoogle, key: rsa.RSAPrivateKey, scopes: list[str] | None = None
) -> dict[str, str]:
    creds = _delegated(fake, key, scopes or [GMAIL_METADATA_SCOPE])
    await _refresh(creds)
    return {"Authorization": f"Bearer {creds.token}"}


async def _get(
    client: aiohttp.ClientSession, url: str, auth: dict[str, str], **params: Any
) -> tuple[int, Any]:
    async with client.get(url, headers=auth, params=params) as response:
        return response.status, await response.json()


def _parse_batch(content_type: str, body: bytes) -> list[tuple[str, int, Any]]:
    envelope = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    answers = []
    for part in envelope.iter_parts():
        status_line, _, rest = part.get_payload(decode=True).partition(b"\r\n")
        inner_body = rest.split(b"\r\n\r\n", 1)[1]
        status = int(status_line.split()[1])
        answers.append((part["Content-ID"], status, json.loads(inner_body)))
    return answers


def _batch_body(ids: list[str], boundary: str) -> str:
    parts = [
        f"--{boundary}\r\nContent-Type: application/http\r\n"
        f"Content-ID: <item-{n}>\r\n\r\n"
        f"GET /gmail/v1/users/me/messages/{message_id}"
        "?format=metadata&metadataHeaders=From HTTP/1.1\r\n\r\n"
        for n, message_id in enumerate(ids)
    ]
    return "".join(parts) + f"--{boundary}--\r\n"


# ---- token endpoint ------------------------------------------------------------


async def test_token_is_issued_for_the_subject_when_jwt_is_signed_by_registered_key(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey
) -> None:
    creds = _delegated(fake, private_key, [GMAIL_METADATA_SCOPE])

    await _refresh(creds)

    grant = fake.grants[creds.token]
    assert grant.subject == ALICE
    assert grant.claims["iss"] == SA_EMAIL
    assert grant.claims["scope"] == GMAIL_METADATA_SCOPE
    assert grant.claims["aud"] == "https://oauth2.googleapis.com/token"
    assert fake.calls_to("token")[0].form["grant_type"].endswith("jwt-bearer")
    assert creds.expiry is not None


async def test_refresh_fails_with_invalid_signature_when_key_is_not_the_registered_one(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey
) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    fake.add_service_account(SA_EMAIL, other.public_key())

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        await _refresh(_delegated(fake, private_key, [GMAIL_METADATA_SCOPE]))

    assert caught.value.args[1] == {
        "error": "invalid_grant",
        "error_description": "Invalid JWT Signature.",
    }


async def test_refresh_fails_with_audience_check_when_jwt_names_another_audience(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey
) -> None:
    creds = _delegated(fake, private_key, [GMAIL_METADATA_SCOPE])
    creds = creds.with_claims({"aud": "https://elsewhere.example/token"})

    with pytest.raises(google.auth.exceptions.RefreshError, match="audience check"):
        await _refresh(creds)


async def test_refresh_fails_with_unauthorized_client_when_delegation_is_revoked(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey
) -> None:
    fake.revoke_user(ALICE)

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        await _refresh(_delegated(fake, private_key, [GMAIL_METADATA_SCOPE]))

    assert caught.value.args[1]["error"] == "unauthorized_client"
    assert fake.calls_to("token")[0].status == 401


async def test_user_token_is_issued_when_refresh_token_is_valid(
    fake: FakeGoogle,
) -> None:
    fake.add_refresh_token(
        "1//rt-alice",
        client_id="cid",
        client_secret="shh",
        user=ALICE,
        scopes=[READONLY],
    )
    creds = google.oauth2.credentials.Credentials(
        None,
        refresh_token="1//rt-alice",
        client_id="cid",
        client_secret="shh",
        token_uri=fake.token_uri,
    )

    await _refresh(creds)

    assert fake.grants[creds.token].subject == ALICE
    assert fake.calls_to("token")[0].form["grant_type"] == "refresh_token"


async def test_user_refresh_fails_with_invalid_grant_when_refresh_token_is_revoked(
    fake: FakeGoogle,
) -> None:
    fake.add_refresh_token(
        "1//rt-alice",
        client_id="cid",
        client_secret="shh",
        user=ALICE,
        scopes=[READONLY],
    )
    fake.revoked_refresh_tokens.add("1//rt-alice")
    creds = google.oauth2.credentials.Credentials(
        None,
        refresh_token="1//rt-alice",
        client_id="cid",
        client_secret="shh",
        token_uri=fake.token_uri,
    )

    with pytest.raises(google.auth.exceptions.RefreshError) as caught:
        await _refresh(creds)

    assert caught.value.args[1] == {
        "error": "invalid_grant",
        "error_description": "Token has been expired or revoked.",
    }


# ---- Gmail ---------------------------------------------------------------------


async def test_messages_list_pages_newest_first_when_mailbox_exceeds_max_results(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    stored = fake.load_mailbox(ALICE, [_headers(n) for n in range(7)])
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/messages"

    pages, params = [], {"maxResults": "3"}
    while True:
        status, page = await _get(client, url, auth, **params)
        assert status == 200
        pages.append(page)
        if "nextPageToken" not in page:
            break
        params["pageToken"] = page["nextPageToken"]

    listed = [m["id"] for page in pages for m in page["messages"]]
    assert listed == [m.id for m in reversed(stored)]
    assert [len(page["messages"]) for page in pages] == [3, 3, 1]
    assert pages[0]["resultSizeEstimate"] == 7
    assert set(pages[0]["messages"][0]) == {"id", "threadId"}


async def test_messages_list_leaves_out_messages_when_mailbox_is_empty(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    auth = await _bearer(fake, private_key)

    status, page = await _get(
        client, f"{fake.base_url}/gmail/v1/users/me/messages", auth
    )

    assert (status, page) == (200, {"resultSizeEstimate": 0})


async def test_messages_list_refuses_q_when_token_has_only_metadata_scope(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/messages"

    status, body = await _get(client, url, auth, q="after:2024/01/01")

    assert status == 403
    assert body["error"]["message"] == "Metadata scope does not support 'q' parameter"
    assert body["error"]["status"] == "PERMISSION_DENIED"


async def test_messages_get_returns_only_requested_headers_when_format_is_metadata(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    (stored,) = fake.load_mailbox(ALICE, [_headers(0, Cc="carol@firm.example")])
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/messages/{stored.id}"
    params = [("format", "metadata"), ("metadataHeaders", "from")]
    params.append(("metadataHeaders", "Cc"))

    async with client.get(url, headers=auth, params=params) as response:
        message = await response.json()

    assert message["payload"]["headers"] == [
        {"name": "From", "value": "Bob 0 <bob0@client.example>"},
        {"name": "Cc", "value": "carol@firm.example"},
    ]
    assert message["snippet"] == ""
    assert message["labelIds"] == ["INBOX", "UNREAD"]
    assert message["internalDate"] == str(int(FIRST_DATE.timestamp() * 1000))
    assert message["historyId"] == str(stored.history_id)


async def test_messages_get_refuses_default_full_format_when_token_has_metadata_scope(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    (stored,) = fake.load_mailbox(ALICE, [_headers(0)])
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/messages/{stored.id}"

    status, body = await _get(client, url, auth)

    assert status == 403
    assert body["error"]["message"] == "Metadata scope doesn't allow format FULL"


async def test_replies_join_the_thread_when_in_reply_to_names_a_stored_message(
    fake: FakeGoogle,
) -> None:
    first, reply = fake.load_mailbox(
        ALICE,
        [_headers(0), _headers(1, **{"In-Reply-To": "<m0@client.example>"})],
    )

    assert reply.thread_id == first.thread_id == first.id


async def test_history_list_returns_messages_added_after_start_history_id(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    old = fake.add_message(ALICE, _headers(0))
    new = fake.load_mailbox(ALICE, [_headers(1), _headers(2)])
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/history"

    status, body = await _get(
        client,
        url,
        auth,
        startHistoryId=str(old.history_id),
        historyTypes="messageAdded",
    )

    assert status == 200
    added = [h["messagesAdded"][0]["message"]["id"] for h in body["history"]]
    assert added == [m.id for m in new]
    assert body["historyId"] == str(new[-1].history_id)
    assert "nextPageToken" not in body


async def test_history_list_answers_404_when_start_history_id_is_older_than_floor(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    old = fake.add_message(ALICE, _headers(0))
    fake.expire_history(ALICE)
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/history"

    status, body = await _get(client, url, auth, startHistoryId=str(old.history_id))

    assert (status, body) == (404, NOT_FOUND)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer ya29.never-issued", "expired"],
    ids=["no-header", "unknown-token", "expired-token"],
)
async def test_gmail_answers_401_auth_error_when_token_is_not_valid(
    fake: FakeGoogle,
    private_key: rsa.RSAPrivateKey,
    client: aiohttp.ClientSession,
    authorization: str | None,
) -> None:
    auth = {"Authorization": authorization} if authorization else {}
    if authorization == "expired":
        auth = await _bearer(fake, private_key)
        fake.expire_tokens()

    status, body = await _get(
        client, f"{fake.base_url}/gmail/v1/users/me/profile", auth
    )

    assert status == 401
    assert body["error"]["errors"][0]["reason"] == "authError"
    assert body["error"]["status"] == "UNAUTHENTICATED"


async def test_gmail_answers_403_delegation_denied_when_user_id_is_someone_else(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/bob@firm.example/profile"

    status, body = await _get(client, url, auth)

    assert status == 403
    assert body["error"]["message"] == f"Delegation denied for {ALICE}"


# ---- Gmail batch ---------------------------------------------------------------


async def test_batch_answers_each_part_when_seven_of_fifty_parts_are_rate_limited(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    stored = fake.load_mailbox(ALICE, [_headers(n) for n in range(50)])
    fake.fail_next("batch_part", status=429, times=7, after=20)
    auth = await _bearer(fake, private_key)
    boundary = "batch_rapport"
    headers = {**auth, "Content-Type": f"multipart/mixed; boundary={boundary}"}

    async with client.post(
        f"{fake.base_url}/batch/gmail/v1",
        data=_batch_body([m.id for m in stored], boundary),
        headers=headers,
    ) as response:
        assert response.status == 200
        answers = _parse_batch(response.headers["Content-Type"], await response.read())

    assert [cid for cid, _, _ in answers] == [f"<response-item-{n}>" for n in range(50)]
    statuses = [status for _, status, _ in answers]
    assert statuses == [200] * 20 + [429] * 7 + [200] * 23
    limited = answers[20][2]["error"]
    assert limited["errors"][0]["reason"] == "rateLimitExceeded"
    assert limited["status"] == "RESOURCE_EXHAUSTED"
    assert answers[0][2]["payload"]["headers"][0]["name"] == "From"
    assert len(fake.calls_to("messages.get")) == 50


async def test_batch_is_refused_with_400_when_it_holds_more_than_100_parts(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    auth = await _bearer(fake, private_key)
    headers = {**auth, "Content-Type": "multipart/mixed; boundary=b"}

    async with client.post(
        f"{fake.base_url}/batch/gmail/v1",
        data=_batch_body(["abc"] * 101, "b"),
        headers=headers,
    ) as response:
        status, body = response.status, await response.json()

    assert status == 400
    assert body["error"]["message"] == (
        "Inner request count exceeds the limit. Received: 101, Limit: 100"
    )
    assert fake.calls_to("messages.get") == []


# ---- fault injection -----------------------------------------------------------


async def test_connection_is_cut_on_the_second_page_when_a_disconnect_is_injected(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    fake.load_mailbox(ALICE, [_headers(n) for n in range(4)])
    fake.fail_next("messages.list", after=1, disconnect=True)
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/messages"
    _, first = await _get(client, url, auth, maxResults="2")

    with pytest.raises(aiohttp.ClientPayloadError):
        await _get(client, url, auth, maxResults="2", pageToken=first["nextPageToken"])

    assert [call.status for call in fake.calls_to("messages.list")] == [200, 0]


async def test_request_gets_429_with_retry_after_once_when_a_rate_limit_is_injected(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    fake.fail_next(r"/profile$", status=429, headers={"Retry-After": "1"})
    auth = await _bearer(fake, private_key)
    url = f"{fake.base_url}/gmail/v1/users/me/profile"

    async with client.get(url, headers=auth) as response:
        first = (response.status, response.headers.get("Retry-After"))
    status, profile = await _get(client, url, auth)

    assert first == (429, "1")
    assert status == 200
    assert profile["emailAddress"] == ALICE


async def test_answer_arrives_late_when_a_delay_is_injected(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    fake.fail_next("profile", status=None, delay=0.3)
    auth = await _bearer(fake, private_key)

    started = time.monotonic()
    status, _ = await _get(client, f"{fake.base_url}/gmail/v1/users/me/profile", auth)

    assert status == 200
    assert time.monotonic() - started >= 0.3


# ---- Calendar ------------------------------------------------------------------


async def test_events_list_pages_then_hands_out_a_sync_token_that_returns_changes(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    for day in (3, 1, 2):
        fake.add_event(
            ALICE,
            event_id=f"ev{day}",
            start=f"2024-03-0{day}T10:00:00Z",
            end=f"2024-03-0{day}T11:00:00Z",
            organizer="bob@client.example",
            attendees=[ALICE, {"email": "room@firm.example", "resource": True}],
        )
    auth = await _bearer(fake, private_key, [CALENDAR_READONLY])
    url = f"{fake.base_url}/calendar/v3/calendars/primary/events"

    _, first = await _get(client, url, auth, maxResults="2", singleEvents="true")
    _, second = await _get(client, url, auth, pageToken=first["nextPageToken"])
    fake.cancel_event(ALICE, "ev2")
    _, changes = await _get(client, url, auth, syncToken=second["nextSyncToken"])

    assert [e["id"] for e in first["items"] + second["items"]] == ["ev1", "ev2", "ev3"]
    assert "nextSyncToken" not in first
    attendees = first["items"][0]["attendees"]
    assert attendees[0] == {
        "email": ALICE,
        "responseStatus": "needsAction",
        "self": True,
    }
    assert attendees[1]["resource"] is True
    assert changes["items"] == [
        {"kind": "calendar#event", "id": "ev2", "status": "cancelled"}
    ]


async def test_events_list_answers_410_when_the_sync_token_has_expired(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    fake.add_event(ALICE, start="2024-03-01", end="2024-03-02", organizer=ALICE)
    auth = await _bearer(fake, private_key, [CALENDAR_READONLY])
    url = f"{fake.base_url}/calendar/v3/calendars/primary/events"
    _, listing = await _get(client, url, auth)
    fake.expire_sync_tokens(ALICE)

    status, body = await _get(client, url, auth, syncToken=listing["nextSyncToken"])

    assert status == 410
    assert body["error"]["errors"][0]["reason"] == "fullSyncRequired"
    assert body["error"]["message"] == (
        "Sync token is no longer valid, a full sync is required."
    )


async def test_events_list_keeps_events_overlapping_the_window_when_time_bounds_given(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    for day in (1, 5, 9):
        fake.add_event(
            ALICE,
            event_id=f"ev{day}",
            start=f"2024-03-0{day}T10:00:00Z",
            end=f"2024-03-0{day}T11:00:00Z",
            organizer=ALICE,
        )
    auth = await _bearer(fake, private_key, [CALENDAR_READONLY])
    url = f"{fake.base_url}/calendar/v3/calendars/primary/events"

    _, listing = await _get(
        client,
        url,
        auth,
        timeMin="2024-03-05T10:30:00Z",
        timeMax="2024-03-09T10:00:00Z",
    )

    assert [e["id"] for e in listing["items"]] == ["ev5"]
    assert listing["items"][0]["organizer"] == {"email": ALICE, "self": True}


# ---- shapes against the shared discovery document and sample mail --------------


def _shared(relative: str) -> Path:
    path = SHARED_DATA / relative
    if not path.exists():
        pytest.skip(f"../shared/data absent: {relative} not found")
    return path


async def test_gmail_answers_use_only_discovery_fields_when_compared_to_schemas(
    fake: FakeGoogle, private_key: rsa.RSAPrivateKey, client: aiohttp.ClientSession
) -> None:
    schemas = json.loads(_shared("gmail-api/discovery/gmail.v1.json").read_text())
    schemas = schemas["schemas"]
    (stored,) = fake.load_mailbox(ALICE, [_headers(0)])
    auth = await _bearer(fake, private_key)
    gmail = f"{fake.base_url}/gmail/v1/users/me"

    answers = {
        "ListMessagesResponse": await _get(client, f"{gmail}/messages", auth),
        "Message": await _get(
            client, f"{gmail}/messages/{stored.id}", auth, format="metadata"
        ),
        "ListHistoryResponse": await _get(
            client, f"{gmail}/history", auth, startHistoryId="1"
        ),
        "Profile": await _get(client, f"{gmail}/profile", auth),
    }

    for schema, (status, body) in answers.items():
        assert status == 200
        assert set(body) <= set(schemas[schema]["properties"]), schema
    payload = answers["Message"][1]["payload"]
    assert set(payload) <= set(schemas["MessagePart"]["properties"])


async def test_mailbox_loads_real_headers_when_fed_the_shared_enron_sample(
    fake: FakeGoogle,
) -> None:
    path = _shared("email/enron-subset/enron.allen-p.inbox")
    wanted = ("From", "To", "Cc", "Date", "Message-ID")
    # Read-only split on mbox "From " lines: mailbox.mbox opens the file for writing.
    raw_messages = re.split(rb"^From .*\n", path.read_bytes(), flags=re.M)[1:21]
    parsed = [email.message_from_bytes(raw) for raw in raw_messages]
    sample = [
        {name: str(msg[name]) for name in wanted if msg[name] is not None}
        for msg in parsed
    ]

    stored = fake.load_mailbox("phillip.allen@enron.com", sample)

    assert len({m.id for m in stored}) == 20
    assert all(m.internal_date > 900_000_000_000 for m in stored)
    history_ids = [m.history_id for m in stored]
    assert history_ids == sorted(set(history_ids))
