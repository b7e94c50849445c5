"""The unit the mail readers hand to the importer: one message's header bytes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class RawMessage:
    """Header block of one message; the body is never read into memory.

    ``headers`` runs up to, not including, the blank line that ends the
    header section. ``envelope_date`` comes from an mbox "From " separator
    line (UTC), else None. ``position`` is "path:byte-offset" for log lines.
    """

    headers: bytes
    envelope_date: datetime | None
    position: str
