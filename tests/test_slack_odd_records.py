"""Odd records in Slack exports and Web API answers: counted as bad, never fatal.

Each export here is generated small, in the shape of a breaker's probe: one odd
record beside a good message, so a test shows both that the odd one is counted
with its reason and that the import carried on past it.
"""

from __future__ import annotations

import json
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.capture import slack_export
from bot.capture.slack_api import sync_slack
from bot.capture.slack_export import SlackExportError, import_slack_export
from bot.capture.slack_messages import ts_to_iso
from bot.settings import Settings
from tests.fakes.slack_api import DEFAULT_BOT_TOKEN, FakeSlackApi

SETTINGS = Settings(internal_domains=("firm.example",))
GOOD_TS = "1600000001.000100"
USERS = [
    {"id": "U001", "team_id": "T1", "name": "alice", "tz": "Europe/Paris",
     "profile": {"email": "alice@firm.example", "real_name": "Alice"}},
    {"id": "U002", "team_id": "T1", "name": "bob",
     "profile": {"email": "bob@firm.example", "real_name": "Bob"}},
]  # fmt: skip


def message(ts: str, *, user: str = "U001", text: str = "<@U002> hi") -> dict:
    return {"type": "message", "user": user, "text": text, "ts": ts}


def write_zip(path: Path, files: dict[str, object]) -> Path:
    """An export zip; str values are written as they are, the rest as JSON."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in files.items():
            data = content if isinstance(content, str) else json.dumps(content)
            archive.writestr(name, data)
    return path


def export_with(path: Path, files: dict[str, object]) -> Path:
    """users.json, channels.json and one good day in #general, plus `files`."""
    base: dict[str, object] = {
        "users.json": USERS,
        "channels.json": [{"id": "C1", "name": "general"}],
        "general/2020-09-13.json": [message(GOOD_TS)],
    }
    return write_zip(path, {**base, **files})


async def scalar(db, sql: str, *args):
    async with db.execute(sql, args) as cursor:
        row = await cursor.fetchone()
    return row[0] if row else None


# Timestamps -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ts", "expected"),
    [
        pytest.param("999999999999.1", None, id="year-33658"),
        pytest.param("4133980800.0", None, id="first-second-of-2101"),
        pytest.param("4133980799.999999", "2100-12-31T23:59:59+00:00", id="end-2100"),
        pytest.param("1600000000", "2020-09-13T12:26:40+00:00", id="no-fraction"),
        pytest.param("-1", None, id="negative"),
        pytest.param(1600000000.5, None, id="a-number-not-a-string"),
    ],
)
def test_ts_reads_as_none_when_it_is_not_a_sane_slack_ts(ts, expected):
    assert ts_to_iso(ts) == expected


async def test_message_counts_as_bad_when_its_ts_is_past_2100(db, tmp_path):
    export = export_with(
        tmp_path / "ts.zip", {"general/2020-09-14.json": [message("999999999999.1")]}
    )

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.imported == 1
    assert summary.messages.bad["no usable ts"] == 1


# Members --------------------------------------------------------------------------


async def test_member_is_kept_without_tz_when_tz_is_not_a_string(db, tmp_path):
    odd = {"id": "U003", "team_id": "T1", "tz": {"a": 1}, "name": "carol"}
    export = export_with(tmp_path / "tz.zip", {"users.json": [*USERS, odd]})

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.messages.bad["member with a malformed tz"] == 1
    assert summary.imported == 1
    carol = "SELECT display_name, tz FROM people WHERE slack_user_id = 'U003'"
    async with db.execute(carol) as cursor:
        assert tuple(await cursor.fetchone()) == ("carol", None)


async def test_member_fields_of_the_wrong_type_are_each_counted_when_users_are_odd(
    db, tmp_path
):
    odd = [
        1,
        {"id": ""},
        {"id": "../../etc"},
        {"id": "U004", "team_id": ["T1"], "profile": {"email": ["x"]}},
        {"id": "U005", "is_bot": "yes", "enterprise_id": {"x": 1}},
    ]
    export = export_with(tmp_path / "odd.zip", {"users.json": [*USERS, *odd]})

    summary = await import_slack_export(db, export, settings=SETTINGS)

    bad = summary.messages.bad
    assert bad["member without id"] == 3
    assert bad["member with a malformed team_id"] == 1
    assert bad["member with a malformed profile.email"] == 1
    assert bad["member with a malformed is_bot"] == 1
    assert bad["member with a malformed enterprise_id"] == 1
    assert summary.imported == 1


# Conversation lists ---------------------------------------------------------------


async def test_dm_counts_as_bad_when_its_members_is_not_a_list(db, tmp_path):
    export = export_with(
        tmp_path / "dms.zip",
        {
            "dms.json": [
                {"id": "D1", "members": ["U001", "U002"]},
                {"id": "D2", "members": 5},
            ],
            "D1/2020-09-13.json": [message("1600000002.0", text="hi")],
            "D2/2020-09-13.json": [message("1600000003.0", text="hi")],
        },
    )

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.messages.bad["malformed entry in dms.json"] == 1
    # D1 and #general are imported; D2 has no one else once its list is refused.
    assert summary.imported == 2
    assert summary.messages.skipped["no one else"] == 1


async def test_group_dm_members_are_refused_when_members_is_a_string(db, tmp_path):
    export = export_with(
        tmp_path / "mpim.zip",
        {
            "mpims.json": [{"id": "G1", "name": "mpdm-x", "members": "U001U002"}],
            "mpdm-x/2020-09-13.json": [message("1600000002.0", text="hi")],
        },
    )

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.messages.bad["malformed entry in mpims.json"] == 1
    # Read character by character, the string would have made people "U", "0"…
    assert await scalar(db, "SELECT count(*) FROM people") == 2


# Day files ------------------------------------------------------------------------


async def test_day_file_counts_as_bad_when_it_nests_deeper_than_python_can_parse(
    db, tmp_path
):
    export = export_with(
        tmp_path / "deep.zip", {"general/2020-09-14.json": "[" * 100_000}
    )

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.messages.bad["malformed day file"] == 1
    assert summary.imported == 1


@pytest.mark.parametrize("form", ["zip", "folder"])
async def test_day_file_counts_as_bad_when_it_is_over_the_size_cap(
    db, tmp_path, monkeypatch, form
):
    monkeypatch.setattr(slack_export, "MAX_FILE_BYTES", 4096)
    big = [message(f"16000000{n:02d}.0") for n in range(60)]
    export = export_with(tmp_path / "big.zip", {"general/2020-09-14.json": big})
    if form == "folder":
        folder = tmp_path / "big"
        zipfile.ZipFile(export).extractall(folder)
        export = folder

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.messages.bad["day file over 4096 bytes"] == 1
    assert summary.imported == 1


def test_size_cap_is_documented_when_the_module_is_read():
    assert slack_export.MAX_FILE_BYTES == 64 * 1024 * 1024
    assert "MAX_FILE_BYTES" in (slack_export.__doc__ or "")
    assert "memory stays flat" not in (slack_export.__doc__ or "")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs named pipes")
async def test_import_refuses_at_once_when_the_path_is_a_pipe(db, tmp_path):
    pipe = tmp_path / "export.zip"
    os.mkfifo(pipe)

    with pytest.raises(SlackExportError, match="regular file"):
        await import_slack_export(db, pipe, settings=SETTINGS)


@pytest.mark.skipif(not Path(os.devnull).exists(), reason="needs a device file")
async def test_import_refuses_when_the_path_is_a_device(db):
    with pytest.raises(SlackExportError, match="regular file"):
        await import_slack_export(db, os.devnull, settings=SETTINGS)


# The Web API sync -------------------------------------------------------------------


async def test_sync_counts_bad_and_carries_on_when_answers_hold_odd_fields(db):
    async with FakeSlackApi() as fake:
        fake.state.add_user("UANA", name="ana", email="ana@firm.example")
        fake.state.add_user("UBEN", name="ben", email="ben@firm.example")
        fake.state.add_user("UODD", name="odd", tz={"a": 1})
        fake.state.add_channel("C1", name="deals", members=["UANA", "UBEN"])
        good = message("1700000060.000100", user="UANA", text="<@UBEN> hi")
        odd = message("999999999999.1", user="UANA", text="<@UBEN> hi")
        fake.fail_next(
            "conversations.history",
            body={"ok": True, "messages": [odd, good], "has_more": False},
            match=lambda params: params.get("channel") == "C1",
        )
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake.base_url)

        summary = await sync_slack(
            db,
            client,
            settings=SETTINGS,
            clock=lambda: datetime(2024, 3, 1, tzinfo=UTC),
            sleep=_no_sleep,
        )

    assert summary.complete
    assert summary.messages.imported == 1
    assert summary.messages.bad["no usable ts"] == 1
    assert summary.messages.bad["member with a malformed tz"] == 1
    assert (
        await scalar(db, "SELECT tz FROM people WHERE slack_user_id = 'UODD'") is None
    )


async def test_sync_refuses_group_dm_members_when_they_are_not_a_list(db):
    async with FakeSlackApi() as fake:
        fake.state.add_user("UANA", name="ana", email="ana@firm.example")
        fake.state.add_channel(
            "G1", name="mpdm-x", members=["UANA"], is_mpim=True, is_private=True
        )
        fake.state.add_message("G1", text="hi", ts="1700000060.000100", user="UANA")
        fake.fail_next(
            "conversations.members",
            body={"ok": True, "members": "UANAUBEN"},
            times=None,
        )
        client = AsyncWebClient(token=DEFAULT_BOT_TOKEN, base_url=fake.base_url)

        summary = await sync_slack(
            db,
            client,
            settings=SETTINGS,
            clock=lambda: datetime(2024, 3, 1, tzinfo=UTC),
            sleep=_no_sleep,
        )

    assert summary.messages.bad["malformed conversations.members"] == 1
    assert await scalar(db, "SELECT count(*) FROM people") == 1


async def _no_sleep(seconds: float) -> None:
    return None
