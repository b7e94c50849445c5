"""Email address keys: how two spellings of one mailbox become one identity."""

from __future__ import annotations

import re

# A deliberately plain check: the parser has already split display names off,
# this only refuses what cannot be a routable mailbox.
_ADDRESS_RE = re.compile(r"^[^@\s<>(),;:\"]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")


def address_key(address: str) -> str | None:
    """Lower-case the address and drop a `+tag`; None when it is not routable.

    `Jane@Acme.Example`, `jane@acme.example` and `jane+crm@acme.example` share
    one key; `jane.doe@acme.example` does not (dots are significant outside
    Gmail, and we cannot know which providers ignore them).
    """
    candidate = address.strip().strip("<>").lower()
    if candidate.count("@") != 1:
        return None
    local, _, domain = candidate.partition("@")
    domain = domain.rstrip(".")
    if "+" in local:
        local = local.split("+", 1)[0]
    if not local:
        return None
    key = f"{local}@{domain}"
    # Dotless domains (Lotus Notes routes like `Jane Doe/HOU/ECT@ECT`) are
    # internal routing names, not mailboxes another system could reach.
    return key if _ADDRESS_RE.match(key) else None


def domain_of(key: str) -> str:
    return key.rpartition("@")[2]


def name_from_address(address: str | None) -> str:
    """A stand-in name for someone known only by address: `k..allen` → `K. Allen`."""
    if not address:
        return "(unknown)"
    local = address.partition("@")[0].split("+", 1)[0]
    words = [w for w in re.split(r"[._\-]+", local) if w]
    if not words:
        return address
    return " ".join(w.capitalize() + ("." if len(w) == 1 else "") for w in words)
