"""Importing mail: identity keys, dates, duplicates, automated mail, idempotency."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from bot.capture import mbox as mbox_reader
from bot.capture.email_import import EmailImporter
from bot.capture.imports import run_file_import
from bot.capture.mbox import iter_mbox
from bot.settings import Settings
from storage.interactions import count_rows
from tests.conftest import SAMPLE_MBOX
from tests.mail_factory import message, write_mbox

FIRM = ("firm.example",)


async def run_import(db, path, *, source="mbox"):
    importer = EmailImporter(db, source=source, internal_domains=FIRM)
    return await importer.add_all(iter_mbox(path))


async def fetch(db, sql, *params):
    async with db.execute(sql, params) as cursor:
        return [tuple(row) for row in await cursor.fetchall()]


async def test_case_and_plus_tag_variants_are_one_person_when_importing(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "jane.mbox",
        [
            message("Jane@Acme.Example", "bob@firm.example", message_id="1@x"),
            message(
                "jane@acme.example",
                "bob@firm.example",
                message_id="2@x",
                date="Tue, 4 Mar 2025 10:00:00 -0000",
            ),
            message(
                "jane+crm@acme.example",
                "bob@firm.example",
                message_id="3@x",
                date="Wed, 5 Mar 2025 10:00:00 -0000",
            ),
            message("jane.doe@acme.example", "bob@firm.example", message_id="4@x"),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 4
    rows = await fetch(
        db,
        "SELECT e.address_key, e.display, COUNT(i.id) FROM email_addresses e"
        " JOIN interactions i ON i.sender_id = e.person_id"
        " WHERE e.domain = 'acme.example' GROUP BY e.person_id ORDER BY 1",
    )
    assert rows == [
        ("jane.doe@acme.example", "jane.doe@acme.example", 1),
        ("jane@acme.example", "Jane@Acme.Example", 3),
    ]


async def test_unparseable_date_falls_back_to_envelope_and_is_counted(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "dates.mbox",
        [
            message(
                "a@acme.example",
                "bob@firm.example",
                message_id="d1@x",
                date="2002/09/14 Sat 13:06:03 GMT",
                envelope="From someone@acme.example Sat Sep 14 13:06:03 2002",
            ),
            message(
                "a@acme.example",
                "bob@firm.example",
                message_id="d2@x",
                date="Mon, 3 Mar 2025 10:00:00 -0000",
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 2
    assert summary.bad_dates == 1
    times = await fetch(db, "SELECT occurred_at FROM interactions ORDER BY occurred_at")
    assert times == [("2002-09-14T13:06:03+00:00",), ("2025-03-03T10:00:00+00:00",)]
    for (text,) in times:
        assert datetime.fromisoformat(text).tzinfo == UTC


async def test_message_without_any_date_is_skipped_and_counted(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "nodate.mbox",
        [
            message("a@acme.example", "bob@firm.example", date=None, envelope="From x"),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 0
    assert summary.bad["no usable Date"] == 1


@pytest.mark.parametrize(
    "header",
    [
        pytest.param({"List-Id": "<news.acme.example>"}, id="list-id"),
        pytest.param({"Precedence": "bulk"}, id="precedence-bulk"),
        pytest.param({"Auto-Submitted": "auto-replied"}, id="auto-submitted"),
        pytest.param({"List-Unsubscribe": "<mailto:u@acme.example>"}, id="unsubscribe"),
    ],
)
async def test_automated_mail_is_not_a_relationship(db, tmp_path, header):
    mbox = write_mbox(
        tmp_path / "bulk.mbox",
        [
            message("news@acme.example", "bob@firm.example", extra=header),
        ],
    )

    summary = await run_import(db, mbox)

    assert (summary.imported, summary.automated) == (0, 1)
    assert (await count_rows(db))["interactions"] == 0


async def test_noreply_sender_is_skipped(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "noreply.mbox",
        [
            message("no-reply@acme.example", "bob@firm.example"),
            message("MAILER-DAEMON@mx.acme.example", "bob@firm.example"),
        ],
    )

    summary = await run_import(db, mbox)

    assert (summary.imported, summary.automated) == (0, 2)


async def test_copies_with_different_message_ids_are_one_interaction(db, tmp_path):
    copy = dict(date="Mon, 23 Apr 2001 12:41:00 -0700 (PDT)", cc="carol@firm.example")
    mbox = write_mbox(
        tmp_path / "copies.mbox",
        [
            message(
                "bob@firm.example", "jane@acme.example", message_id="a@thyme", **copy
            ),
            message(
                "bob@firm.example", "Jane@ACME.example", message_id="b@thyme", **copy
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert (summary.imported, summary.duplicates) == (1, 1)


async def test_same_message_id_with_rewritten_from_is_one_interaction(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "moderated.mbox",
        [
            message(
                "Mauro <mchehab+samsung@kernel.example>",
                "ksummit@lists.example",
                message_id="434c@kernel.example",
            ),
            message(
                "Mauro <mchehab+samsung@kernel.example> (by way of Mauro"
                " <mchehab@kernel.example>)",
                "ksummit@lists.example",
                message_id="434c@kernel.example",
                date="Mon, 3 Mar 2025 10:05:00 -0000",
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert (summary.imported, summary.duplicates) == (1, 1)


async def test_free_mail_and_internal_domains_are_not_organisations(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "orgs.mbox",
        [
            message(
                "bob@firm.example",
                "x@gmail.com, y@mail.acme.co.uk, z@sales.firm.example",
            ),
        ],
    )

    await run_import(db, mbox)

    domains = await fetch(db, "SELECT domain FROM org_domains ORDER BY domain")
    assert domains == [("acme.co.uk",)]
    colleagues = await fetch(
        db,
        "SELECT address_key FROM email_addresses e JOIN people p ON p.id = e.person_id"
        " WHERE p.is_colleague = 1 ORDER BY 1",
    )
    assert colleagues == [("bob@firm.example",), ("z@sales.firm.example",)]


async def test_hundreds_of_recipients_are_stored_once_each(db, tmp_path):
    recipients = ", ".join(f"p{i}@acme.example" for i in range(300))
    mbox = write_mbox(
        tmp_path / "big.mbox",
        [
            message("bob@firm.example", recipients + ", P1@ACME.example"),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 1
    rows = await fetch(db, "SELECT participant_count FROM interactions")
    assert rows == [(301,)]


async def test_reimporting_the_bundled_sample_changes_nothing(db):
    first = await run_import(db, SAMPLE_MBOX)
    before = await count_rows(db)

    second = await run_import(db, SAMPLE_MBOX)

    assert first.imported > 3000
    assert second.imported == 0
    assert second.duplicates == first.imported + first.duplicates
    assert await count_rows(db) == before


async def test_enron_sent_folder_copies_are_counted_once(db, shared_data):
    importer = EmailImporter(db, source="mbox", internal_domains=("enron.com",))
    for path in sorted((shared_data / "email" / "enron-subset").iterdir()):
        await importer.add_all(iter_mbox(path))
    summary = importer.summary

    assert summary.seen == 4271
    # 668 copies carry their own Message-ID; 3 of them also differ from their
    # original in To/Cc/Date, and the 78 messages with no usable recipient
    # are not interactions in any case.
    assert summary.duplicates >= 660
    assert (
        summary.imported
        + summary.duplicates
        + summary.automated
        + sum(summary.bad.values())
        == 4271
    )


# Dates, files and addresses that used to stop or skew an import


async def test_import_goes_on_when_a_date_overflows_in_separator_or_header(
    db, tmp_path
):
    mbox = write_mbox(
        tmp_path / "overflow.mbox",
        [
            message("a@acme.example", "bob@firm.example", message_id="o1@x"),
            message(
                "c@acme.example",
                "bob@firm.example",
                message_id="o2@x",
                envelope="From a Mon Jan  1 00:00:00 0001 +2359",
            ),
            message(
                "d@acme.example",
                "bob@firm.example",
                message_id="o3@x",
                date="Mon, 1 Jan 0001 00:00:00 +2359",
            ),
            message(
                "e@acme.example",
                "bob@firm.example",
                message_id="o4@x",
                date="Fri, 31 Dec 9999 23:59:59 -2359",
                envelope="From a Fri Dec 31 23:59:59 9999 -2359",
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 3  # o3 takes the envelope date
    assert summary.bad_dates == 1
    assert summary.bad == {"no usable Date": 1}  # o4 has no usable date at all


async def test_envelope_date_used_when_header_date_is_far_in_the_future(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "future.mbox",
        [
            message(  # an undated separator is only one at the start of a file
                "cat@acme.example",
                "bob@firm.example",
                message_id="f2@x",
                date="Mon, 1 Jan 2099 10:00:00 +0000",
                envelope="From x",
            ),
            message(
                "ann@acme.example",
                "bob@firm.example",
                message_id="f1@x",
                date="Mon, 1 Jan 2099 10:00:00 +0000",
                envelope="From x Mon Jan  1 10:00:00 2001",
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 1
    assert summary.bad_dates == 1
    assert summary.bad == {"no usable Date": 1}
    times = await fetch(db, "SELECT occurred_at FROM interactions")
    assert times == [("2001-01-01T10:00:00+00:00",)]


async def test_header_too_large_counted_when_block_exceeds_the_cap(
    db, tmp_path, monkeypatch
):
    monkeypatch.setattr(mbox_reader, "MAX_HEADER_BYTES", 200)
    recipients = ", ".join(f"p{i}@acme.example" for i in range(40))
    mbox = write_mbox(
        tmp_path / "huge.mbox",
        [
            message("bob@firm.example", recipients, message_id="h1@x"),
            message("bob@firm.example", "ann@acme.example", message_id="h2@x"),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 1
    assert summary.bad == {"header too large": 1}


async def test_other_files_imported_when_a_folder_holds_unreadable_files(tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    write_mbox(
        folder / "a.mbox",
        [message("ann@acme.example", "bob@firm.example", message_id="1@x")],
    )
    (folder / "b.mbox").symlink_to(tmp_path / "gone.mbox")
    os.mkfifo(folder / "c.mbox")
    (folder / "d").mkdir()
    write_mbox(
        folder / "d" / "e.mbox",
        [message("cat@acme.example", "bob@firm.example", message_id="2@x")],
    )
    settings = Settings(db_path=tmp_path / "rapport.db", internal_domains=FIRM)

    summary = await run_file_import(settings, kind="mbox", path=folder)

    assert summary.imported == 2
    assert summary.files_skipped == {"unreadable file": 1, "not a regular file": 1}
    assert summary.seen == 2  # files are not messages
    assert "; 2 files skipped (1 unreadable file, 1 not a regular file);" in (
        summary.line()
    )


async def test_unreadable_maildir_file_counted_when_importing(tmp_path):
    cur = tmp_path / "Mail" / "cur"
    cur.mkdir(parents=True)
    (cur / "1").write_text(message("ann@acme.example", "bob@firm.example"))
    (cur / "2").symlink_to(tmp_path / "gone")
    settings = Settings(db_path=tmp_path / "rapport.db", internal_domains=FIRM)

    summary = await run_file_import(settings, kind="maildir", path=tmp_path / "Mail")

    assert summary.imported == 1
    assert summary.files_skipped == {"unreadable file": 1}


async def test_unicode_and_punycode_domains_are_one_person_when_importing(db, tmp_path):
    mbox = write_mbox(
        tmp_path / "idn.mbox",
        [
            message("user@bücher.example", "bob@firm.example", message_id="i1@x"),
            message(
                "user@xn--bcher-kva.example",
                "bob@firm.example",
                message_id="i2@x",
                date="Tue, 4 Mar 2025 10:00:00 -0000",
            ),
            message(
                "user@xn--bcher-kva.example.",
                "bob@firm.example",
                message_id="i3@x",
                date="Wed, 5 Mar 2025 10:00:00 -0000",
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 3
    rows = await fetch(
        db,
        "SELECT e.address_key, COUNT(i.id) FROM email_addresses e"
        " JOIN interactions i ON i.sender_id = e.person_id"
        " WHERE e.domain = 'xn--bcher-kva.example' GROUP BY e.person_id",
    )
    assert rows == [("user@xn--bcher-kva.example", 3)]
    orgs = await fetch(db, "SELECT name FROM organisations")
    assert orgs == [("Bücher",)]


async def test_addresses_with_control_characters_never_stored_when_importing(
    db, tmp_path
):
    mbox = write_mbox(
        tmp_path / "nul.mbox",
        [
            message("a\x00@acme.example", "bob@firm.example", message_id="n1@x"),
            message(
                '"\u202eevil" <eve@acme.example>',
                "bob@firm.example\x00, cat@firm.example",
                message_id="n2@x",
            ),
        ],
    )

    summary = await run_import(db, mbox)

    assert summary.imported == 1
    assert summary.bad == {"no usable From": 1}
    keys = await fetch(
        db, "SELECT address_key, display FROM email_addresses ORDER BY 1"
    )
    assert keys == [
        ("cat@firm.example", "cat@firm.example"),
        ("eve@acme.example", "eve@acme.example"),
    ]
    names = await fetch(db, "SELECT display_name FROM people ORDER BY 1")
    assert ("evil",) in names
    assert all("\u202e" not in name for (name,) in names)
