"""Importing Slack workspace exports: the public samples and a small hand-built one."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.capture.slack_export import SlackExportError, import_slack_export
from bot.graph import build_graph
from bot.queries import build_index, who_knows
from bot.settings import Settings
from storage.interactions import count_rows, key_hash

SETTINGS = Settings(internal_domains=("firm.example",))
# Message text in the built export carries this marker; it must never be stored.
SECRET = "SECRET-BODY-TEXT"


def ts(n: int) -> str:
    return f"{1_704_200_000 + n * 60}.000{n:03d}"


def user(user_id: str, name: str, email: str | None, **extra) -> dict:
    profile = {"real_name": name, "team": extra.get("team_id", "TFIRM")}
    if email:
        profile["email"] = email
    return {
        "id": user_id,
        "team_id": "TFIRM",
        "name": name.split()[0].lower(),
        "deleted": False,
        "is_bot": False,
        "tz": "Europe/Paris",
        "profile": profile,
        **extra,
    }


def message(author: str | None, n: int, text: str = "", **extra) -> dict:
    item = {"type": "message", "text": f"{text} {SECRET}", "ts": ts(n), **extra}
    if author:
        item["user"] = author
    return item


def write_export(root: Path) -> Path:
    """Threads, mentions, a DM, a group DM, Slack Connect, a bot, a broken day."""
    root.mkdir(parents=True)
    files = {
        "users.json": [
            user("UANA", "Ana Able", "ana@firm.example"),
            user("UBEN", "Ben Bold", "ben@firm.example"),
            user("UGIL", "Gil Guest", "gil@acme.example", is_restricted=True),
            user("UXAV", "Xav Connect", "xav@globex.example", team_id="TGLOBEX"),
            user("UBOT", "deploybot", None, is_bot=True),
            user("USLACKBOT", "Slackbot", None),
        ],
        "channels.json": [{"id": "C1", "name": "general", "members": ["UANA"]}],
        "groups.json": [],
        "dms.json": [{"id": "D1", "members": ["UANA", "UGIL"]}],
        "mpims.json": [
            {
                "id": "G2",
                "name": "mpdm-ana--ben--gil-1",
                "members": ["UANA", "UBEN", "UGIL"],
            }
        ],
        "general/2024-01-02.json": [
            message("UXAV", 1, "<@UANA> proposal", thread_ts=ts(1), reply_count=1),
            # No parent_user_id, as in older exports: the parent is remembered.
            message("UANA", 2, "thanks", thread_ts=ts(1)),
            message("UBEN", 3, "<@UGIL|gil> welcome"),
            message(None, 4, "<@UANA> deployed", subtype="bot_message", bot_id="B1"),
            message("UGIL", 5, "<@UGIL> has joined", subtype="channel_join"),
            message("UANA", 6, "note to self"),
            message(
                "UOLD",
                7,
                "<@UANA> hello",
                user_team="TOTHER",
                user_profile={
                    "real_name": "Olly Old",
                    "name": "olly",
                    "team": "TOTHER",
                },
            ),
            "not a message",
            {"type": "message", "user": "UANA", "text": SECRET},
        ],
        "general/2024-01-04.json": [message("UBEN", 8, "<@UXAV> follow-up")],
        "D1/2024-01-05.json": [message("UGIL", 9, "hello")],
        "mpdm-ana--ben--gil-1/2024-01-06.json": [message("UBEN", 10, "lunch")],
    }
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(content))
    (root / "general" / "2024-01-03.json").write_text('[{"type": "message", "ts": ')
    return root


def zip_export(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*.json")):
            archive.write(path, path.relative_to(folder).as_posix())
    return target


async def person(db, slack_user_id: str) -> dict:
    async with db.execute(
        "SELECT p.display_name, p.is_colleague, p.is_bot, p.slack_team_id, p.tz,"
        " (SELECT domain FROM org_domains d WHERE d.org_id = p.org_id LIMIT 1) AS org"
        " FROM people p WHERE p.slack_user_id = ?",
        (slack_user_id,),
    ) as cursor:
        row = await cursor.fetchone()
    return dict(row) if row else {}


async def roles_of(db, key: str) -> list[str]:
    async with db.execute(
        "SELECT p.slack_user_id || ':' || ip.role FROM interaction_participants ip"
        " JOIN interaction_keys k ON k.interaction_id = ip.interaction_id"
        " JOIN people p ON p.id = ip.person_id WHERE k.key_hash = ?",
        (key_hash(key),),
    ) as cursor:
        return sorted(row[0] for row in await cursor.fetchall())


# A built export -------------------------------------------------------------------


async def test_counts_every_message_when_export_mixes_threads_dms_bots_and_bad_files(
    db, tmp_path
):
    export = write_export(tmp_path / "export")

    summary = await import_slack_export(db, export, settings=SETTINGS)

    assert summary.imported == 7
    assert dict(summary.messages.skipped) == {
        "bot": 1,
        "channel_join": 1,
        "no one else": 1,
    }
    assert dict(summary.messages.bad) == {
        "malformed day file": 1,
        "not a message object": 1,
        "no usable ts": 1,
    }
    assert summary.day_files == 5
    members = summary.members
    assert (members.seen, members.bots, members.guests, members.external) == (
        7,
        2,
        1,
        2,
    )
    assert members.without_email == 3
    line = summary.line()
    assert line.startswith("slack-export: 7 imported, 0 duplicates, 3 skipped")
    assert "1 malformed day file" in line


async def test_roles_follow_threads_mentions_and_dm_membership(db, tmp_path):
    await import_slack_export(db, write_export(tmp_path / "export"), settings=SETTINGS)

    assert await roles_of(db, f"slack:TFIRM:C1:{ts(2)}") == ["UANA:from", "UXAV:reply"]
    assert await roles_of(db, f"slack:TFIRM:C1:{ts(3)}") == [
        "UBEN:from",
        "UGIL:mention",
    ]
    assert await roles_of(db, f"slack:TFIRM:D1:{ts(9)}") == ["UANA:member", "UGIL:from"]
    assert await roles_of(db, f"slack:TFIRM:G2:{ts(10)}") == [
        "UANA:member",
        "UBEN:from",
        "UGIL:member",
    ]


async def test_members_become_colleagues_contacts_and_bots_when_imported(db, tmp_path):
    await import_slack_export(db, write_export(tmp_path / "export"), settings=SETTINGS)

    ana = await person(db, "UANA")
    assert (ana["is_colleague"], ana["org"], ana["tz"]) == (1, None, "Europe/Paris")
    gil = await person(db, "UGIL")
    assert (gil["is_colleague"], gil["org"]) == (0, "acme.example")
    xav = await person(db, "UXAV")
    assert (xav["is_colleague"], xav["org"], xav["slack_team_id"]) == (
        0,
        "globex.example",
        "TGLOBEX",
    )
    olly = await person(db, "UOLD")
    assert (olly["display_name"], olly["slack_team_id"], olly["is_colleague"]) == (
        "Olly Old",
        "TOTHER",
        0,
    )
    assert (await person(db, "UBOT"))["is_bot"] == 1
    assert (await person(db, "USLACKBOT"))["is_bot"] == 1


async def test_colleagues_rank_for_outside_org_when_export_is_imported(db, tmp_path):
    await import_slack_export(db, write_export(tmp_path / "export"), settings=SETTINGS)

    graph = await build_graph(db, as_of=datetime(2024, 2, 1, tzinfo=UTC))
    answer = who_knows(graph, build_index(graph), "acme.example")

    assert sorted(c.name for c in answer.people) == ["Ana Able", "Ben Bold"]


async def test_no_message_text_is_stored_when_export_is_imported(db, tmp_path):
    await import_slack_export(db, write_export(tmp_path / "export"), settings=SETTINGS)
    await db.execute("PRAGMA wal_checkpoint(FULL)")

    for path in tmp_path.glob("rapport.db*"):
        assert SECRET.encode() not in path.read_bytes()


async def test_reimport_changes_nothing_when_same_export_imported_twice(db, tmp_path):
    export = write_export(tmp_path / "export")
    first = await import_slack_export(db, export, settings=SETTINGS)
    before = await count_rows(db)

    again = await import_slack_export(db, export, settings=SETTINGS)

    assert await count_rows(db) == before
    assert (again.imported, again.duplicates) == (0, first.imported)


async def test_zip_and_folder_are_one_import_when_both_hold_the_same_export(
    db, tmp_path
):
    folder = write_export(tmp_path / "export")
    archive = zip_export(folder, tmp_path / "export.zip")
    await import_slack_export(db, folder, settings=SETTINGS)
    before = await count_rows(db)

    from_zip = await import_slack_export(db, archive, settings=SETTINGS)

    assert await count_rows(db) == before
    assert from_zip.duplicates == 7 and from_zip.messages.bad["malformed day file"] == 1


async def test_slack_person_is_the_email_person_when_address_already_known(
    db, tmp_path
):
    await db.execute(
        "INSERT INTO people (id, display_name, created_at) VALUES (40, 'Gil G.', 'x')"
    )
    await db.execute(
        "INSERT INTO email_addresses VALUES ('gil@acme.example', 'Gil@Acme.example',"
        " 'acme.example', 40)"
    )

    summary = await import_slack_export(
        db, write_export(tmp_path / "export"), settings=SETTINGS
    )

    assert summary.members.linked_by_email == 1
    async with db.execute("SELECT id FROM people WHERE slack_user_id = 'UGIL'") as cur:
        assert (await cur.fetchone())[0] == 40


async def test_excluded_domain_people_are_not_captured_when_in_export(db, tmp_path):
    settings = Settings(
        internal_domains=("firm.example",), excluded_domains=("acme.example",)
    )

    summary = await import_slack_export(
        db, write_export(tmp_path / "export"), settings=settings
    )

    assert await person(db, "UGIL") == {}
    assert summary.members.excluded == 1
    assert summary.messages.skipped["excluded"] == 1  # Gil's DM
    assert await roles_of(db, f"slack:TFIRM:G2:{ts(10)}") == [
        "UANA:member",
        "UBEN:from",
    ]


async def test_refused_when_folder_is_not_a_slack_export(db, tmp_path):
    (tmp_path / "empty").mkdir()

    with pytest.raises(SlackExportError):
        await import_slack_export(db, tmp_path / "empty", settings=SETTINGS)


# The public samples ------------------------------------------------------------------


async def test_old_format_sample_imports_same_from_zip_and_folder(db, shared_data):
    sample = shared_data / "slack-export" / "slack-export-viewer-testarchive"

    from_zip = await import_slack_export(
        db, sample / "testarchive.zip", settings=SETTINGS
    )
    from_folder = await import_slack_export(db, sample / "extracted", settings=SETTINGS)

    assert from_zip.imported == 14 and from_zip.day_files == 17
    assert from_zip.messages.skipped["bot"] == 94
    assert from_zip.messages.skipped["channel_join"] == 8
    assert sum(from_zip.messages.bad.values()) == 0
    assert (from_folder.imported, from_folder.duplicates) == (0, 14)
    assert from_folder.messages.skipped == from_zip.messages.skipped
    assert (await count_rows(db))["people"] == 4


async def test_current_format_sample_marks_bots_and_deleted_members(db, shared_data):
    sample = shared_data / "slack-export" / "slackdump-export-fixture"

    summary = await import_slack_export(db, sample, settings=Settings())

    assert (summary.members.seen, summary.members.bots) == (8, 2)
    assert summary.members.deleted == 5
    async with db.execute(
        "SELECT slack_user_id FROM people WHERE is_bot = 1 ORDER BY slack_user_id"
    ) as cursor:
        assert [row[0] for row in await cursor.fetchall()] == ["UNEERHWJJ", "USLACKBOT"]
    async with db.execute("SELECT COUNT(*) FROM people WHERE is_deleted = 1") as cursor:
        assert (await cursor.fetchone())[0] == 5
    assert summary.imported == 0 and summary.day_files == 0
