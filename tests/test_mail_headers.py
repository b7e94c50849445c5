"""parse_headers and its helpers, on real messages from ../shared/data/email.

Where the shared data has no example of a case (RFC 2047 words in Korean or
Japanese charsets inside an address header, an unknown charset in a name, a
slash-separated Date), the header bytes are written inline.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.capture.automated import automated_reason
from bot.capture.mail_addresses import parse_address_list
from bot.capture.mail_dates import parse_envelope_date, parse_mail_date
from bot.capture.mail_headers import Address, MailHeaders, parse_headers
from bot.capture.maildir import iter_maildir
from bot.capture.mbox import iter_mbox


def utc(*fields: int) -> datetime:
    return datetime(*fields, tzinfo=UTC)


@pytest.fixture
def email_data(shared_data):
    return shared_data / "email"


def one_file(
    email_data, relative: str, *, fallback_date: datetime | None = None
) -> MailHeaders:
    (raw,) = list(iter_maildir(email_data / "oddities" / relative))
    return parse_headers(raw.headers, fallback_date=fallback_date or raw.envelope_date)


def mbox_messages(email_data, relative: str) -> list[MailHeaders]:
    return [
        parse_headers(raw.headers, fallback_date=raw.envelope_date)
        for raw in iter_mbox(email_data / relative)
    ]


def mbox_message_at(email_data, relative: str, offset: int) -> MailHeaders:
    for raw in iter_mbox(email_data / relative):
        if raw.position.endswith(f":{offset}"):
            return parse_headers(raw.headers, fallback_date=raw.envelope_date)
    raise AssertionError(f"no message at {relative}:{offset}")


# RFC 2047 encoded display names


def test_name_decoded_when_encoded_in_iso_8859_1(email_data):
    (headers,) = mbox_messages(
        email_data, "oddities/perceval/pipermail/pipermail_2016_march.mbox"
    )

    assert headers.sender == Address("Germán Poo-Caamaño", "gpoo@example.com")
    assert headers.problems == []


def test_comma_kept_in_name_when_it_sits_inside_an_encoded_word(email_data):
    headers = one_file(email_data, "flanker/messages/encoded-header.eml")

    assert headers.sender == Address("Foo, Bar", "foo.bar@example.com")
    assert headers.to == [Address("", "foo@example.com")]


def test_name_decoded_when_split_over_many_folded_words(email_data):
    headers = one_file(email_data, "mikel-mail/error_emails/bad_subject.eml")

    assert headers.sender == Address("MySurvey.com & Carol Adams", "carol@mysurvey.com")


def test_name_decoded_when_windows_1251_word_is_quoted(email_data):
    headers = one_file(email_data, "mikel-mail/plain_emails/raw_email_bad_time.eml")

    assert headers.sender == Address("Атиковa", "yusuf75thu@auracom.net")


def test_name_decoded_when_utf8_word_holds_cyrillic_and_a_symbol(email_data):
    headers = one_file(email_data, "flanker/messages/enclosed.eml")

    assert headers.to == [Address("Александр Клижентас☯", "bob@example.com")]


def test_name_decoded_when_charset_is_iso_2022_jp():
    headers = parse_headers(
        b"From: =?ISO-2022-JP?B?GyRCJUYlOSVIGyhC?= <taro@example.jp>\n"
    )

    assert headers.sender == Address("テスト", "taro@example.jp")


def test_cp949_bytes_decoded_when_labelled_ks_c_5601_1987():
    # 0x8C63 ("똠") exists only in cp949, Outlook's real meaning of the label.
    raw = b"From: =?KS_C_5601-1987?B?jGO55rCix88=?= <ddom@example.kr>\r\n"

    headers = parse_headers(raw)

    assert headers.sender == Address("똠방각하", "ddom@example.kr")
    assert headers.problems == []


def test_raw_word_kept_and_noted_when_charset_is_unknown():
    headers = parse_headers(b"From: =?x-unknown?Q?Caf=E9?= <cafe@example.com>\n")

    assert headers.sender == Address("=?x-unknown?Q?Caf=E9?=", "cafe@example.com")
    assert headers.problems == ["encoding"]


def test_latin1_bytes_read_when_word_claims_utf8(email_data):
    (headers,) = mbox_messages(
        email_data, "oddities/perceval/mbox/mbox_iso8859_encoding.mbox"
    )

    # The address itself is 8-bit Latin-1 ("lucía..."), which can never match
    # the person's real address, so it is dropped and reported.
    assert headers.sender is None
    assert headers.problems == ["encoding", "bad-address:lucíacharlie@wellsfargo.com"]


# Raw 8-bit header bytes


def test_latin1_name_read_when_header_bytes_are_not_utf8(email_data):
    headers = one_file(email_data, "flanker/messages/from-encoding.eml")

    assert headers.sender == Address("Ingo Lütkebohle", "ingo@blank.pages.de")
    assert headers.problems == ["encoding"]


def test_readable_part_kept_when_utf8_bytes_are_cut(email_data):
    headers = one_file(email_data, "flanker/messages/mailformed-headers.eml")

    assert headers.sender == Address("Юникод запрещен\ufffd", "headers@gmail.com")
    assert headers.to == []
    assert headers.problems == ["encoding", "bad-address:´google@example.com"]


def test_utf8_addresses_kept_when_headers_are_rfc6532(email_data):
    headers = one_file(email_data, "mikel-mail/rfc6532/utf8_headers.eml")

    assert headers.sender == Address("Jöhn Doe", "jdöe@mächine.example")
    assert headers.to == [Address("Märy Smith", "märy@exämple.net")]


# Address lists


def test_comma_kept_in_name_when_display_name_is_quoted(email_data):
    headers = mbox_message_at(email_data, "mailing-lists/ksummit-discuss.mbox", 2904486)

    assert headers.sender == Address("Bird, Tim", "Tim.Bird@sony.com")
    assert headers.to == [
        Address("Laurent Pinchart", "laurent.pinchart@ideasonboard.com"),
        Address("Laura Abbott", "laura@labbott.name"),
    ]


def test_specials_kept_in_name_when_quoted_with_escapes(email_data):
    headers = one_file(email_data, "mikel-mail/rfc2822/example03.eml")

    assert headers.to == [
        Address("Mary Smith", "mary@x.test"),
        Address("", "jdoe@example.org"),
        Address("Who?", "one@y.test"),
    ]
    assert headers.cc == [
        Address("", "boss@nil.test"),
        Address('Giant; "Big" Box', "sysservices@example.net"),
    ]


def test_group_members_kept_when_to_is_a_named_group(email_data):
    headers = one_file(email_data, "mikel-mail/rfc2822/example04.eml")

    assert headers.to == [
        Address("Chris Jones", "c@a.test"),
        Address("", "joe@where.test"),
        Address("John", "jdoe@one.test"),
    ]
    assert headers.cc == []  # "Undisclosed recipients:;"
    assert headers.problems == []


def test_comments_ignored_when_groups_and_addresses_carry_them(email_data):
    headers = one_file(email_data, "mikel-mail/rfc2822/example10.eml")

    assert headers.sender == Address("Pete", "pete@silly.test")
    assert headers.to == [
        Address("Chris Jones", "c@public.example"),
        Address("", "joe@example.org"),
        Address("John", "jdoe@one.test"),
    ]
    assert headers.cc == []
    assert headers.date == utc(1969, 2, 14, 3, 2)
    assert headers.problems == []


def test_route_dropped_when_address_uses_obsolete_syntax(email_data):
    headers = one_file(email_data, "mikel-mail/rfc2822/example11.eml")

    assert headers.to == [
        Address("Mary Smith", "mary@example.net"),
        Address("", "jdoe@test.example"),
    ]


def test_obsolete_spacing_read_when_header_names_and_values_are_spread(email_data):
    headers = one_file(email_data, "mikel-mail/rfc2822/example13.eml")

    assert headers.sender == Address("John Doe", "jdoe@machine.example")
    assert headers.date == utc(1997, 11, 21, 15, 55, 6)
    assert headers.message_id == "1234@local.machine.example"


@pytest.mark.parametrize(
    ("relative", "expected"),
    [
        pytest.param(
            "oddities/perceval/pipermail/pipermail_2015_november.mbox",
            Address("Andy Grunwald", "andy@example.com"),
            id="pipermail",
        ),
        pytest.param(
            "oddities/perceval/hyperkitty/hyperkitty_2016_april.mbox",
            Address("Jesus M. Gonzalez-Barahona", "jgb@example.com"),
            id="hyperkitty",
        ),
    ],
)
def test_address_restored_when_archive_obfuscates_it_with_at(
    email_data, relative, expected
):
    first = mbox_messages(email_data, relative)[0]

    assert first.sender == expected
    assert first.problems == []


def test_name_taken_from_comment_when_address_comes_first(email_data):
    headers = one_file(email_data, "flanker/messages/bounce/mailbox-full.eml")

    assert headers.sender == Address("Mail Delivery System", "MAILER-DAEMON@AOL.com")


def test_address_found_when_name_is_bare_words_before_it(email_data):
    headers = one_file(email_data, "mikel-mail/plain_emails/mix_caps_content_type.eml")

    assert headers.sender == Address("Big Bug", "bb@bug.com")


def test_first_address_is_sender_when_from_lists_two(email_data):
    headers = one_file(
        email_data, "mikel-mail/plain_emails/raw_email_multiple_from.eml"
    )

    assert headers.sender == Address("", "tim@powerupdev.com")
    assert headers.to == [
        Address("", "tim@powerupdev.com"),
        Address("", "concierge@powerupdev.com"),
    ]


def test_first_header_is_sender_when_from_appears_twice():
    raw = b"From: First <first@example.com>\nFrom: Second <second@example.com>\n"

    assert parse_headers(raw).sender == Address("First", "first@example.com")


def test_at_sign_kept_when_it_is_part_of_a_display_name(email_data):
    headers = one_file(
        email_data, "mikel-mail/plain_emails/raw_email_with_at_display_name.eml"
    )

    assert headers.to == [
        Address("", "smith@gmail.com"),
        Address("Mikel@Lindsaar", "raasdnil@gmail.com"),
        Address("", "tom@gmail.com"),
    ]


def test_address_dropped_and_noted_when_it_has_no_at(email_data):
    headers = one_file(email_data, "mikel-mail/mime_emails/raw_email11.eml")

    assert headers.to == []
    assert headers.problems == ['bad-address:"xxxxx@xxxxx" <matmail>']


def test_address_dropped_and_noted_when_it_has_two_at_signs():
    raw = b"To: a@b@c.example, Ok <ok@example.com>, @missing-local.org, nobody\n"

    headers = parse_headers(raw)

    assert headers.to == [Address("Ok", "ok@example.com")]
    assert headers.problems == [
        "bad-address:a@b@c.example",
        "bad-address:@missing-local.org",
        "bad-address:nobody",
    ]


def test_bad_address_note_truncated_when_element_is_long():
    headers = parse_headers(b"To: " + b"x" * 100 + b"\n")

    assert headers.problems == ["bad-address:" + "x" * 40]


def test_undisclosed_placeholder_dropped_when_written_inside_brackets(email_data):
    headers = one_file(email_data, "mikel-mail/error_emails/missing_body.eml")

    assert headers.to == []
    assert headers.problems == ["bad-address:<Undisclosed-Recipient:@mailman.enron.co"]


def test_duplicates_dropped_when_to_repeats_addresses(email_data):
    headers = mbox_messages(email_data, "enron-subset/enron.allen-p.inbox")[0]

    # The raw To holds 87 addresses; bill.williams and stephen.thome twice.
    assert len(headers.to) == 85
    assert headers.to[0] == Address("", "k..allen@enron.com")
    assert headers.to[-1] == Address("", "john.zufferli@enron.com")


def test_first_spelling_kept_when_duplicates_differ_in_case():
    raw = (
        b"To: Jane Doe <Jane@Acme.Example>, jane@acme.example\n"
        b"Cc: JANE@ACME.EXAMPLE, bob@acme.example\n"
        b"To: BOB@acme.example\n"
    )

    headers = parse_headers(raw)

    assert headers.to == [
        Address("Jane Doe", "Jane@Acme.Example"),
        Address("", "BOB@acme.example"),
    ]
    assert headers.cc == [
        Address("", "JANE@ACME.EXAMPLE"),
        Address("", "bob@acme.example"),
    ]


def test_all_recipients_kept_when_there_are_hundreds(email_data):
    headers = mbox_message_at(email_data, "enron-subset/enron.arnold-j.inbox", 97413)

    assert len(headers.to) == 242
    assert len(headers.cc) == 10
    assert headers.to[0] == Address("", "dana.davis@enron.com")
    assert headers.to[-1] == Address("", "nick.zacouras@enron.com")
    assert headers.problems == []


def test_addresses_split_when_commas_are_missing(email_data):
    headers = one_file(email_data, "mikel-mail/error_emails/weird_to_header.eml")

    assert headers.to == [
        Address("", "user-example@aol.com"),
        Address("", "e-s-a-s-2200@app.ar.com"),
    ]


def test_rewritten_from_read_when_list_adds_a_by_way_of_comment(email_data):
    headers = mbox_message_at(email_data, "mailing-lists/ksummit-discuss.mbox", 2355495)

    assert headers.sender == Address(
        "Mauro Carvalho Chehab", "mchehab+samsung@kernel.org"
    )
    assert headers.message_id == (
        "434c05bddd2b364e607e565227487910a8dd9793.1568391461.git"
        ".mchehab+samsung@kernel.org"
    )


def test_plain_addresses_accepted_when_flanker_lists_them_as_valid(email_data):
    path = email_data / "oddities" / "flanker" / "address-lists" / "mailbox_valid.txt"
    plain = [
        line.strip()
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
        and not line.startswith("#")
        and not any(c in line for c in '"()<>[]\\ ')
    ]

    problems: list[str] = []
    parsed = [parse_address_list(line, problems) for line in plain]

    assert len(plain) > 40
    assert parsed == [[Address("", line)] for line in plain]
    assert problems == []


@pytest.mark.parametrize(
    "line",
    [
        "@missing-local.org",
        "missing-at-sign.net",
        "A@b@c@example.com",
        "abc@def@iana.org",
        "test@@iana.org",
        "first.last@",
        "test@.org",
        "-@a..com",
    ],
)
def test_address_rejected_when_flanker_lists_it_as_invalid(email_data, line):
    path = email_data / "oddities" / "flanker" / "address-lists" / "mailbox_invalid.txt"
    listed = {row.strip() for row in path.read_text(encoding="utf-8").splitlines()}
    problems: list[str] = []

    assert line in listed
    assert parse_address_list(line, problems) == []
    assert problems == [f"bad-address:{line}"]


# Dates


def test_envelope_date_used_and_marked_when_date_is_missing(email_data):
    messages = mbox_messages(email_data, "oddities/perceval/mbox/mbox_no_fields.mbox")

    assert messages[2].date == utc(2010, 12, 1, 8, 26, 40)
    assert messages[2].date_status == "missing"
    assert messages[4].date == utc(2010, 12, 1, 8, 26, 40)  # "Date:  "
    assert messages[4].date_status == "missing"


def test_header_date_used_when_junk_precedes_the_day_name(email_data):
    messages = mbox_messages(email_data, "oddities/perceval/mbox/mbox_no_fields.mbox")

    assert messages[5].date == utc(2016, 9, 21, 19, 42, 7)  # "RANDOM_Wed, 21 Sep..."
    assert messages[5].date_status == "ok"


def test_fallback_used_and_marked_when_date_is_garbage(email_data):
    relative = "mikel-mail/plain_emails/raw_email_with_bad_date.eml"
    fallback = utc(2007, 12, 1)

    # The file's Date is "Pn, 29 paX 2007 21:13:00 +0100".
    headers = one_file(email_data, relative)
    with_fallback = one_file(email_data, relative, fallback_date=fallback)

    assert (headers.date, headers.date_status) == (None, "malformed")
    assert (with_fallback.date, with_fallback.date_status) == (fallback, "malformed")


def test_date_rejected_when_year_is_far_future(email_data):
    headers = one_file(email_data, "mikel-mail/plain_emails/raw_email_bad_time.eml")

    assert (headers.date, headers.date_status) == (None, "malformed")
    assert "date-out-of-range" in headers.problems


def test_date_rejected_when_hour_is_out_of_range(email_data):
    headers = one_file(email_data, "mikel-mail/error_emails/bad_date_header2.eml")

    assert (headers.date, headers.date_status) == (None, "malformed")


@pytest.mark.parametrize(
    ("value", "expected", "notes"),
    [
        pytest.param(
            "Mon, 3 Mar 2025 10:00:00 -0000", utc(2025, 3, 3, 10), (), id="minus-zero"
        ),
        pytest.param(
            "Mon, 29 Oct 2001 16:34:23 -0800 (PST)",
            utc(2001, 10, 30, 0, 34, 23),
            (),
            id="enron-pst-comment",
        ),
        pytest.param(
            "Thu, 03 Mar 2016 09:20:35 -0700 (PDT)",
            utc(2016, 3, 3, 16, 20, 35),
            (),
            id="numeric-with-pdt",
        ),
        pytest.param(
            "Fri, 13 Oct 2017 11:10:16 +0000 (GMT)",
            utc(2017, 10, 13, 11, 10, 16),
            (),
            id="gmt-comment",
        ),
        pytest.param(
            "Wed, 17 Nov 2010 15:02:19 EST", utc(2010, 11, 17, 20, 2, 19), (), id="est"
        ),
        pytest.param(
            "Wed, 9 Jan 2002 19:47:50 PDT", utc(2002, 1, 10, 2, 47, 50), (), id="pdt"
        ),
        pytest.param(
            "Wed, 28 May 2014 17:18:19 JST", utc(2014, 5, 28, 8, 18, 19), (), id="jst"
        ),
        pytest.param(
            "21 Nov 97 09:55:06 GMT", utc(1997, 11, 21, 9, 55, 6), (), id="2-digit-97"
        ),
        pytest.param(
            "Sat, 1 Jan 05 10:00:00 +0100", utc(2005, 1, 1, 9), (), id="2-digit-05"
        ),
        pytest.param(
            "Wed, 20 Sep 1995 00:19:00 (EDT) -0400",
            utc(1995, 9, 20, 4, 19),
            (),
            id="comment-before-zone",
        ),
        pytest.param(
            "Tue, 22 Jan 2002 14:35:28 UT", utc(2002, 1, 22, 14, 35, 28), (), id="ut"
        ),
        pytest.param(
            "Tue, 04 Dec 2001 17:11:25 -0459",
            utc(2001, 12, 4, 22, 10, 25),
            (),
            id="odd-minutes",
        ),
        pytest.param(
            "2002/09/14 Sat 13:06:03 GMT",
            utc(2002, 9, 14, 13, 6, 3),
            ("date-nonstandard",),
            id="slashes",
        ),
        pytest.param(
            "2019-07-03T10:20:30+02:00",
            utc(2019, 7, 3, 8, 20, 30),
            ("date-nonstandard",),
            id="iso-8601",
        ),
        pytest.param(
            "Thu Apr 14 11:06:56 2016",
            utc(2016, 4, 14, 11, 6, 56),
            ("date-nonstandard", "date-zone-missing"),
            id="asctime",
        ),
        pytest.param(
            "Tue, 12 Oct 2010 16:21:05 H0500",
            utc(2010, 10, 12, 16, 21, 5),
            ("date-zone:H0500",),
            id="unknown-zone",
        ),
        pytest.param(
            "Tue, 22 Jan 2002 14:35:28",
            utc(2002, 1, 22, 14, 35, 28),
            ("date-zone-missing",),
            id="no-zone",
        ),
    ],
)
def test_date_is_utc_when_written_in_a_real_world_form(value, expected, notes):
    parsed = parse_mail_date(value)

    assert parsed.when == expected
    assert parsed.when.utcoffset() == timedelta(0)
    assert parsed.notes == notes


@pytest.mark.parametrize(
    "value",
    ["", "   ", "Pn, 29 paX 2007 21:13:00 +0100", "Wed, 15 Dec 2010    59:10 -0500",
     "soon", "Sun, 12 Mar 0002 10:05:53 -0800 (PST)"],
)  # fmt: skip
def test_date_is_none_when_value_cannot_be_trusted(value):
    assert parse_mail_date(value).when is None


def test_date_is_utc_when_header_has_a_named_zone(email_data):
    headers = one_file(email_data, "flanker/messages/complaints/aol.eml")

    assert headers.date == utc(2010, 11, 17, 20, 2, 19)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"From MAILER-DAEMON Mon Apr 18 14:23:23 2022", utc(2022, 4, 18, 14, 23, 23)),
        (b"From mboxrd@z Thu Jan  1 00:00:00 1970", utc(1970, 1, 1)),
        (b"From \xed@x.com  Mon Nov  7 18:44:27 2016\r", utc(2016, 11, 7, 18, 44, 27)),
        (b"From x@y Sat Jan  3 01:05:34 -0800 1996", utc(1996, 1, 3, 9, 5, 34)),
        (b"From somebody", None),
    ],
)  # fmt: skip
def test_envelope_date_parsed_when_separator_carries_asctime(line, expected):
    assert parse_envelope_date(line) == expected


# Message-ID and empty values


def test_message_id_is_none_when_header_is_empty(email_data):
    messages = mbox_messages(email_data, "oddities/perceval/mbox/mbox_no_fields.mbox")

    assert messages[3].message_id is None
    assert messages[0].message_id == "4CF64D10.9020206@domain.com"


def test_message_id_kept_when_it_has_several_at_signs(email_data):
    headers = one_file(
        email_data, "mikel-mail/plain_emails/raw_email_double_at_in_header.eml"
    )

    assert headers.message_id == "d3b8cf8e49f0448085@0c28713a1@f473e@37signals.com"


def test_message_id_kept_when_angle_brackets_are_missing(email_data):
    headers = one_file(email_data, "mikel-mail/plain_emails/mix_caps_content_type.eml")

    assert headers.message_id == "201002191008.30117.foo.bar@company.com"


def test_lists_are_empty_when_cc_header_is_empty(email_data):
    headers = mbox_messages(email_data, "oddities/perceval/mbox/mbox_complex.mbox")[0]

    assert headers.cc == []
    assert headers.to == [
        Address("", "language-bindings@gnome.org"),
        Address("", "desktop-devel-list@gnome.org"),
    ]
    assert headers.problems == []


def test_everything_empty_when_header_block_is_empty():
    headers = parse_headers(b"")

    assert headers == MailHeaders(None, None, [], [], None, "missing", None, [])


def test_folded_value_joined_when_continuation_uses_tabs(email_data):
    headers = mbox_messages(email_data, "enron-subset/enron.allen-p.inbox")[0]

    assert headers.sender == Address("", "james.bruce@enron.com")
    assert headers.message_id == "15955949.1075858645356.JavaMail.evans@thyme"
    assert headers.date == utc(2001, 10, 30, 0, 34, 23)


# Automated and bulk mail


@pytest.mark.parametrize(
    ("relative", "reason"),
    [
        ("flanker/messages/apache-message-news-mime.eml", "precedence:bulk"),
        ("flanker/messages/complaints/aol.eml", "precedence:list"),
        ("mikel-mail/error_emails/bad_date_header.eml", "precedence:junk"),
        ("flanker/messages/bounce/mailbox-full.eml", "auto-submitted"),
        ("flanker/messages/bounce/gmail-no-dns.eml", "return-path:null"),
        ("flanker/messages/bounce/delayed.eml", "sender:mailer-daemon"),
        ("flanker/messages/bounce/broken-mime.eml", "sender:postmaster"),
        ("flanker/messages/complaints/yahoo.eml", "report"),
        ("flanker/messages/disposition-notification.eml", "report"),
        ("mikel-mail/error_emails/encoding_madness.eml", "sender:no-reply"),
        ("mikel-mail/mime_emails/raw_email_encoded_stack_level_too_deep.eml",
         "sender:no-reply"),
        ("mikel-mail/error_emails/empty_in_reply_to.eml", "list-id"),
        ("mikel-mail/rfc2822/example01.eml", None),
    ],
)  # fmt: skip
def test_reason_given_when_message_is_automated(email_data, relative, reason):
    assert one_file(email_data, relative).automated == reason


def test_every_post_is_list_mail_when_read_from_ksummit(email_data):
    messages = mbox_messages(email_data, "mailing-lists/ksummit-discuss.mbox")

    assert {m.automated for m in messages} == {"list-id"}


@pytest.mark.parametrize(
    ("headers", "sender", "reason"),
    [
        ({"auto-submitted": "no"}, "jane@acme.example", None),
        ({"auto-submitted": "auto-replied (x)"}, "jane@acme.example", "auto-submitted"),
        ({"list-unsubscribe": "<mailto:x@y>"}, "jane@acme.example", "list-unsubscribe"),
        ({"precedence": " Bulk\r\n"}, "jane@acme.example", "precedence:bulk"),
        ({"precedence": "first-class"}, "jane@acme.example", None),
        ({"x-autoreply": "yes"}, "jane@acme.example", "x-autoreply"),
        ({"return-path": "<jane@acme.example>"}, "jane@acme.example", None),
        ({}, "DoNotReply@bank.example", "sender:no-reply"),
        ({}, "do-not-reply@bank.example", "sender:no-reply"),
        ({}, "noreply-4711@shop.example", "sender:no-reply"),
        ({}, "calendar-notification@google.com", "sender:notifications"),
        ({}, "bounces+abc=acme.example@lists.example", "sender:bounce"),
        ({}, "Mailer-Daemon@mx.example", "sender:mailer-daemon"),
        ({}, "replyall@acme.example", None),
        ({}, "info@acme.example", None),
        ({}, None, None),
    ],
)  # fmt: skip
def test_automated_reason_when_given_flags_and_sender(headers, sender, reason):
    assert automated_reason(headers, sender) == reason


# Dates at the edges of the calendar and after "now"


NOW = utc(2024, 6, 1, 12)
ENVELOPE = utc(2024, 5, 1, 9)


def headers_dated(date: str) -> bytes:
    return f"From: a@x.example\nTo: b@y.example\nDate: {date}\n".encode()


@pytest.mark.parametrize(
    "value",
    [
        "Mon, 1 Jan 0001 00:00:00 +2359",
        "Fri, 31 Dec 9999 23:59:59 -2359",
        "0001-01-01T00:00:00+2359",
        "9999-12-31 23:59:59 -2359",
    ],
)
def test_date_out_of_range_when_shift_to_utc_overflows(value):
    parsed = parse_mail_date(value)

    assert parsed.when is None
    assert "date-out-of-range" in parsed.notes


@pytest.mark.parametrize(
    "line",
    [
        b"From a Mon Jan  1 00:00:00 0001 +2359",
        b"From a Fri Dec 31 23:59:59 9999 -2359",
    ],
)
def test_envelope_date_is_none_when_shift_to_utc_overflows(line):
    assert parse_envelope_date(line) is None


def test_envelope_date_used_when_header_date_overflows():
    headers = parse_headers(
        headers_dated("Mon, 1 Jan 0001 00:00:00 +2359"),
        fallback_date=ENVELOPE,
        now=NOW,
    )

    assert (headers.date, headers.date_status) == (ENVELOPE, "malformed")
    assert "date-out-of-range" in headers.problems


def test_envelope_date_used_when_header_date_is_beyond_tolerance():
    headers = parse_headers(
        headers_dated("Tue, 4 Jun 2024 12:00:01 +0000"),
        fallback_date=ENVELOPE,
        now=NOW,
    )

    assert (headers.date, headers.date_status) == (ENVELOPE, "malformed")
    assert "date-future" in headers.problems


def test_header_date_kept_when_ahead_of_now_within_tolerance():
    headers = parse_headers(
        headers_dated("Mon, 3 Jun 2024 12:00:00 +0000"),
        fallback_date=ENVELOPE,
        now=NOW,
    )

    assert (headers.date, headers.date_status) == (utc(2024, 6, 3, 12), "ok")
    assert headers.problems == []


def test_date_is_none_when_future_and_no_envelope_date():
    headers = parse_headers(headers_dated("Mon, 1 Jan 2099 10:00:00 +0000"), now=NOW)

    assert (headers.date, headers.date_status) == (None, "malformed")
    assert "date-future" in headers.problems


def test_date_is_none_when_only_the_envelope_date_is_in_the_future():
    headers = parse_headers(
        b"From: a@x.example\nTo: b@y.example\n",
        fallback_date=utc(2030, 1, 1),
        now=NOW,
    )

    assert (headers.date, headers.date_status) == (None, "missing")
    assert headers.problems == ["date-future"]


def test_far_future_date_refused_when_parsed_against_the_wall_clock():
    headers = parse_headers(
        headers_dated("Fri, 1 Jan 2100 10:00:00 +0000"), fallback_date=ENVELOPE
    )

    assert (headers.date, headers.date_status) == (ENVELOPE, "malformed")


# Control characters, root dots and quoted local parts in addresses


@pytest.mark.parametrize(
    "value",
    [
        "a\x00@x.example",
        "b@y.example\x00",
        "e@y.\x00example",
        "x\u202e@y.example",
        "x@y\u200b.example",
        "Name <a\x07b@x.example>",
        '"a\x00b"@x.example',
    ],
)
def test_address_dropped_and_noted_when_it_holds_a_control_character(value):
    problems: list[str] = []

    assert parse_address_list(value, problems) == []
    assert problems == ["bad-address:" + value[:40]]


def test_other_addresses_kept_when_one_holds_a_nul_byte():
    headers = parse_headers(
        b"From: d@x.example\nTo: b@y.example\x00, c@z.example\n"
        b"Date: Mon, 1 Jan 2001 10:00:00 +0000\n"
    )

    assert headers.to == [Address("", "c@z.example")]
    assert headers.problems == ["bad-address:b@y.example\x00"]


@pytest.mark.parametrize(
    ("value", "name"),
    [
        ('"\u202eevil\x00 Name" <x@y.example>', "evil Name"),
        ("Jo\u200bhn \x1b[31mDoe <x@y.example>", "John [31mDoe"),
        ("=?utf-8?b?4oCuQm9i?= <x@y.example>", "Bob"),  # U+202E, then Bob
        ("x@y.example (Ann\x7f \u2066Lee\u2069)", "Ann Lee"),
    ],
)
def test_control_characters_stripped_when_in_a_display_name(value, name):
    problems: list[str] = []

    assert parse_address_list(value, problems) == [Address(name, "x@y.example")]


@pytest.mark.parametrize("value", ["user@example.com.", "User <user@example.com.>"])
def test_address_kept_when_domain_ends_with_the_root_dot(value):
    problems: list[str] = []

    (address,) = parse_address_list(value, problems)

    assert address.address == "user@example.com."
    assert problems == []


@pytest.mark.parametrize("value", ["user@example.com..", "user@."])
def test_address_dropped_when_domain_ends_with_more_than_the_root_dot(value):
    problems: list[str] = []

    assert parse_address_list(value, problems) == []


@pytest.mark.parametrize(
    "value", ['"a@b"@c.example', '"john doe"@x.example', '"a\\"b"@c.example']
)
def test_address_kept_when_local_part_is_a_valid_quoted_string(value):
    problems: list[str] = []

    assert parse_address_list(value, problems) == [Address("", value)]


def test_address_dropped_when_quoted_local_part_is_broken():
    problems: list[str] = []

    assert parse_address_list('"a"b"@c.example', problems) == []
