"""Escaping user text for Slack mrkdwn, so it can never ping or link by accident."""

from __future__ import annotations

_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def escape(text: str | None) -> str:
    """Show `text` literally: `<!channel>`, `<@U123>` and `&amp;` stay as typed.

    Slack turns `<...>` into mentions and links and reads `&amp;` as `&`;
    escaping exactly these three characters is what Slack documents, and it is
    enough because bare `@channel` in a bot message does not notify anyone.
    """
    return (text or "").translate(_ESCAPES)
