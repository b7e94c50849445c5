"""Escaping user text for Slack mrkdwn, so it can never ping or link by accident."""

from __future__ import annotations

import re

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ENTITIES = re.compile(r"&(amp|lt|gt);")
_CHARACTERS = {"amp": "&", "lt": "<", "gt": ">"}


def escape(text: str | None) -> str:
    """Show `text` literally: `<!channel>`, `<@U123>` and `&amp;` stay as typed.

    Slack turns `<...>` into mentions and links and reads `&amp;` as `&`;
    escaping exactly these three characters is what Slack documents, and it is
    enough because bare `@channel` in a bot message does not notify anyone.
    """
    return (text or "").translate(_ESCAPES)


def unescape_slash_text(text: str | None) -> str:
    """A slash command's `text` as the user typed it: `AT&amp;T` becomes `AT&T`.

    Slack escapes &, < and > in all text it hands over, slash command text
    included, and leaves its own markup (<@U…>, <http://…>) as real angle
    brackets ("Escaping text" in https://api.slack.com/reference/surfaces/formatting,
    and https://api.slack.com/docs/formatting: "All text in Slack uses the same
    system of escaping"). One pass, so a typed `&amp;lt;` stays `&lt;`.
    """
    return _ENTITIES.sub(lambda m: _CHARACTERS[m.group(1)], text or "")
