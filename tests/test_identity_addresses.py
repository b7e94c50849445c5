"""address_key and organisation naming on international, quoted and odd addresses."""

from __future__ import annotations

import pytest

from bot.identity.addresses import address_key, name_from_address
from bot.identity.organisations import (
    is_internal,
    name_from_domain,
    name_key,
    organisation_domain,
)


@pytest.mark.parametrize(
    "address",
    [
        "user@bücher.de",
        "User@BÜCHER.de",
        "user@xn--bcher-kva.de",
        "USER@XN--BCHER-KVA.DE",
    ],
)
def test_one_key_when_domain_is_written_in_unicode_or_punycode(address):
    assert address_key(address) == "user@xn--bcher-kva.de"


def test_sharp_s_domain_kept_apart_when_keyed():
    # IDNA 2008 / UTS 46 non-transitional, as browsers and mail systems map.
    assert address_key("a@straße.de") == "a@xn--strae-oqa.de"
    assert address_key("a@strasse.de") == "a@strasse.de"


@pytest.mark.parametrize(
    "address",
    [
        "user@☃.example",  # not allowed in IDNA
        "user@bü\u202echer.de",  # bidi override
        "user@y\u200b.example",  # zero width space IDNA would silently drop
        "a\x00@x.example",
        "x\u202e@y.example",
        "a@x.example\x00",
    ],
)
def test_no_key_when_address_holds_invisible_or_invalid_characters(address):
    assert address_key(address) is None


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ("user@example.com.", "user@example.com"),
        ("User+tag@Example.COM.", "user@example.com"),
        ("user@bücher.de.", "user@xn--bcher-kva.de"),
    ],
)
def test_root_dot_dropped_when_domain_ends_with_it(address, key):
    assert address_key(address) == key


def test_no_key_when_domain_ends_with_two_dots():
    assert address_key("user@example.com..") is None


@pytest.mark.parametrize(
    ("address", "key"),
    [
        ('"a@b"@c.example', '"a@b"@c.example'),
        ('"John Doe"@X.Example', '"john doe"@x.example'),
        ('"a+b"@c.example', '"a+b"@c.example'),
        ('"a\\"b"@c.example', '"a\\"b"@c.example'),
    ],
)
def test_quoted_local_part_keyed_as_written_when_it_is_valid(address, key):
    assert address_key(address) == key


@pytest.mark.parametrize(
    "address", ['""@c.example', '"a"b"@c.example', '"a@b"@nodot', 'a"b@c@d.example']
)
def test_no_key_when_quoted_local_part_is_broken(address):
    assert address_key(address) is None


def test_stand_in_name_read_inside_quotes_when_local_part_is_quoted():
    assert name_from_address('"john doe"@x.example') == "John Doe"
    assert name_from_address("k..allen@x.example") == "K. Allen"


def test_organisation_named_in_unicode_when_domain_is_punycode():
    assert organisation_domain("mail.bücher.de") == "xn--bcher-kva.de"
    assert name_from_domain("xn--bcher-kva.de") == "Bücher"
    assert name_from_domain("xn--wgv71a119e.jp") == "日本語"


def test_punycode_kept_in_name_when_label_mixes_latin_and_cyrillic():
    # "аpple" with a Cyrillic "а": decoded it would read as Apple.
    assert name_from_domain("xn--pple-43d.com") == "xn--pple-43d"


def test_name_keys_differ_when_names_have_no_ascii_letters():
    assert name_key("日本語") == "日本語"
    assert name_key("Аэрофлот") == "аэрофлот"
    assert name_key("Acme Corp.") == "acme"
    assert name_key("") == ""


def test_internal_when_settings_name_the_domain_in_unicode():
    assert is_internal("xn--bcher-kva.de", ("bücher.de",))
    assert is_internal("mail.xn--bcher-kva.de", ("Bücher.de",))
    assert not is_internal("xn--bcher-kva.com", ("bücher.de",))
