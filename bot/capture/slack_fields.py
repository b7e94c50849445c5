"""Typed reads of the JSON Slack hands over: export files and Web API answers.

Every field is checked for the type Slack documents before it is used. A field
present with another type reads as absent and is named in `Fields.wrong`, so
the caller can count the record as bad and carry on with the rest of it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

# Slack's ids (users, teams, channels, enterprises) are upper-case letters and
# digits behind a one-letter kind; anything else is not an id Slack made.
_ID_RE = re.compile(r"[A-Z][A-Z0-9]{1,39}")
# IANA zone names are at most about 30 characters.
TZ_MAX = 64
TEXT_MAX = 1000


def slack_id(value: object) -> str | None:
    """`value` when it is shaped like a Slack id, else None."""
    if isinstance(value, str) and _ID_RE.fullmatch(value):
        return value
    return None


def slack_ids(value: object) -> tuple[str, ...] | None:
    """A list of Slack ids; None when it is not a list or holds anything else."""
    if not isinstance(value, list):
        return None
    found = tuple(slack_id(item) for item in value)
    if any(item is None for item in found):
        return None
    return tuple(dict.fromkeys(item for item in found if item))


class Fields:
    """One JSON object read field by field, remembering fields of the wrong type."""

    def __init__(
        self, data: object, *, prefix: str = "", wrong: list[str] | None = None
    ) -> None:
        self.data: Mapping[str, Any] = data if isinstance(data, Mapping) else {}
        self.prefix = prefix
        self.wrong: list[str] = [] if wrong is None else wrong

    def _bad(self, key: str) -> None:
        self.wrong.append(self.prefix + key)

    def text(self, key: str, *, limit: int = TEXT_MAX) -> str | None:
        """A string field, stripped; None when absent or empty."""
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, str) or len(value) > limit:
            self._bad(key)
            return None
        return value.strip() or None

    def ident(self, key: str) -> str | None:
        """A Slack id field; "" counts as absent, as Slack sends it for "none"."""
        value = self.data.get(key)
        if value is None or value == "":
            return None
        found = slack_id(value)
        if found is None:
            self._bad(key)
        return found

    def ids(self, key: str) -> tuple[str, ...]:
        """A list of Slack ids; () when absent or malformed (malformed is noted)."""
        value = self.data.get(key)
        if value is None:
            return ()
        found = slack_ids(value)
        if found is None:
            self._bad(key)
            return ()
        return found

    def flag(self, key: str) -> bool:
        """A JSON boolean; anything else reads as false."""
        value = self.data.get(key)
        if value is None or isinstance(value, bool):
            return bool(value)
        self._bad(key)
        return False

    def count(self, key: str) -> int:
        """A non-negative JSON integer; anything else reads as 0."""
        value = self.data.get(key)
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self._bad(key)
            return 0
        return value

    def nested(self, key: str) -> Fields:
        """The object under `key`; its wrong fields land in this list too."""
        value = self.data.get(key)
        if value is not None and not isinstance(value, Mapping):
            self._bad(key)
        return Fields(value, prefix=f"{self.prefix}{key}.", wrong=self.wrong)
