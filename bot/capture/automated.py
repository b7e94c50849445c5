"""Recognising mail sent by machines or lists rather than by a person to people.

Rapport measures relationships, so a message only counts when a person wrote
to specific people. Mailing-list traffic, newsletters, bounces, vacation
replies and "no-reply" notifications would otherwise make every list member
look like a close contact of everyone else on the list.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping

logger = logging.getLogger(__name__)

# Header names (lowercase) this module reads; parse_headers keeps exactly these.
HEADER_NAMES = (
    "list-id",
    "list-unsubscribe",
    "precedence",
    "auto-submitted",
    "x-autoreply",
    "x-autorespond",
    "return-path",
    "content-type",
)

# The one list of machine sender names, each mapped to its reason. Matched on
# the local part, case-insensitively, also as a leading or trailing run of
# words ("noreply-4711", "bounces+abc", "gmail-noreply", "calendar.notification").
# Kept to role names that no person uses as a mailbox: "info@" or "support@"
# are often read and answered by a person, so they are not here.
_MACHINE_SENDERS = {
    "noreply": "sender:no-reply",
    "no-reply": "sender:no-reply",
    "no_reply": "sender:no-reply",
    "donotreply": "sender:no-reply",
    "do-not-reply": "sender:no-reply",
    "do_not_reply": "sender:no-reply",
    "dontreply": "sender:no-reply",
    "mailer-daemon": "sender:mailer-daemon",
    "mailerdaemon": "sender:mailer-daemon",
    "postmaster": "sender:postmaster",
    "bounce": "sender:bounce",
    "bounces": "sender:bounce",
    "notification": "sender:notifications",
    "notifications": "sender:notifications",
}

# Cheap pre-check so ordinary addresses skip the word-by-word lookups below.
_MACHINE_HINT = re.compile(
    r"reply|daemon|postmaster|bounce|notification",
)

# Precedence values that mark bulk or list mail (RFC 2076, RFC 3834 2).
_BULK_PRECEDENCE = {"bulk", "list", "junk"}


def automated_reason(
    headers: Mapping[str, str], sender_address: str | None
) -> str | None:
    """Why this message is automated or bulk mail, or None for personal mail.

    ``headers`` maps lowercase header names from ``HEADER_NAMES`` to their
    first value; absent headers are simply missing from it.
    """
    auto_submitted = headers.get("auto-submitted")
    if auto_submitted is not None:
        keyword = auto_submitted.split(";", 1)[0].split("(", 1)[0].strip().lower()
        if keyword and keyword != "no":
            return "auto-submitted"
    if "list-id" in headers:
        return "list-id"
    if "list-unsubscribe" in headers:
        return "list-unsubscribe"
    precedence = headers.get("precedence")
    if precedence is not None:
        value = precedence.strip().lower()
        if value in _BULK_PRECEDENCE:
            return "precedence:" + value
    if "x-autoreply" in headers or "x-autorespond" in headers:
        return "x-autoreply"
    return_path = headers.get("return-path")
    if return_path is not None and return_path.strip() == "<>":
        # A null envelope sender is what RFC 5321 4.5.5 requires of bounces
        # and other automatic notifications.
        return "return-path:null"
    if sender_address:
        reason = sender_reason(sender_address)
        if reason is not None:
            return reason
    content_type = headers.get("content-type")
    if content_type is not None and content_type.lstrip()[:16].lower() == (
        "multipart/report"
    ):
        # Delivery reports, read receipts and abuse feedback (RFC 6522).
        return "report"
    return None


def sender_reason(address: str) -> str | None:
    """The reason when the address's local part is a machine role name."""
    local = address.rpartition("@")[0].lower()
    if not local or _MACHINE_HINT.search(local) is None:
        return None
    reason = _MACHINE_SENDERS.get(local)
    if reason is not None:
        return reason
    base = local.split("+", 1)[0]
    reason = _MACHINE_SENDERS.get(base)
    if reason is not None:
        return reason
    for separator in ("-", ".", "_"):
        parts = base.split(separator)
        for cut in range(1, len(parts)):
            reason = _MACHINE_SENDERS.get(
                separator.join(parts[:cut])
            ) or _MACHINE_SENDERS.get(separator.join(parts[cut:]))
            if reason is not None:
                return reason
    return None
