"""Email address keys: how two spellings of one mailbox become one identity."""

from __future__ import annotations

import re
from functools import lru_cache

import idna

# Control and invisible formatting characters (NUL, DEL, C1, zero-width and
# bidirectional overrides such as U+202E). None belongs in a mailbox name;
# in one they make two different-looking keys render alike, or the reverse.
CONTROL_CHARACTERS = (
    r"\x00-\x1f\x7f-\x9f\xad\u061c\u180e\u200b-\u200f\u2028-\u202e"
    r"\u2060-\u206f\ufeff\ufff9-\ufffb"
)
CONTROL_RE = re.compile(f"[{CONTROL_CHARACTERS}]")

# A deliberately plain check: the parser has already split display names off,
# this only refuses what cannot be a routable mailbox. Dotless domains (Lotus
# Notes routes like `Jane Doe/HOU/ECT@ECT`) are internal routing names, not
# mailboxes another system could reach.
_ADDRESS_RE = re.compile(
    rf'[^@\s<>(),;:"{CONTROL_CHARACTERS}]+@[a-z0-9-]+(?:\.[a-z0-9-]+)+'
)
# RFC 5322 quoted-string local part ("a@b"@c.com, "john doe"@x.com): printable
# characters and spaces, with backslash pairs; non-ASCII allowed (RFC 6532).
_QUOTED_LOCAL_RE = re.compile(
    rf'"(?:[^"\\{CONTROL_CHARACTERS}]|\\[^{CONTROL_CHARACTERS}])+"'
)
_DOMAIN_RE = re.compile(r"[a-z0-9-]+(?:\.[a-z0-9-]+)+")


def address_key(address: str) -> str | None:
    """Lower-case the address and drop a `+tag`; None when it is not routable.

    `Jane@Acme.Example`, `jane@acme.example` and `jane+crm@acme.example` share
    one key; `jane.doe@acme.example` does not (dots are significant outside
    Gmail, and we cannot know which providers ignore them). The root dot of
    `jane@acme.example.` is dropped, and a Unicode domain is keyed in its
    ASCII (IDNA) form, so `user@bücher.de` and `user@xn--bcher-kva.de` are
    one mailbox. A quoted local part (`"a@b"@c.com`) is kept as written.
    """
    candidate = address.strip().strip("<>").lower()
    if "+" not in candidate and _ADDRESS_RE.fullmatch(candidate) is not None:
        return candidate  # the common case, already in key form
    local, at, domain = candidate.rpartition("@")
    if not at or not local:
        return None
    if domain.endswith("."):
        domain = domain[:-1]
    if not domain.isascii():
        domain = ascii_domain(domain) or ""
    if local[0] == '"':
        if _QUOTED_LOCAL_RE.fullmatch(local) is None:
            return None
        if _DOMAIN_RE.fullmatch(domain) is None:
            return None
        return f"{local}@{domain}"
    if "+" in local:
        local = local.split("+", 1)[0]
        if not local:
            return None
    key = f"{local}@{domain}"
    return key if _ADDRESS_RE.fullmatch(key) else None


@lru_cache(maxsize=4096)
def ascii_domain(domain: str) -> str | None:
    """The IDNA (punycode) form of a domain, lower-cased; None if it has none.

    UTS 46 mapping as browsers and mail systems use it: `BÜCHER.de` and
    `bücher.de` both become `xn--bcher-kva.de`, while `straße.de` stays apart
    from `strasse.de`. Invisible characters, which the mapping would quietly
    drop, make the domain unusable instead.
    """
    if CONTROL_RE.search(domain) is not None:
        return None
    try:
        return idna.encode(domain, uts46=True).decode("ascii")
    except (UnicodeError, ValueError):
        return None


def unicode_label(label: str) -> str:
    """`xn--bcher-kva` → `bücher` for showing to people; other text unchanged."""
    if "xn--" not in label:
        return label
    try:
        return idna.decode(label)
    except (UnicodeError, ValueError):
        return label


def domain_of(key: str) -> str:
    return key.rpartition("@")[2]


def name_from_address(address: str | None) -> str:
    """A stand-in name for someone known only by address: `k..allen` → `K. Allen`."""
    if not address:
        return "(unknown)"
    if address.startswith('"'):  # quoted local part: "john doe"@x.example
        local = address.rpartition("@")[0].strip('"')
    else:
        local = address.partition("@")[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._\-\s]+", local) if w]
    if not words:
        return address
    return " ".join(w.capitalize() + ("." if len(w) == 1 else "") for w in words)
