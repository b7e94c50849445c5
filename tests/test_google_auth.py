"""Google credentials: the real google-auth flows against the fake token endpoint."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace

import pytest
import pytest_asyncio

from bot.capture.email_import import Exclusions
from bot.capture.google_auth import (
    SCOPES,
    AccessRevoked,
    GoogleConfigError,
    load_google_auth,
    mailboxes_to_read,
)
from bot.settings import Settings, load_settings
from storage.connection import connect
from tests.fakes.google_api import FakeGoogle
from tests.google_helpers import (
    ALICE,
    BOB,
    CAROL,
    SA_EMAIL,
    add_colleague,
    google_settings,
)

CLIENT_ID = "client-1.apps.googleusercontent.com"
CLIENT_SECRET = "client-secret"


@pytest_asyncio.fixture
async def fake() -> AsyncIterator[FakeGoogle]:
    async with FakeGoogle() as fake:
        yield fake


def _user_tokens(tmp_path, fake: FakeGoogle, users: dict[str, str]) -> Settings:
    folder = tmp_path / "tokens"
    folder.mkdir()
    for user, refresh_token in users.items():
        fake.add_refresh_token(
            refresh_token,
            client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET,
            user=user,
            scopes=[*SCOPES["gmail"], *SCOPES["calendar"]],
        )
        info = {
            "type": "authorized_user",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "refresh_token": refresh_token,
            "account": user,
        }
        (folder / f"{user}.json").write_text(json.dumps(info), encoding="utf-8")
    return Settings(
        db_path=tmp_path / "rapport.db",
        internal_domains=("firm.example",),
        google_oauth_tokens_dir=folder,
        google_token_uri=fake.token_uri,
        google_api_url=fake.base_url,
    )


async def test_service_account_token_is_issued_for_the_colleague_with_narrow_scopes(
    fake: FakeGoogle, tmp_path
) -> None:
    auth = await load_google_auth(google_settings(tmp_path, fake))

    token = await auth.token(ALICE, "gmail")

    grant = fake.grants[token]
    assert grant.subject == ALICE and grant.client == SA_EMAIL
    assert grant.scopes == frozenset(SCOPES["gmail"])
    # The key file names Google's endpoint; settings sent us to the fake.
    assert len(fake.calls_to("token")) == 1
    auth.close()


async def test_token_is_reused_until_a_fresh_one_is_asked_for(
    fake: FakeGoogle, tmp_path
) -> None:
    auth = await load_google_auth(google_settings(tmp_path, fake))

    first = await auth.token(ALICE, "gmail")
    again = await auth.token(ALICE, "gmail")
    calendar = await auth.token(ALICE, "calendar")
    fresh = await auth.token(ALICE, "gmail", fresh=True)

    assert first == again and fresh != first and calendar != first
    assert fake.grants[calendar].scopes == frozenset(SCOPES["calendar"])
    assert len(fake.calls_to("token")) == 3
    auth.close()


async def test_access_revoked_names_the_reason_when_delegation_is_withdrawn(
    fake: FakeGoogle, tmp_path
) -> None:
    auth = await load_google_auth(google_settings(tmp_path, fake))
    fake.revoke_user(BOB)

    with pytest.raises(AccessRevoked) as caught:
        await auth.token(BOB, "gmail")

    assert caught.value.mailbox == BOB
    assert caught.value.reason == "unauthorized_client"
    assert await auth.token(ALICE, "gmail")
    auth.close()


async def test_unknown_user_is_refused_with_invalid_grant(
    fake: FakeGoogle, tmp_path
) -> None:
    fake.known_users = {ALICE}
    auth = await load_google_auth(google_settings(tmp_path, fake))

    with pytest.raises(AccessRevoked) as caught:
        await auth.token("ghost@firm.example", "gmail")

    assert caught.value.reason == "invalid_grant"
    auth.close()


async def test_user_tokens_are_refreshed_from_the_files_in_the_tokens_folder(
    fake: FakeGoogle, tmp_path
) -> None:
    settings = _user_tokens(tmp_path, fake, {ALICE: "1//alice", BOB: "1//bob"})
    auth = await load_google_auth(settings)

    token = await auth.token(ALICE, "gmail")

    assert auth.own_mailboxes == (ALICE, BOB)
    assert fake.grants[token].subject == ALICE
    assert fake.calls_to("token")[0].form["grant_type"] == "refresh_token"
    auth.close()


async def test_revoked_refresh_token_is_reported_as_invalid_grant(
    fake: FakeGoogle, tmp_path
) -> None:
    settings = _user_tokens(tmp_path, fake, {ALICE: "1//alice"})
    fake.revoked_refresh_tokens.add("1//alice")
    auth = await load_google_auth(settings)

    with pytest.raises(AccessRevoked) as caught:
        await auth.token(ALICE, "gmail")

    assert caught.value.reason == "invalid_grant"
    auth.close()


async def test_no_credentials_means_google_capture_is_off(tmp_path) -> None:
    assert await load_google_auth(Settings(db_path=tmp_path / "x.db")) is None


async def test_config_error_names_the_variable_when_the_key_file_is_not_json(
    fake: FakeGoogle, tmp_path
) -> None:
    broken = tmp_path / "key.json"
    broken.write_text("-----BEGIN PRIVATE KEY----- not json", encoding="utf-8")
    settings = replace(
        google_settings(tmp_path, fake), google_service_account_file=broken
    )

    with pytest.raises(GoogleConfigError) as caught:
        await load_google_auth(settings)

    assert "RAPPORT_GOOGLE_SERVICE_ACCOUNT_FILE" in str(caught.value)
    assert "BEGIN PRIVATE KEY" not in str(caught.value)


def test_new_google_settings_are_read_from_the_environment() -> None:
    settings = load_settings(
        {"RAPPORT_GOOGLE_MAX_MESSAGES": "250", "RAPPORT_GOOGLE_SYNC_DAYS": "90"},
        env_file=None,
    )

    assert settings.google_max_messages == 250
    assert settings.google_sync_days == 90


# ---- whose data is read -------------------------------------------------------------


async def test_only_slack_members_on_internal_domains_are_read_once_slack_is_known(
    fake: FakeGoogle, tmp_path
) -> None:
    settings = google_settings(tmp_path, fake)
    db = await connect(settings.db_path)
    await add_colleague(db, ALICE, slack_id="UALICE")
    await add_colleague(db, BOB)  # seen only in old mail: a list or a leaver
    await add_colleague(db, CAROL, slack_id="UCAROL", opted_out=True)
    await add_colleague(db, "dan@firm.example", slack_id="UDAN", deleted=True)
    await add_colleague(db, "erin@firm.example", slack_id="UERIN")
    auth = await load_google_auth(settings)

    everyone = await mailboxes_to_read(
        db, auth, settings=settings, exclusions=Exclusions()
    )
    excluded = await mailboxes_to_read(
        db,
        auth,
        settings=settings,
        exclusions=Exclusions(addresses=frozenset({"erin@firm.example"})),
    )

    assert everyone == [ALICE, "erin@firm.example"]
    assert excluded == [ALICE]
    auth.close()
    await db.close()


async def test_every_internal_colleague_is_read_before_slack_members_are_known(
    fake: FakeGoogle, tmp_path
) -> None:
    settings = google_settings(tmp_path, fake)
    db = await connect(settings.db_path)
    await add_colleague(db, ALICE)
    await add_colleague(db, BOB)
    await add_colleague(db, "someone@elsewhere.example")
    auth = await load_google_auth(settings)

    boxes = await mailboxes_to_read(
        db, auth, settings=settings, exclusions=Exclusions()
    )

    assert boxes == [ALICE, BOB]
    auth.close()
    await db.close()


async def test_user_token_mailboxes_skip_colleagues_who_opted_out(
    fake: FakeGoogle, tmp_path
) -> None:
    settings = _user_tokens(tmp_path, fake, {ALICE: "1//alice", BOB: "1//bob"})
    db = await connect(settings.db_path)
    await add_colleague(db, BOB, slack_id="UBOB", opted_out=True)
    auth = await load_google_auth(settings)

    boxes = await mailboxes_to_read(
        db, auth, settings=settings, exclusions=Exclusions()
    )

    assert boxes == [ALICE]
    auth.close()
    await db.close()
