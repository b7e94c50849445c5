"""iter_mbox and iter_maildir on the shared sample data and on files made here."""

from __future__ import annotations

import logging
import os
import tracemalloc
from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest

from bot.capture import maildir, mbox
from bot.capture.mail_headers import Address, parse_headers
from bot.capture.maildir import iter_maildir
from bot.capture.mbox import RawMessage, iter_mbox, iter_mbox_tree
from bot.capture.raw_message import NOT_REGULAR, UNREADABLE_FILE, UNREADABLE_FOLDER


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


@pytest.fixture
def email_data(shared_data):
    return shared_data / "email"


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


# Counts on the shared data


ENRON_COUNTS = {
    "enron.allen-p.inbox": 66,
    "enron.allen-p.sent": 562,
    "enron.allen-p._sent_mail": 602,
    "enron.allen-p.sent_items": 345,
    "enron.grigsby-m.inbox": 77,
    "enron.grigsby-m.sent": 283,
    "enron.grigsby-m.sent_items": 292,
    "enron.holst-k.inbox": 192,
    "enron.holst-k.sent_items": 36,
    "enron.arnold-j.inbox": 142,
    "enron.arnold-j.sent_items": 723,
    "enron.lavorato-j.inbox": 277,
    "enron.lavorato-j.sent_items": 674,
}

PERCEVAL_COUNTS = {
    "hyperkitty/hyperkitty_2016_april.mbox": 3,
    "hyperkitty/hyperkitty_2016_march.mbox": 1,
    "mbox/mbox_complex.mbox": 2,
    "mbox/mbox_iso8859_encoding.mbox": 1,
    "mbox/mbox_multipart.mbox": 2,
    "mbox/mbox_no_fields.mbox": 6,
    "mbox/mbox_single.mbox": 1,
    "mbox/mbox_unixfrom_encoding.mbox": 1,
    "mbox/mbox_unknown_encoding.mbox": 1,
    "pipermail/pipermail_2015_november.mbox": 4,
    "pipermail/pipermail_2016_april.mbox": 3,
    "pipermail/pipermail_2016_march.mbox": 1,
}


@pytest.mark.parametrize(("name", "count"), ENRON_COUNTS.items())
def test_message_count_matches_when_reading_an_enron_folder(email_data, name, count):
    assert sum(1 for _ in iter_mbox(email_data / "enron-subset" / name)) == count


def test_every_enron_file_is_counted_when_totals_are_compared(email_data):
    names = {p.name for p in (email_data / "enron-subset").iterdir()}

    assert names == set(ENRON_COUNTS)
    assert sum(ENRON_COUNTS.values()) == 4271


def test_ksummit_archive_has_759_messages_when_read_as_mboxrd(email_data):
    raws = list(iter_mbox(email_data / "mailing-lists" / "ksummit-discuss.mbox"))

    assert len(raws) == 759
    assert {raw.envelope_date for raw in raws} == {utc(1970, 1, 1)}


@pytest.mark.parametrize(("name", "count"), PERCEVAL_COUNTS.items())
def test_message_count_matches_when_reading_a_perceval_mbox(email_data, name, count):
    path = email_data / "oddities" / "perceval" / name

    assert sum(1 for _ in iter_mbox(path)) == count


@pytest.mark.parametrize(
    ("name", "envelope", "sender"),
    [
        (
            "mbox/mbox_unixfrom_encoding.mbox",
            utc(2015, 1, 15, 13, 22, 25),
            Address("Christian Aistleitner", "christian@example.org"),
        ),
        ("mbox/mbox_iso8859_encoding.mbox", utc(2016, 11, 7, 18, 44, 27), None),
    ],
)
def test_message_read_when_separator_line_has_non_ascii_bytes(
    email_data, name, envelope, sender
):
    # Both files make mailbox.mbox raise UnicodeDecodeError.
    (raw,) = list(iter_mbox(email_data / "oddities" / "perceval" / name))
    headers = parse_headers(raw.headers, fallback_date=raw.envelope_date)

    assert raw.envelope_date == envelope
    assert headers.sender == sender
    assert headers.date == envelope


GROUP_COUNTS = {
    # group: messages, no sender, no date, no Message-ID, no To/Cc, automated,
    # with problems, date_status ok / missing / malformed, with envelope date
    "enron": (4271, 0, 0, 0, 64, 14, 2, 4269, 0, 2, 4271),
    # ksummit's one problem: a Cc whose quoted local part swallowed a folded
    # "Name <address>" line break, refused as holding a control character.
    "ksummit": (759, 0, 0, 0, 0, 759, 1, 759, 0, 0, 759),
    "perceval": (26, 1, 0, 1, 21, 5, 1, 24, 2, 0, 26),
    "mikel": (100, 2, 14, 10, 5, 9, 5, 86, 10, 4, 16),
    "flanker": (46, 2, 8, 13, 3, 15, 2, 38, 8, 0, 2),
}


def read_group(email_data, group: str) -> list[RawMessage]:
    oddities = email_data / "oddities"
    if group == "enron":
        paths = sorted((email_data / "enron-subset").iterdir())
        return [raw for path in paths for raw in iter_mbox(path)]
    if group == "ksummit":
        return list(iter_mbox(email_data / "mailing-lists" / "ksummit-discuss.mbox"))
    if group == "perceval":
        paths = sorted((oddities / "perceval").rglob("*.mbox"))
        return [raw for path in paths for raw in iter_mbox(path)]
    if group == "mikel":
        return list(iter_maildir(oddities / "mikel-mail"))
    return list(iter_maildir(oddities / "flanker" / "messages"))


@pytest.mark.parametrize("group", GROUP_COUNTS)
def test_every_sample_message_parses_when_read_with_its_reader(email_data, group):
    raws = read_group(email_data, group)
    parsed = [parse_headers(r.headers, fallback_date=r.envelope_date) for r in raws]

    counts = (
        len(parsed),
        sum(h.sender is None for h in parsed),
        sum(h.date is None for h in parsed),
        sum(h.message_id is None for h in parsed),
        sum(not h.to and not h.cc for h in parsed),
        sum(h.automated is not None for h in parsed),
        sum(bool(h.problems) for h in parsed),
        sum(h.date_status == "ok" for h in parsed),
        sum(h.date_status == "missing" for h in parsed),
        sum(h.date_status == "malformed" for h in parsed),
        sum(r.envelope_date is not None for r in raws),
    )
    assert counts == GROUP_COUNTS[group]
    assert all(h.date.utcoffset() == timedelta(0) for h in parsed if h.date is not None)
    assert all(
        r.envelope_date.utcoffset() == timedelta(0)
        for r in raws
        if r.envelope_date is not None
    )


def test_distinct_addresses_match_sources_when_enron_is_parsed(email_data):
    seen: set[str] = set()
    for raw in read_group(email_data, "enron"):
        headers = parse_headers(raw.headers, fallback_date=raw.envelope_date)
        seen.add(headers.sender.address.lower())
        seen.update(a.address.lower() for a in headers.to + headers.cc)

    assert len(seen) == 1953  # the figure measured in shared/data/SOURCES.md


# Positions and header boundaries


def test_position_points_at_separator_when_reading_ksummit(email_data):
    path = email_data / "mailing-lists" / "ksummit-discuss.mbox"
    data = path.read_bytes()

    raws = list(iter_mbox(path))

    assert raws[0].position == f"{path}:0"
    for raw in raws:
        offset = int(raw.position.rpartition(":")[2])
        separator_end = data.index(b"\n", offset) + 1
        assert data.startswith(b"From mboxrd@z Thu Jan  1 00:00:00 1970\n", offset)
        # The header block runs exactly up to the blank line, body excluded.
        assert data[separator_end : separator_end + len(raw.headers)] == raw.headers
        assert data[separator_end + len(raw.headers)] == ord("\n")
        assert raw.headers.endswith(b"\n")
        assert b"\n\n" not in raw.headers


# Made-up files for the edge cases the samples lack


def test_crlf_messages_split_when_file_uses_crlf(tmp_path):
    path = write(
        tmp_path / "crlf.mbox",
        b"From a@x Mon Jan  1 10:00:00 2001\r\n"
        b"From: A <a@x.example>\r\nTo: b@y.example\r\n\r\n"
        b"body\r\n\r\n"
        b"From b@y Tue Jan  2 11:00:00 2001\r\n"
        b"From: b@y.example\r\n\r\nbody\r\n",
    )

    raws = list(iter_mbox(path))

    assert [r.headers for r in raws] == [
        b"From: A <a@x.example>\r\nTo: b@y.example\r\n",
        b"From: b@y.example\r\n",
    ]
    assert [r.envelope_date for r in raws] == [
        utc(2001, 1, 1, 10),
        utc(2001, 1, 2, 11),
    ]
    assert parse_headers(raws[0].headers).to == [Address("", "b@y.example")]


def test_body_from_lines_kept_in_body_when_escaped_or_undated(tmp_path):
    path = write(
        tmp_path / "body.mbox",
        b"From a@x Mon Jan  1 10:00:00 2001\n"
        b"From: a@x.example\n\n"
        b"Hello\n\n"
        b">From the archive\n\n"
        b"From here on we talk about the deal.\n"
        b"From: not-a-header@x.example\n\n"
        b"From b@y Tue Jan  2 11:00:00 2001\n"
        b"From: b@y.example\n\nbye\n",
    )

    raws = list(iter_mbox(path))

    assert [r.headers for r in raws] == [b"From: a@x.example\n", b"From: b@y.example\n"]


def test_next_message_found_when_header_only_message_has_no_blank_line(tmp_path):
    path = write(
        tmp_path / "headers-only.mbox",
        b"From a@x Mon Jan  1 10:00:00 2001\n"
        b"From: a@x.example\n"
        b"From b@y Tue Jan  2 11:00:00 2001\n"
        b"From: b@y.example\n",
    )

    raws = list(iter_mbox(path))

    assert [r.headers for r in raws] == [b"From: a@x.example\n", b"From: b@y.example\n"]
    assert [r.position for r in raws] == [f"{path}:0", f"{path}:52"]


def test_leading_junk_skipped_and_logged_when_file_starts_without_separator(
    tmp_path, caplog
):
    path = write(
        tmp_path / "junk.mbox",
        b"garbage line\n\nFrom a@x Mon Jan  1 10:00:00 2001\nFrom: a@x.example\n\n",
    )

    with caplog.at_level(logging.WARNING, logger="bot.capture.mbox"):
        raws = list(iter_mbox(path))

    assert [r.headers for r in raws] == [b"From: a@x.example\n"]
    assert raws[0].position == f"{path}:14"
    assert "14 bytes before the first mbox separator" in caplog.text


def test_nothing_yielded_when_file_is_empty_or_not_an_mbox(tmp_path):
    empty = write(tmp_path / "empty.mbox", b"")
    text = write(tmp_path / "text.mbox", b"just some text\nwith lines\n")

    assert list(iter_mbox(empty)) == []
    assert list(iter_mbox(text)) == []


def test_envelope_date_is_none_when_separator_has_no_date(tmp_path):
    path = write(tmp_path / "nodate.mbox", b"From someone\nFrom: a@x.example")

    (raw,) = list(iter_mbox(path))

    assert raw.envelope_date is None
    assert raw.headers == b"From: a@x.example"


@pytest.mark.parametrize("chunk", [1, 3, 7, 64, 4096])
def test_same_messages_read_when_chunks_are_tiny(
    email_data, tmp_path, monkeypatch, chunk
):
    crlf = write(
        tmp_path / "crlf.mbox",
        b"From a@x Mon Jan  1 10:00:00 2001\r\nFrom: a@x.example\r\n\r\nhi\r\n\r\n"
        b"From b@y Tue Jan  2 11:00:00 2001\r\nFrom: b@y.example\r\n\r\n",
    )
    paths = [crlf] + [
        email_data / "oddities" / "perceval" / name for name in PERCEVAL_COUNTS
    ]
    expected = [list(iter_mbox(path)) for path in paths]

    monkeypatch.setattr(mbox, "_CHUNK", chunk)

    assert [list(iter_mbox(path)) for path in paths] == expected


def test_header_cut_and_logged_when_block_exceeds_the_limit(
    tmp_path, monkeypatch, caplog
):
    monkeypatch.setattr(mbox, "_CHUNK", 16)
    monkeypatch.setattr(mbox, "MAX_HEADER_BYTES", 64)
    path = write(
        tmp_path / "huge.mbox",
        b"From a@x Mon Jan  1 10:00:00 2001\n"
        b"From: a@x.example\n" + b"X-Junk: " + b"y" * 30 + b"\n" * 1
        + b"X-More: " + b"z" * 200 + b"\n\nbody\n\n"
        b"From b@y Tue Jan  2 11:00:00 2001\nFrom: b@y.example\n\n",
    )  # fmt: skip

    with caplog.at_level(logging.WARNING, logger="bot.capture.mbox"):
        raws = list(iter_mbox(path))

    assert [r.headers for r in raws] == [
        b"From: a@x.example\nX-Junk: " + b"y" * 30 + b"\n",
        b"From: b@y.example\n",
    ]
    assert [r.header_cut for r in raws] == [True, False]
    assert "header block over 64 bytes cut" in caplog.text


def test_memory_stays_small_when_bodies_are_large(tmp_path):
    body = (b"x" * 75 + b"\n") * 2000  # about 150 KB per message
    message = b"From a@x Mon Jan  1 10:00:00 2001\nFrom: a@x.example\n\n" + body + b"\n"
    path = tmp_path / "large.mbox"
    with path.open("wb") as stream:
        for _ in range(200):  # about 30 MB
            stream.write(message)

    tracemalloc.start()
    try:
        count = sum(1 for _ in iter_mbox(path))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert count == 200
    assert peak < 4 * 1024 * 1024


# Maildir and Enron-style trees


def test_cur_and_new_read_when_directory_is_a_maildir(tmp_path):
    root = tmp_path / "Mail"
    write(root / "cur" / "1700000000.1.host:2,S", b"From: cur@x.example\n\nbody\n")
    write(root / "new" / "1700000001.2.host", b"From: new@x.example\n\nbody\n")
    write(root / "tmp" / "1700000002.3.host", b"From: partial@x.example\n")
    write(root / "cur" / ".hidden", b"From: hidden@x.example\n\n")
    write(root / "dovecot-uidlist", b"3 V1 N4\n")
    write(root / "courierimapkeywords" / ":list", b"$Label1\n")
    write(root / ".Sent" / "cur" / "1700000003.4.host:2,S", b"From: sent@x.example\n\n")
    write(root / ".Sent" / "maildirfolder", b"")

    raws = list(iter_maildir(root))

    assert [r.headers for r in raws] == [
        b"From: sent@x.example\n",
        b"From: cur@x.example\n",
        b"From: new@x.example\n",
    ]
    assert raws[1].position == f"{root / 'cur' / '1700000000.1.host:2,S'}:0"
    assert all(r.envelope_date is None for r in raws)


def test_files_read_in_numeric_order_when_tree_uses_enron_layout(tmp_path):
    root = tmp_path / "maildir"
    for folder, number in [("inbox", 10), ("inbox", 2), ("inbox", 1), ("sent", 1)]:
        write(
            root / "allen-p" / folder / f"{number}.",
            f"Message-ID: <{folder}-{number}@thyme>\r\n\r\nbody\r\n".encode(),
        )

    ids = [parse_headers(r.headers).message_id for r in iter_maildir(root)]

    assert ids == ["inbox-1@thyme", "inbox-2@thyme", "inbox-10@thyme", "sent-1@thyme"]


def test_envelope_line_taken_out_when_file_starts_with_from(email_data):
    path = email_data / "oddities" / "mikel-mail" / "rfc2822" / "example14.eml"

    (raw,) = list(iter_maildir(path))

    assert raw.envelope_date == utc(2011, 8, 22, 9, 45, 15)
    assert raw.headers.startswith(b"Date: Fri, 19 Aug 2011 10:47:17 +0900\r\n")
    assert raw.headers.endswith(b"Content-Transfer-Encoding: 7bit\r\n")


def test_obsolete_from_header_kept_when_written_with_space_before_colon(email_data):
    path = email_data / "oddities" / "mikel-mail" / "rfc2822" / "example13.eml"

    (raw,) = list(iter_maildir(path))

    assert raw.envelope_date is None
    assert raw.headers.startswith(b"From  : John Doe")


def test_empty_headers_yielded_when_file_is_empty_or_starts_blank(tmp_path):
    write(tmp_path / "a", b"")
    write(tmp_path / "b", b"\r\nbody only\r\n")

    raws = list(iter_maildir(tmp_path))

    assert [r.headers for r in raws] == [b"", b""]


def test_only_headers_read_when_body_is_large(tmp_path):
    path = write(
        tmp_path / "big.eml",
        b"From: a@x.example\nTo: b@y.example\n\n" + b"z" * (8 * 1024 * 1024),
    )

    (raw,) = list(iter_maildir(path))

    assert raw.headers == b"From: a@x.example\nTo: b@y.example\n"


@pytest.mark.parametrize(
    ("folder", "count"), [("mikel-mail", 100), ("flanker/messages", 46)]
)
def test_every_file_yielded_when_reading_the_oddities_trees(email_data, folder, count):
    raws = list(iter_maildir(email_data / "oddities" / folder))

    assert len(raws) == count
    assert len({r.position for r in raws}) == count
    assert Counter(r.position.endswith(":0") for r in raws) == {True: count}


def test_no_file_breaks_the_readers_when_the_whole_tree_is_walked(email_data):
    # Every file as one message (mbox files yield their first message's
    # headers): nothing raises, whatever a file holds.
    raws = list(iter_maildir(email_data))
    parsed = [parse_headers(r.headers, fallback_date=r.envelope_date) for r in raws]

    assert len(raws) == 13 + 1 + 160  # enron-subset, mailing-lists, oddities
    assert sum(h.sender is not None for h in parsed) == 167


# Files that are not there, not readable or not regular files


class Skips(list):
    """Collects the (path, reason) pairs a reader reports."""

    def __call__(self, path: str, reason: str) -> None:
        self.append((path, reason))


def unlistable_folder(parent):
    """A folder whose path is longer than PATH_MAX, so listing it fails.

    Permission bits would do, but they do not stop root, and tests run as root
    in some containers; a path too long for the kernel stops everyone.
    """
    name = "d" * 200
    path = parent
    fd = os.open(parent, os.O_RDONLY)
    try:
        while len(os.fsencode(path)) < 4200:
            os.mkdir(name, dir_fd=fd)
            inner = os.open(name, os.O_RDONLY, dir_fd=fd)
            os.close(fd)
            fd = inner
            path = path / name
    finally:
        os.close(fd)
    return path


GOOD = b"From a@x Mon Jan  1 10:00:00 2001\nFrom: a@x.example\n\nbody\n"


def test_nothing_read_and_skip_reported_when_mbox_path_is_a_fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)  # opened blocking, this would wait for a writer forever
    skips = Skips()

    assert list(iter_mbox(fifo, on_skip=skips)) == []
    assert skips == [(str(fifo), NOT_REGULAR)]


def test_nothing_read_and_skip_reported_when_mbox_path_is_a_directory(tmp_path):
    skips = Skips()

    assert list(iter_mbox(tmp_path, on_skip=skips)) == []
    assert skips == [(str(tmp_path), NOT_REGULAR)]


@pytest.mark.parametrize("target", ["missing", "loop"])
def test_unreadable_file_reported_when_mbox_path_is_a_broken_link(tmp_path, target):
    link = tmp_path / "link.mbox"
    link.symlink_to(tmp_path / "missing" if target == "missing" else link)
    skips = Skips()

    assert list(iter_mbox(link, on_skip=skips)) == []
    assert skips == [(str(link), UNREADABLE_FILE)]


def test_rest_of_tree_read_when_some_mbox_entries_are_unreadable(tmp_path, caplog):
    write(tmp_path / "a.mbox", GOOD)
    (tmp_path / "b-broken.mbox").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "c.fifo")
    (tmp_path / "d-loop").symlink_to(tmp_path)  # a link to a folder: not followed
    write(tmp_path / "e" / "f.mbox", GOOD.replace(b"a@x.example", b"f@x.example"))
    skips = Skips()

    with caplog.at_level(logging.WARNING, logger="bot.capture.mbox"):
        raws = list(iter_mbox_tree(tmp_path, on_skip=skips))

    assert [r.headers for r in raws] == [b"From: a@x.example\n", b"From: f@x.example\n"]
    assert sorted(reason for _, reason in skips) == [
        NOT_REGULAR,
        NOT_REGULAR,
        UNREADABLE_FILE,
    ]
    assert "cannot read" in caplog.text and "not a regular file" in caplog.text


@pytest.mark.parametrize("reader", [iter_mbox_tree, iter_maildir])
def test_unlistable_folder_reported_when_walking_a_tree(tmp_path, reader):
    write(tmp_path / "a" / "1.", GOOD)
    deep = unlistable_folder(tmp_path / "a")
    skips = Skips()

    raws = list(reader(tmp_path, on_skip=skips))

    assert len(raws) == 1
    assert skips == [(str(deep), UNREADABLE_FOLDER)]


def test_broken_link_and_fifo_reported_when_in_a_maildir(tmp_path):
    write(tmp_path / "Mail" / "cur" / "1", b"From: a@x.example\n\nbody\n")
    (tmp_path / "Mail" / "cur" / "2").symlink_to(tmp_path / "nowhere")
    os.mkfifo(tmp_path / "Mail" / "cur" / "3")
    (tmp_path / "Mail" / "cur" / "4").symlink_to(tmp_path / "Mail" / "cur" / "1")
    skips = Skips()

    raws = list(iter_maildir(tmp_path / "Mail", on_skip=skips))

    assert [r.headers for r in raws] == [b"From: a@x.example\n"] * 2  # 1 and 4
    assert [reason for _, reason in skips] == [UNREADABLE_FILE, NOT_REGULAR]


def test_single_fifo_reported_when_read_as_a_maildir_message(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    skips = Skips()

    assert list(iter_maildir(fifo, on_skip=skips)) == []
    assert skips == [(str(fifo), NOT_REGULAR)]


def test_header_cut_flagged_when_maildir_file_exceeds_the_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(maildir, "MAX_HEADER_BYTES", 100)
    monkeypatch.setattr(maildir, "_FIRST_READ", 64)
    path = write(tmp_path / "1.", b"To: " + b"b@y.example, " * 50 + b"\n\nbody\n")

    (raw,) = list(iter_maildir(path))

    assert raw.header_cut
    assert len(raw.headers) <= 100


# Line ends and dates at the edges


CR_ONLY = (
    b"From MAILER-DAEMON Mon Jan  1 10:00:00 2001\rFrom: a@x.example\r"
    b"To: b@y.example\rMessage-ID: <cr1@x>\r\rbody\r\r"
    b"From MAILER-DAEMON Tue Jan  2 10:00:00 2001\rFrom: c@x.example\r"
    b"To: b@y.example\r\rbody\r\r"
)


@pytest.mark.parametrize("chunk", [5, 4096, 1 << 20])
def test_messages_split_when_mbox_uses_lone_cr_line_ends(tmp_path, monkeypatch, chunk):
    monkeypatch.setattr(mbox, "_CHUNK", chunk)
    path = write(tmp_path / "cr.mbox", CR_ONLY)

    raws = list(iter_mbox(path))

    assert [r.headers for r in raws] == [
        b"From: a@x.example\nTo: b@y.example\nMessage-ID: <cr1@x>\n",
        b"From: c@x.example\nTo: b@y.example\n",
    ]
    assert [r.envelope_date for r in raws] == [utc(2001, 1, 1, 10), utc(2001, 1, 2, 10)]
    assert raws[1].position == f"{path}:{CR_ONLY.index(b'From MAILER-DAEMON Tue')}"


def test_headers_read_when_maildir_file_uses_lone_cr_line_ends(tmp_path):
    path = write(tmp_path / "1.", b"From: a@x.example\rTo: b@y.example\r\rbody\r")

    (raw,) = list(iter_maildir(path))

    assert raw.headers == b"From: a@x.example\nTo: b@y.example\n"
    assert parse_headers(raw.headers).to == [Address("", "b@y.example")]


def test_message_read_without_envelope_date_when_separator_date_overflows(tmp_path):
    path = write(
        tmp_path / "overflow.mbox",
        b"From a Mon Jan  1 10:00:00 2001\nFrom: a@x.example\n\nbody\n\n"
        b"From a Mon Jan  1 00:00:00 0001 +2359\nFrom: c@x.example\n\nbody\n\n"
        b"From a Fri Dec 31 23:59:59 9999 -2359\nFrom: d@x.example\n\nbody\n",
    )

    raws = list(iter_mbox(path))

    assert [r.envelope_date for r in raws] == [utc(2001, 1, 1, 10), None, None]
    assert raws[2].headers == b"From: d@x.example\n"
